"""Render a typical NFC-e receipt to ESC/POS: posd's renderer against python-escpos's ``Dummy`` in the same run.

The receipt: a 384×120 logo (PNG), a header, 40 item lines (Portuguese text with accents), totals, a QR code
with an NFC-e consultation URL that differs on every receipt (as the access key does), and a cut.

- posd: ``render_document(document, profile)`` for an already validated ``Document`` (what the print service
  does), and also ``Document.model_validate`` + render from the JSON dict (what one API request costs), and
  the same with the logo cache cleared on every receipt (the cost without caching); for information, the
  preview (the same bytes through the interpreter, drawn as a PNG).
- floor / peer: python-escpos 3.1 ``Dummy(profile="TM-T20II")`` building the same content — ``set``/``text``
  per line, ``image`` of the logo decoded from the same PNG, native ``qr``, ``cut`` — and reading ``output``.

Both produce the bytes only (no I/O). Target (issue 7): posd median ≤ 3 ms; python-escpos took ≈ 4.7 ms here.

Usage: ``python benchmarks/render_receipt.py [--receipts 2000] [--json PATH]``
"""

from __future__ import annotations

import argparse
import base64
import gc
import io
import logging
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _common import machine_note, percentile, print_table, ratio, save_json, verdict
from PIL import Image, ImageDraw

from drivers.escpos import render
from drivers.escpos.document import Document
from drivers.escpos.paper import preview_png
from drivers.escpos.profile import get_profile

PROFILE = "TM-T20II"
TARGET_MS = 3.0
ITEMS = 40


def logo_png() -> bytes:
    image = Image.new("L", (384, 120), 255)
    draw = ImageDraw.Draw(image)
    draw.rectangle((4, 4, 379, 115), outline=0, width=5)
    draw.ellipse((20, 20, 100, 100), fill=0)
    for x in range(120, 360, 12):
        draw.line((x, 25, x + 40, 95), fill=96, width=4)  # gray: dithered
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def nfce_url(number: int) -> str:
    key = f"4323011234567800019965001{number:09d}1{number:08d}"[:44]
    return f"https://www.sefaz.rs.gov.br/NFCE/NFCE-COM.aspx?p={key}|2|1|1|{number * 7919:040X}"


def items() -> list[tuple[str, str]]:
    names = ["Pão de queijo", "Café expresso", "Açúcar mascavo", "Feijão preto", "Maçã fuji", "Água mineral"]
    return [
        (f"{i + 1:02d} {names[i % len(names)]} {i % 3 + 1} UN x 4,50", f"{(i % 3 + 1) * 4.5:.2f}".replace(".", ","))
        for i in range(ITEMS)
    ]


def document_json(number: int, logo: str) -> dict[str, Any]:
    blocks: list[dict[str, Any]] = [
        {"type": "image", "png": logo},
        {"type": "text", "text": "PADARIA SÃO JOÃO LTDA", "align": "center", "bold": True},
        {"type": "text", "text": "CNPJ 12.345.678/0001-99 — Rua das Flores, 123", "align": "center"},
        {"type": "rule"},
    ]
    blocks += [{"type": "row", "left": left, "right": right} for left, right in items()]
    blocks += [
        {"type": "rule"},
        {"type": "row", "left": "TOTAL R$", "right": "360,00", "bold": True},
        {"type": "qr", "data": nfce_url(number), "size": 5, "ecc": "M"},
        {"type": "text", "text": f"NFC-e nº {number} — Consulte pela chave de acesso", "align": "center"},
        {"type": "cut"},
    ]
    return {"blocks": blocks}


