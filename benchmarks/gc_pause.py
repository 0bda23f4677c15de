"""Full garbage-collection pause of a running posd, with and without ``gc.freeze()`` after startup.

``posd serve`` calls ``gc.freeze()`` once it is ready: what exists then (modules, models, the app, the
devices) lives as long as the daemon, so a full collection need not walk it. This script builds the
same daemon in-process (simulate mode, its five devices, the HTTP server), lets it settle, and times
``gc.collect()`` (a full, generation-2 collection, the longest pause the collector can impose on the
event loop) three ways:

* before freezing (the daemon as it would run without the call), median of ``--repeat``;
* after ``gc.freeze()``;
* after freezing and filling the event ring with published scans (the ring's events are the largest
  set of long-lived objects the daemon makes after startup).

The reference is the same collection with posd's modules imported and no daemon built yet, measured in
the same run; the ratio column divides each pause by the unfrozen daemon's.

Run:  .venv/bin/python benchmarks/gc_pause.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from _common import REPO, machine_note, print_table

sys.path.insert(0, str(REPO))

from api.server import HttpServer
from daemon.config import load_config
from daemon.service import Daemon
from drivers.registry import DriverRegistry


def full_collection_ms(repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        gc.collect()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


async def measure(repeat: int) -> list[list[str]]:
    imports_only = full_collection_ms(repeat)  # posd's modules imported, no daemon built yet
    with tempfile.TemporaryDirectory(prefix="posd-gc-") as tmp:
        config = Path(tmp) / "posd.toml"
        config.write_text(f'state_dir = "{tmp}/state"\n')
        registry = DriverRegistry.builtin()
        daemon = Daemon(
            load_config(config, registry, env={}, overrides={"server": {"port": 0}}), registry, simulate=True
        )
        await daemon.start()
        http = HttpServer(daemon)
        await http.start()
        try:
            await asyncio.sleep(1.0)  # the devices connect and settle (no timing depends on this)
            tracked = len(gc.get_objects())
            unfrozen = full_collection_ms(repeat)
            gc.freeze()
            frozen = full_collection_ms(repeat)
            scan = {"data": "4006381333931", "symbology": "EAN13", "aim": "]E0", "raw": "]E04006381333931", "gs1": None}
            ring = daemon.config.events.ring_size
            for _ in range(ring):
                daemon.bus.publish("scanner.scan", "scanner-1", scan)
            with_ring = full_collection_ms(repeat)
            ring_tracked = len(gc.get_objects())
        finally:
            await http.stop()
            await daemon.stop()
            gc.unfreeze()
    rows = [
        ("posd's modules imported, no daemon", "-", imports_only),
        ("posd running, not frozen", str(tracked), unfrozen),
        ("posd running, frozen after start", "0", frozen),
        (f"frozen, event ring full ({ring} events)", str(ring_tracked), with_ring),
    ]
    return [[name, walked, f"{ms:.2f}", f"{ms / unfrozen:.3f}"] for name, walked, ms in rows]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5, help="collections per figure (median)")
    args = parser.parse_args()
    logging.disable(logging.INFO)
    print(f"gc_pause {date.today()} — {machine_note()}")
    rows = asyncio.run(measure(args.repeat))
    print_table(["state", "objects the collector walks", "full collection ms (median)", "× not frozen"], rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
