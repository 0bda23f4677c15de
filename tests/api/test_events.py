"""The event stream over a real WebSocket: replay, gaps, filters, heartbeat, shutdown."""

from __future__ import annotations

import asyncio
import json
import socket

import aiohttp

from api.server import HttpServer
from tests.conftest import EventStream, RunningDaemon, StartDaemon


async def test_since_replays_missed_events_without_gap_or_duplicate(start_daemon: StartDaemon) -> None:
    handle = await start_daemon(simulate=False)
    bus = handle.daemon.bus
    first = bus.publish("scanner.scan", "s1", {"data": "A"}).seq
    bus.publish("scanner.scan", "s1", {"data": "B"})
    bus.publish("scanner.scan", "s1", {"data": "C"})
    stream = await handle.events(f"since={first}")
    assert stream.hello["seq"] == first + 2
    replayed = [await stream.next("scanner.scan") for _ in range(2)]
    assert [e["data"]["data"] for e in replayed] == ["B", "C"]
    assert [e["seq"] for e in replayed] == [first + 1, first + 2]
    bus.publish("scanner.scan", "s1", {"data": "D"})
    live = await stream.next("scanner.scan")
    assert (live["seq"], live["data"]["data"]) == (first + 3, "D")


async def test_gap_is_announced_when_since_is_too_old(start_daemon: StartDaemon) -> None:
    handle = await start_daemon("[events]\nring_size = 10000\n", simulate=False)
    bus = handle.daemon.bus
    start = bus.latest_seq
    for index in range(10050):
        bus.publish("scanner.scan", "s1", {"n": index})
    stream = await handle.events(f"since={start}&topics=scanner.scan")
    gap = await stream.receive_json()
    oldest = bus.latest_seq - 10000 + 1
    assert gap == {"type": "gap", "from": start, "to": oldest}
    first = await stream.next("scanner.scan")
    assert first["seq"] == oldest


async def test_topic_and_device_filters(start_daemon: StartDaemon) -> None:
    handle = await start_daemon(simulate=False)
    bus = handle.daemon.bus
    stream = await handle.events("topics=scale.weight&devices=scale-2")
    bus.publish("scale.weight", "scale-1", {"value": 1})
    bus.publish("scanner.scan", "scale-2", {"value": 2})
    bus.publish("scale.weight", "scale-2", {"value": 3})
    event = await stream.receive_json()
    assert (event["device"], event["data"]) == ("scale-2", {"value": 3})


async def test_unknown_topic_is_a_clear_error(start_daemon: StartDaemon) -> None:
    handle = await start_daemon(simulate=False)
    response = await handle.get("/api/v1/events?topics=bogus.topic")
    assert (response.status, response.body["code"]) == (400, "invalid_request")
    # Given twice, the filter is refused rather than one of the two silently applied (as on every route).
    twice = await handle.get("/api/v1/events?topics=scanner.scan&topics=scale.weight")
    assert (twice.status, twice.body["code"]) == (400, "invalid_request")
    assert "more than once" in twice.body["detail"]


async def test_each_event_is_serialized_once_for_all_subscribers(start_daemon: StartDaemon) -> None:
    handle = await start_daemon(simulate=False)
    bus = handle.daemon.bus
    first = bus.subscribe().subscriber
    second = bus.subscribe().subscriber
    event = bus.publish("scanner.scan", "s1", {"data": "Pão 收银台"})
    (got_first,) = await first.get_batch()
    (got_second,) = await second.get_batch()
    assert got_first.frame is got_second.frame is event.frame
    assert "Pão 收银台".encode() in event.frame
    first.close("unsubscribed")
    second.close("unsubscribed")