def escpos_dummy(number: int, logo: bytes) -> bytes:
    from escpos.printer import Dummy

    printer = Dummy(profile=PROFILE)
    printer.image(Image.open(io.BytesIO(logo)), impl="bitImageRaster", center=True)
    printer.set(align="center", bold=True)
    printer.text("PADARIA SÃO JOÃO LTDA\n")
    printer.set(align="center", bold=False)
    printer.text("CNPJ 12.345.678/0001-99 — Rua das Flores, 123\n")
    printer.set(align="left")
    printer.text("-" * 48 + "\n")
    for left, right in items():
        printer.text(left + " " * (48 - len(left) - len(right)) + right + "\n")
    printer.text("-" * 48 + "\n")
    printer.set(bold=True)
    printer.text("TOTAL R$" + " " * 34 + "360,00\n")
    printer.set(align="center", bold=False)
    printer.qr(nfce_url(number), native=True, size=5, ec=1)  # QR_ECLEVEL_M
    printer.text(f"NFC-e nº {number} — Consulte pela chave de acesso\n")
    printer.cut()
    data: bytes = printer.output
    return data


def timed(label: str, run: Callable[[int], object], receipts: int, warmup: int = 50) -> dict[str, Any]:
    for number in range(warmup):
        run(number)
    gc.collect()
    samples: list[float] = []
    for number in range(warmup, warmup + receipts):
        start = time.perf_counter_ns()
        run(number)
        samples.append((time.perf_counter_ns() - start) / 1e6)
    return {
        "label": label,
        "median_ms": statistics.median(samples),
        "p90_ms": percentile(samples, 90),
        "p99_ms": percentile(samples, 99),
        "n": len(samples),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--receipts", type=int, default=2000)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()

    # python-escpos's import side effects, neutralised here as in posd: its pickle cache goes to a known
    # directory, and its logging.basicConfig() finds the root logger already configured.
    os.environ.setdefault("ESCPOS_CAPABILITIES_PICKLE_DIR", tempfile.mkdtemp(prefix="posd-bench-escpos-"))
    logging.getLogger().addHandler(logging.NullHandler())

    profile = get_profile(PROFILE)
    logo = logo_png()
    logo_b64 = base64.b64encode(logo).decode()
    documents = {n: Document.model_validate(document_json(n, logo_b64)) for n in range(args.receipts + 50)}
    sample = render.render_document(documents[0], profile)
    escpos_sample = escpos_dummy(0, logo)

    def posd_render(number: int) -> bytes:
        return render.render_document(documents[number], profile)

    def posd_parse_and_render(number: int) -> bytes:
        return render.render_document(Document.model_validate(document_json(number, logo_b64)), profile)

    def posd_uncached(number: int) -> bytes:
        render._raster_from_base64.cache_clear()
        render.raster_from_png.cache_clear()
        return render.render_document(documents[number], profile)

    def posd_preview(number: int) -> bytes:
        return preview_png(render.render_document(documents[number], profile), profile)

    results = [
        timed("posd render_document", posd_render, args.receipts),
        timed("posd validate + render", posd_parse_and_render, args.receipts),
        timed("posd render, logo not cached", posd_uncached, args.receipts // 4),
        timed("posd render + preview PNG", posd_preview, args.receipts // 20, warmup=5),
        timed("python-escpos Dummy", lambda n: escpos_dummy(n, logo), args.receipts // 2),
    ]
    floor = results[-1]["median_ms"]
    print(f"Render a {ITEMS}-item NFC-e receipt with a 384x120 logo and a QR code, profile {PROFILE}")
    print(machine_note())
    print(f"bytes: posd {len(sample)}, python-escpos {len(escpos_sample)}")
    rows = [
        [
            r["label"],
            f"{r['median_ms']:.3f}",
            f"{r['p90_ms']:.3f}",
            f"{r['p99_ms']:.3f}",
            f"{ratio(r['median_ms'], floor):.2f}",
            str(r["n"]),
        ]
        for r in results
    ]
    print_table(["", "median ms", "p90 ms", "p99 ms", "× python-escpos", "n"], rows)
    met = results[0]["median_ms"] <= TARGET_MS
    print(f"target: median ≤ {TARGET_MS} ms → {verdict(met)}")
    save_json(args.json, {"machine": machine_note(), "results": results, "target_ms": TARGET_MS, "met": met})
    return 0


if __name__ == "__main__":
    sys.exit(main())
