"""GET /metrics: the daemon's live state in the Prometheus text format, for an admin token or a local scraper.

Everything is read at scrape time from state the daemon keeps anyway — device states, the UPOS statistics, the
event bus's counters, the print journal, the audit log — so nothing is counted per event for metrics and the
scan → WebSocket path pays nothing. prometheus_client is imported on the first scrape, not at start: idle memory
on a till is tight, and most tills are never scraped.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aiohttp import web

from api.endpoints import Call, Endpoint
from api.events_ws import SOCKETS
from api.routes import daemon_of
from daemon.journal import JobState
from daemon.service import Daemon
from drivers.models import DeviceKind, DeviceState

if TYPE_CHECKING:
    from prometheus_client.metrics_core import Metric

_LOGGER = logging.getLogger(__name__)

METRICS_PATH = "/metrics"
#: The classic text format (prometheus_client's ``generate_latest``), which every Prometheus version scrapes.
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_EXPOSITION = "prometheus_client.exposition"


@dataclass(frozen=True)
class StoredCounts:
    """The figures that live in SQLite, read on the databases' own threads before collecting."""

    jobs: Mapping[tuple[str, JobState], int]
    """(printer, state) → jobs the journal keeps."""
    audit_records: int


async def read_stored_counts(daemon: Daemon) -> StoredCounts:
    # Two databases, two threads: the queries run side by side and the event loop only awaits them.
    jobs, (audit_head, _) = await asyncio.gather(daemon.printing.journal.count_by_state(), daemon.audit.head())
    # Audit ids are consecutive from 1 in an append-only table (verify_rows checks it), so the head id is the count.
    return StoredCounts(jobs=jobs, audit_records=audit_head)


class DaemonCollector:
    """A prometheus_client collector over one daemon: :meth:`collect` reads the live state when called."""

    def __init__(self, daemon: Daemon, websocket_clients: int, stored: StoredCounts) -> None:
        self._daemon = daemon
        self._websocket_clients = websocket_clients
        self._stored = stored

    def collect(self) -> Iterator[Metric]:
        from prometheus_client.metrics_core import GaugeMetricFamily, InfoMetricFamily

        daemon = self._daemon
        yield InfoMetricFamily(
            "posd", "The posd daemon.", value={"version": daemon.version, "simulate": str(daemon.simulate).lower()}
        )
        yield GaugeMetricFamily("posd_uptime_seconds", "Seconds since the daemon started.", value=daemon.uptime_s)
        yield from self._devices()
        yield from self._events()
        yield from self._jobs()

    def _devices(self) -> Iterator[Metric]:
        from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily

        state = GaugeMetricFamily(
            "posd_device_state",
            "1 for the state the device is in, 0 for the others (every state is listed, so none goes missing).",
            labels=["device", "kind", "driver", "state"],
        )
        statistics = CounterMetricFamily(
            "posd_device_statistic_total",
            "UnifiedPOS statistics of the device, by their UPOS names; persisted across restarts.",
            labels=["device", "statistic"],
        )
        for device in self._daemon.manager.devices():
            labels = [device.device_id, device.kind.value, device.resolved.spec.name]
            for candidate in DeviceState:
                state.add_metric([*labels, candidate.value], 1.0 if device.state is candidate else 0.0)
            for name, value in sorted(device.stats.snapshot().items()):
                statistics.add_metric([device.device_id, name], value)
        yield state
        yield statistics

    def _events(self) -> Iterator[Metric]:
        from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily

        bus = self._daemon.bus
        yield CounterMetricFamily(
            "posd_events_published_total", "Events published since start (the latest event seq).", value=bus.latest_seq
        )
        yield GaugeMetricFamily(
            "posd_event_ring_events", "Events held for clients that resume with since=.", value=bus.ring_length
        )
        yield GaugeMetricFamily(
            "posd_event_subscribers", "Event bus subscribers (authenticated event streams).", value=bus.subscriber_count
        )
        yield CounterMetricFamily(
            "posd_event_subscribers_cut_total",
            "Event stream clients disconnected for reading too slowly.",
            value=bus.subscribers_cut,
        )
        yield CounterMetricFamily(
            "posd_events_dropped_total",
            "Events still queued for a too-slow client when it was disconnected, never sent to it.",
            value=bus.events_dropped,
        )
        yield GaugeMetricFamily(
            "posd_websocket_clients",
            "Open event-stream WebSockets, including ones not yet authenticated.",
            value=self._websocket_clients,
        )

    def _jobs(self) -> Iterator[Metric]:
        from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily

        jobs = GaugeMetricFamily(
            "posd_print_jobs",
            "Print jobs in the journal by state; finished ones are forgotten after printing.retention_h.",
            labels=["printer", "state"],
        )
        counts = self._stored.jobs
        # Every configured printer and every state, even at 0: a series that appears only once it is non-zero
        # makes rate() and alerts on it miss the first job.
        printers = {d.device_id for d in self._daemon.manager.devices() if d.kind is DeviceKind.PRINTER}
        printers.update(printer for printer, _ in counts)
        for printer in sorted(printers):
            for job_state in JobState:
                jobs.add_metric([printer, job_state.value], counts.get((printer, job_state), 0))
        yield jobs
        yield CounterMetricFamily(
            "posd_audit_records_total",
            "Records in the drawer audit log (append-only).",
            value=self._stored.audit_records,
        )


async def _import_prometheus_client() -> None:
    """Import prometheus_client on a worker thread: its first import costs ~15 ms the event loop need not wait."""
    if _EXPOSITION not in sys.modules:
        _LOGGER.debug("first scrape: loading prometheus_client")
        await asyncio.to_thread(importlib.import_module, _EXPOSITION)


async def get_metrics(call: Call) -> web.Response:
    daemon = daemon_of(call)
    stored = await read_stored_counts(daemon)
    await _import_prometheus_client()
    from prometheus_client import CollectorRegistry, ProcessCollector
    from prometheus_client.exposition import generate_latest

    # A registry per scrape: the collectors hold this scrape's SQLite figures, and nothing global is registered.
    registry = CollectorRegistry(auto_describe=False)
    registry.register(DaemonCollector(daemon, len(call.request.app[SOCKETS]), stored))
    # process_resident_memory_bytes, CPU seconds, open fds: read from /proc, which never blocks on a disk.
    ProcessCollector(registry=registry)
    return web.Response(body=generate_latest(registry), headers={"Content-Type": CONTENT_TYPE})


ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint(
        "GET",
        METRICS_PATH,
        get_metrics,
        "admin",
        "Prometheus metrics: devices, statistics, event bus, print jobs, audit log, process",
        response_media="text/plain; version=0.0.4",
        tag="daemon",
        local_without_token=True,
        description="Needs an admin token, or none at all from a loopback client that is not a browser "
        "(no Origin header, no cross-site Sec-Fetch-Site): a Prometheus scraper or curl on the till. "
        "Metric names are listed in docs/api.md.",
    ),
)