async def test_application_ping_and_server_heartbeat(start_daemon: StartDaemon) -> None:
    handle = await start_daemon("[server]\nws_heartbeat_s = 0.2\n", simulate=False)
    ws = await handle.session.ws_connect(handle.url + "/api/v1/events", autoping=False)
    await ws.send_json({"type": "auth", "token": handle.token})
    assert (await ws.receive_json(timeout=5))["type"] == "hello"
    await ws.send_json({"type": "ping"})
    assert (await ws.receive_json(timeout=5)) == {"type": "pong"}
    ping = await ws.receive(timeout=5)
    assert ping.type is aiohttp.WSMsgType.PING
    # Not answering the heartbeat gets the connection closed.
    closed = await ws.receive(timeout=5)
    assert closed.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.CLOSING)
    await ws.close()


async def test_graceful_shutdown_sends_close_frame(start_daemon: StartDaemon) -> None:
    handle = await start_daemon(simulate=False)
    stream: EventStream = await handle.events()
    stopping = asyncio.create_task(handle.http.stop())
    msg = await stream.ws.receive(timeout=5)
    assert msg.type is aiohttp.WSMsgType.CLOSE
    assert stream.ws.close_code == aiohttp.WSCloseCode.GOING_AWAY
    await stopping
    # A stopped server is stopped for good; teardown's second stop is a no-op.
    assert isinstance(handle.http, HttpServer)


async def test_stalled_websocket_client_is_cut_off_without_slowing_others(start_daemon: StartDaemon) -> None:
    config = "[events]\nsubscriber_soft_limit = 50\nsubscriber_hard_limit = 200\nslow_grace_s = 0.3\n"
    handle: RunningDaemon = await start_daemon(config, simulate=False)
    bus = handle.daemon.bus
    healthy = await handle.events("topics=scanner.scan")
    # A client that authenticates and then never reads: a raw socket with a tiny receive buffer.
    reader, writer = await asyncio.open_connection("127.0.0.1", handle.http.port)
    sock = writer.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    key = "dGhlIHNhbXBsZSBub25jZQ=="
    writer.write(
        (
            f"GET /api/v1/events HTTP/1.1\r\nHost: 127.0.0.1:{handle.http.port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    await reader.readuntil(b"\r\n\r\n")
    payload = json.dumps({"type": "auth", "token": handle.token}).encode()
    mask = b"\x00\x00\x00\x00"
    writer.write(bytes([0x81, 0x80 | 126]) + len(payload).to_bytes(2, "big") + mask + payload)
    await writer.drain()
    subscribers_before = bus.subscriber_count
    assert subscribers_before >= 1

    label = "x" * 2000
    received = 0
    for index in range(3000):
        bus.publish("scanner.scan", "s1", {"data": label, "n": index})
        if index % 100 == 0:
            # The healthy client keeps up while the stalled one fills its buffers.
            while received <= index:
                event = await healthy.next("scanner.scan")
                received = event["data"]["n"] + 1
            await asyncio.sleep(0)
    while received < 3000:
        event = await healthy.next("scanner.scan")
        received = event["data"]["n"] + 1
    # The stalled client was disconnected by the daemon: its socket reads EOF or reset.
    async with asyncio.timeout(5):
        while True:
            try:
                chunk = await reader.read(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
    assert bus.subscriber_count == 1
    writer.close()


async def test_hello_and_replay_come_first_even_while_events_pour_in(start_daemon: StartDaemon) -> None:
    handle = await start_daemon(simulate=False)
    bus = handle.daemon.bus
    stop = asyncio.Event()

    async def publish_continuously() -> None:
        while not stop.is_set():
            bus.publish("scanner.scan", "s1", {"data": "x"})
            await asyncio.sleep(0)

    publisher = asyncio.create_task(publish_continuously())
    try:
        for _ in range(20):
            stream = await handle.events("topics=scanner.scan")
            hello = stream.hello
            assert hello["type"] == "hello", hello
            events = [await stream.next("scanner.scan") for _ in range(5)]
            # Every event after hello, none missing, none out of order.
            assert [e["seq"] for e in events] == list(range(hello["seq"] + 1, hello["seq"] + 6))
            await stream.close()
    finally:
        stop.set()
        await publisher
