"""posd runtime: configuration, device manager, event bus, persistence, security."""

__version__ = "0.1.0"
