"""posd HTTP + WebSocket API (aiohttp)."""
