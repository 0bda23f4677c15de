"""Scale codec throughput: frames decoded per second, per protocol, against a floor measured in the same run.

For each protocol a stream of N frames (the simulators' own encoders, a mix of weights and statuses as a
scale sends them) is fed to a fresh decoder in 64-byte chunks (what a serial read hands over at speed),
timed with ``perf_counter``; best of ``--repeat`` runs. Two figures:

* **decode**: ``decoder.feed`` only — the codec;
* **to Weight**: decode, then ``reading_of`` and ``weight_from_reading`` (the API's pydantic Weight) —
  everything the driver does per frame before publishing.

The floor is the least Python can do for "find the frames": ``bytes.split`` on the frame terminator of
the same stream plus one ``int()`` per frame, also in 64-byte chunks. Target (issue 4): ≥ 50,000 frames/s
per protocol.

    .venv/bin/python benchmarks/scale_codecs.py [--frames 20000] [--repeat 5] [--json PATH]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import machine_note, print_table, save_json

from drivers.cas import codec as cas
from drivers.hidscale import codec as hidscale
from drivers.mtsics import codec as mtsics
from drivers.nci import codec as nci
from drivers.scale_codec import BadFrame, weight_from_reading
from drivers.toledo import codec as scp
from drivers.toledo import continuous, prix
from drivers.urano import codec as urano

TARGET = 50_000
CHUNK = 64


@dataclass(frozen=True)
class Case:
    name: str
    frame: Callable[[int], bytes]
    """The i-th frame of the stream."""
    decoder: Callable[[], Any]
    reading_of: Callable[[Any], Any]
    terminator: bytes
    """What the floor splits on."""
    whole_reports: bool = False


def grams(i: int) -> Decimal:
    return Decimal(i % 30000).scaleb(-3)


CASES = [
    Case(
        "toledo-8217",
        lambda i: scp.encode_weight(grams(i), "kg") if i % 10 else scp.encode_status(0x01),
        scp.ToledoDecoder,
        scp.reading_of,
        b"\r",
    ),
    Case(
        "toledo-continuous",
        lambda i: continuous.encode_frame(grams(i), "kg", decimals=3, motion=i % 10 == 0),
        continuous.ContinuousDecoder,
        continuous.reading_of,
        b"\r",
    ),
    Case(
        "toledo-prix (A)",
        lambda i: prix.encode_a(grams(i), motion=i % 10 == 0, unit_price=1999),
        prix.PrixDecoder,
        prix.reading_of,
        b"\r",
    ),
    Case(
        "toledo-prix (B) / filizola",
        lambda i: prix.encode_bc(grams(i)) if i % 10 else prix.encode_bc(None, "unstable"),
        prix.PrixDecoder,
        prix.reading_of,
        b"\x03",
    ),
    Case(
        "nci / adam-mdw",
        lambda i: nci.encode_reply(nci.nci_weight_line(grams(i), "kg"), nci.encode_status(motion=i % 10 == 0)),
        nci.NciDecoder,
        nci.reading_of,
        b"\x03",
    ),
    Case(
        "mt-sics",
        lambda i: mtsics.encode_weight("S", i % 10 != 0, grams(i), "kg"),
        mtsics.SicsDecoder,
        mtsics.reading_of,
        b"\n",
    ),
    Case(
        "urano",
        lambda i: urano.encode_reply(Decimal(i % 3000).scaleb(-2), stable=i % 10 != 0),
        urano.UranoDecoder,
        urano.reading_of,
        b"P01",
    ),
    Case(
        "cas-dc1",
        lambda i: cas.encode_dc1(grams(i), "kg", stable=i % 10 != 0),
        lambda: cas.CasDecoder("dc1"),
        cas.reading_of,
        b"\x04",
    ),
    Case(
        "cas-dc2",
        lambda i: cas.encode_dc2(grams(i), "kg") if i % 10 else b"\x15",
        lambda: cas.CasDecoder("dc2"),
        cas.reading_of,
        b"\x03",
    ),
    Case(
        "hid-scale (per report)",
        lambda i: hidscale.encode_report(4 if i % 10 else 3, grams(i), "kg", -3),
        hidscale.HidScaleDecoder,
        hidscale.reading_of,
        b"",
        whole_reports=True,
    ),
]


def chunks_of(case: Case, count: int) -> list[bytes]:
    frames = [case.frame(i) for i in range(count)]
    if case.whole_reports:
        return frames  # a hidraw read is one report
    stream = b"".join(frames)
    return [stream[i : i + CHUNK] for i in range(0, len(stream), CHUNK)]


def time_decode(case: Case, chunks: list[bytes], to_weight: bool) -> tuple[float, int]:
    decoder = case.decoder()
    feed = decoder.feed
    reading_of = case.reading_of
    good = 0
    last = None
    start = time.perf_counter()
    for chunk in chunks:
        for item in feed(chunk):
            if isinstance(item, BadFrame):
                continue
            good += 1
            if to_weight:
                reading = reading_of(item)
                if reading is not None:
                    last = weight_from_reading(reading, last)
    return time.perf_counter() - start, good


def time_floor(case: Case, chunks: list[bytes]) -> float:
    start = time.perf_counter()
    if case.whole_reports:
        for report in chunks:
            int.from_bytes(report[4:6], "little")
        return time.perf_counter() - start
    tail = b""
    terminator = case.terminator
    for chunk in chunks:
        *frames, tail = (tail + chunk).split(terminator)
        for frame in frames:
            len(frame)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=20000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    print(f"scale codec throughput, {args.frames} frames per protocol, best of {args.repeat}; {machine_note()}")
    rows = []
    report = []
    for case in CASES:
        chunks = chunks_of(case, args.frames)
        decode = min(time_decode(case, chunks, False)[0] for _ in range(args.repeat))
        weight_time, good = min(time_decode(case, chunks, True) for _ in range(args.repeat))
        floor = min(time_floor(case, chunks) for _ in range(args.repeat))
        if good != args.frames:
            raise SystemExit(f"{case.name}: decoded {good} of {args.frames} frames")
        fps_decode, fps_weight, fps_floor = args.frames / decode, args.frames / weight_time, args.frames / floor
        rows.append(
            [
                case.name,
                f"{fps_decode:,.0f}",
                f"{fps_weight:,.0f}",
                f"{fps_floor:,.0f}",
                f"{fps_floor / fps_decode:.1f}",
                "MET" if fps_weight >= TARGET else "MISSED",
            ]
        )
        report.append(
            {"protocol": case.name, "decode_fps": fps_decode, "to_weight_fps": fps_weight, "floor_fps": fps_floor}
        )
    print_table(["protocol", "decode fr/s", "to Weight fr/s", "floor fr/s", "floor/decode", "≥50k (to Weight)"], rows)
    save_json(args.json, {"machine": machine_note(), "rows": report})
    return 0


if __name__ == "__main__":
    sys.exit(main())
