"""WS /api/v1/events: the event stream.

Protocol: the upgrade passes the guard (Host, Origin). The client's first message is
``{"type":"auth","token":"…"}`` (browsers cannot set headers on a WebSocket, and a token never goes
in a URL). The server answers ``{"type":"hello","seq":latest}``, then ``{"type":"gap",…}`` if events
after ``since`` were already dropped, then the missed events, then the live stream.

Each client has a bus subscriber (a bounded queue) and its own writer task; every event frame is the
bus's pre-serialized bytes, sent as a text frame. A client that falls too far behind is cut off at the
socket (abort), so a stalled reader never holds anyone else up.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
import struct
from dataclasses import dataclass

from aiohttp import WSCloseCode, WSMsgType, web
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from api.endpoints import parse_query
from api.routes import DAEMON
from daemon.config import Scope
from daemon.events import Event, EventFilter, Subscriber, encode_json
from daemon.security import Principal

_LOGGER = logging.getLogger(__name__)

EVENTS_PATH = "/api/v1/events"

#: Topic family (the part before the dot) → the scope needed to receive it; None: any valid token.
FAMILY_SCOPES: dict[str, Scope | None] = {
    "device": None,
    "scanner": "scanner",
    "scale": "scale",
    "printer": "print",
    "drawer": "drawer",
    "display": "display",
}

CLOSE_UNAUTHORIZED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_BAD_REQUEST = 4400
CLOSE_TOO_SLOW = 4008

SOCKETS = web.AppKey("event_sockets", set[web.WebSocketResponse])

#: Above this many bytes waiting in a client's transport, events go through its queue instead of the fast path.
DIRECT_WRITE_LIMIT = 32 * 1024
CLIENT_SEND_BUFFER = 128 * 1024


def _split(value: str | None) -> frozenset[str] | None:
    if value is None or not value.strip():
        return None
    return frozenset(part.strip() for part in value.split(",") if part.strip())


class EventsQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    since: int | None = Field(None, ge=0, description="Replay events with seq > since.")
    topics: str | None = Field(None, description="Comma-separated topics, e.g. scanner.scan,device.state")
    devices: str | None = Field(None, description="Comma-separated device ids")

    @field_validator("topics")
    @classmethod
    def _known_families(cls, value: str | None) -> str | None:
        for topic in _split(value) or ():
            if topic.partition(".")[0] not in FAMILY_SCOPES:
                raise ValueError(f"unknown topic {topic!r}")
        return value


class AuthMessage(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: str
    token: str


@dataclass(frozen=True)
class Refusal:
    code: int
    message: str


def allowed_families(principal: Principal) -> frozenset[str]:
    return frozenset(f for f, scope in FAMILY_SCOPES.items() if scope is None or principal.allows(scope))


def build_filter(query: EventsQuery, principal: Principal) -> EventFilter | Refusal:
    families = allowed_families(principal)
    topics = _split(query.topics)
    if topics is not None:
        denied = sorted(t for t in topics if t.partition(".")[0] not in families)
        if denied:
            return Refusal(CLOSE_FORBIDDEN, f"insufficient_scope: {','.join(denied)}")
    return EventFilter(topics=topics, devices=_split(query.devices), families=families)


async def _authenticate(ws: web.WebSocketResponse, request: web.Request, timeout: float) -> Principal | Refusal:
    try:
        msg = await ws.receive(timeout=timeout)
    except TimeoutError:
        return Refusal(CLOSE_UNAUTHORIZED, "unauthorized: no auth message")
    if msg.type is not WSMsgType.TEXT:
        return Refusal(CLOSE_UNAUTHORIZED, "unauthorized: first message must be a text auth message")
    try:
        auth = AuthMessage.model_validate_json(msg.data)
    except ValidationError:
        return Refusal(CLOSE_UNAUTHORIZED, 'unauthorized: expected {"type":"auth","token":…}')
    principal = request.app[DAEMON].tokens.authenticate(auth.token) if auth.type == "auth" else None
    if principal is None:
        return Refusal(CLOSE_UNAUTHORIZED, "unauthorized: invalid token")
    return principal


def text_frame(payload: bytes) -> bytes:
    """A complete, unmasked WebSocket text frame (RFC 6455 §5.2): the same bytes suit every client."""
    length = len(payload)
    if length < 126:
        header = bytes((0x81, length))
    elif length < 65536:
        header = bytes((0x81, 126)) + length.to_bytes(2, "big")
    else:
        header = bytes((0x81, 127)) + length.to_bytes(8, "big")
    return header + payload


class FrameCache:
    """Publishing offers an event to every subscriber in one synchronous pass: frame it once for all of them."""

    def __init__(self) -> None:
        self._seq = -1
        self._frame = b""

    def frame(self, event: Event) -> bytes:
        if event.seq != self._seq:
            self._seq, self._frame = event.seq, text_frame(event.frame)
        return self._frame


FRAMES = web.AppKey("event_frames", FrameCache)


class ClientWriter:
    """Sends a subscriber's events to one WebSocket client.

    Fast path: while the client keeps up (nothing queued, writer idle, transport buffer small) an event is
    written straight to the socket during publish — no task switch per client. Otherwise events queue and
    this writer task sends them; a send that makes no progress for ``stall_timeout`` cuts the client off.
    """

    def __init__(
        self,
        ws: web.WebSocketResponse,
        transport: asyncio.Transport,
        subscriber: Subscriber,
        frames: FrameCache,
        stall_timeout: float,
    ) -> None:
        self._ws = ws
        self._transport = transport
        self._subscriber = subscriber
        self._frames = frames
        self._stall_timeout = stall_timeout
        # Busy until hello and the replay are out: a live event must never overtake them.
        self._sending = True
        subscriber.deliver_now = self.deliver_now

    def deliver_now(self, event: Event) -> bool:
        transport = self._transport
        if self._sending or transport.is_closing() or transport.get_write_buffer_size() > DIRECT_WRITE_LIMIT:
            return False
        transport.write(self._frames.frame(event))
        return True

    async def run(self, replay: list[bytes]) -> None:
        try:
            for frame in replay:
                await self._send(frame)
        finally:
            self._sending = False
        while batch := await self._subscriber.get_batch():
            self._sending = True
            try:
                for event in batch:
                    await self._send(event.frame)
            finally:
                self._sending = False

    async def _send(self, frame: bytes) -> None:
        try:
            async with asyncio.timeout(self._stall_timeout):
                await self._ws.send_frame(frame, WSMsgType.TEXT)
        except TimeoutError:
            self._subscriber.close(f"too slow: no progress for {self._stall_timeout:g}s")


async def events_handler(request: web.Request) -> web.StreamResponse:
    daemon = request.app[DAEMON]
    server = daemon.config.server
    query = parse_query(request, EventsQuery)

    ws = web.WebSocketResponse(
        heartbeat=server.ws_heartbeat_s, max_msg_size=server.max_ws_message_bytes, compress=False
    )
    await ws.prepare(request)
    request.app[SOCKETS].add(ws)
    sock = request.transport.get_extra_info("socket") if request.transport is not None else None
    if sock is not None:
        # A bounded kernel buffer (Linux doubles it): a stalled reader shows back-pressure after ~256 KiB,
        # not after the megabytes loopback auto-tuning allows.
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, CLIENT_SEND_BUFFER)

    authenticated = await _authenticate(ws, request, server.ws_auth_timeout_s)
    event_filter = build_filter(query, authenticated) if isinstance(authenticated, Principal) else authenticated
    if isinstance(event_filter, Refusal):
        await ws.close(code=event_filter.code, message=event_filter.message.encode()[:120])
        request.app[SOCKETS].discard(ws)
        return ws

    subscription = daemon.bus.subscribe(event_filter, query.since)
    subscriber = subscription.subscriber

    def on_close(reason: str) -> None:
        if reason.startswith("too slow") and request.transport is not None:
            cut_off(request.transport)

    subscriber.on_close = on_close
    replay = [encode_json({"type": "hello", "seq": subscription.latest_seq})]
    if subscription.gap is not None:
        replay.append(encode_json({"type": "gap", "from": subscription.gap[0], "to": subscription.gap[1]}))
    replay.extend(event.frame for event in subscription.replay)
    transport = request.transport
    assert transport is not None  # the upgrade just succeeded on it
    client = ClientWriter(ws, transport, subscriber, request.app[FRAMES], daemon.config.events.slow_grace_s)
    writer = asyncio.create_task(client.run(replay), name="ws-events-writer")
    try:
        async for msg in ws:
            if msg.type is WSMsgType.TEXT:
                await _client_message(ws, msg.data)
            elif msg.type is WSMsgType.ERROR:
                break
            if writer.done():
                break
    finally:
        subscriber.close("unsubscribed")
        writer.cancel()
        with contextlib.suppress(asyncio.CancelledError, ConnectionError, RuntimeError):
            await writer
        if subscriber.close_reason is not None and subscriber.close_reason.startswith("too slow"):
            _LOGGER.info("event client %s disconnected: %s", request.remote, subscriber.close_reason)
        if not ws.closed:
            await ws.close()
        request.app[SOCKETS].discard(ws)
    return ws


def cut_off(transport: asyncio.Transport) -> None:
    """Drop a peer that does not read: a close frame would queue behind everything else.

    SO_LINGER 0 makes the close a reset, so the kernel discards the send buffer at once instead of
    trickling megabytes to a client that stopped reading.
    """
    sock = transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()


async def _client_message(ws: web.WebSocketResponse, data: str) -> None:
    """Clients may ping at the application level (some proxies and browsers hide WS pings)."""
    try:
        message = json.loads(data)
    except ValueError:
        return
    if isinstance(message, dict) and message.get("type") == "ping":
        await ws.send_str(json.dumps({"type": "pong"}))


async def close_all_sockets(app: web.Application) -> None:
    """on_shutdown: every client gets a close frame (1001 Going Away) before the server stops."""
    open_sockets: set[web.WebSocketResponse] = app[SOCKETS]
    sockets = list(open_sockets)
    await asyncio.gather(
        *(ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutting down") for ws in sockets),
        return_exceptions=True,
    )
