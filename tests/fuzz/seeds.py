"""Seed inputs for the atheris harnesses: valid input of each parser, built with the codecs' own encoders (or
documented byte sequences), so a short run mutates real frames instead of discovering STX on its own.

Each entry is a whole fuzz input (tests/fuzz/_input.py): the payload, then its cut points (none unless given).
Seeds of a harness with variants start with the variant byte (:func:`variant`).
"""

from __future__ import annotations

import base64
import io
from decimal import Decimal

from PIL import Image

from drivers.cas.codec import encode_dc1, encode_dc2
from drivers.cd5220.codec import encode_lines as cd5220_lines
from drivers.epson_dmd.codec import encode_lines as dmd_lines
from drivers.epson_dmd.codec import setup_bytes as dmd_setup
from drivers.escpos.codec import drawer_kick, encode_asb, encode_status_byte, realtime_drawer_pulse
from drivers.escpos.document import Document
from drivers.escpos.profile import get_profile
from drivers.escpos.render import render_document, render_image
from drivers.hidpos.codec import encode_reports
from drivers.hidscale.codec import encode_report
from drivers.logic_controls.codec import encode_lines as lc_lines
from drivers.logic_controls.codec import setup_bytes as lc_setup
from drivers.models import PrinterStatus
from drivers.mtsics.codec import encode_status as sics_status
from drivers.mtsics.codec import encode_weight as sics_weight
from drivers.nci.codec import adam_weight_line, encode_reply, encode_status, nci_weight_line
from drivers.serial_drawer.codec import encode_status as drawer_status
from drivers.toledo.codec import encode_status as scp_status
from drivers.toledo.codec import encode_weight as scp_weight
from drivers.toledo.continuous import encode_frame
from drivers.toledo.prix import encode_a, encode_bc
from drivers.urano.codec import encode_reply as urano_reply
from drivers.wedge.codec import encode_input_events
from drivers.wedge.simulator import Typist
from drivers.wedge.xkb import keymap_for
from tests.fuzz._input import corpus_entry, with_variant

W = Decimal("1.235")
GS = "\x1d"


def seeds(*payloads: bytes) -> list[bytes]:
    return [corpus_entry(payload) for payload in payloads]


def variant(index: int, payload: bytes, cuts: tuple[int, ...] = ()) -> bytes:
    return corpus_entry(with_variant(index, payload), cuts)


# -- scales ----------------------------------------------------------------------------------------------
SCALES: dict[str, list[bytes]] = {
    "toledo_scp": seeds(scp_weight(W, "kg"), scp_weight(Decimal("12.34"), "lb", net=True), scp_status(0x01)),
    "toledo_continuous": seeds(
        encode_frame(W, "kg", decimals=3),
        encode_frame(Decimal("-2.50"), "lb", decimals=2, motion=True, net=True, tare=Decimal(1)) * 2,
    ),
    "toledo_prix": seeds(encode_bc(W), encode_bc(None, "unstable", "C"), encode_a(W, unit_price=1000)),
    "nci": seeds(
        encode_reply(nci_weight_line(W, "kg"), encode_status()),
        encode_reply(adam_weight_line(Decimal("-0.500"), "kg"), encode_status(under=True, prefix=False) + b"0"),
        encode_reply(None, encode_status(motion=True)),
    ),
    "mtsics": seeds(
        sics_weight("S", True, W, "kg"), sics_weight("S", False, Decimal("-12.5"), "g"), sics_status("Z", "A")
    ),
    "urano": seeds(urano_reply(Decimal("5.10"), True), urano_reply(Decimal("-0.25"), False)),
    "cas_dc1": seeds(b"\x06" + encode_dc1(W, "kg", stable=True), encode_dc1(W, "lb", stable=False, overload=True)),
    "cas_dc2": seeds(b"\x06" + encode_dc2(W, "kg"), b"\x06\x07\x15"),
    "hidscale": seeds(encode_report(4, W, "kg", -3), encode_report(3, Decimal(500), "g", 0)),
}

# -- scanners --------------------------------------------------------------------------------------------
#: Labels as scanners send them: AIM identifier (ISO/IEC 15424), then the data; GS is FNC1.
LABELS = [
    "]E04006381333931",  # EAN-13
    "]E00012345678905",  # UPC-A as EAN-13
    "]E001234565",  # UPC-E
    "]E496385074",  # EAN-8
    f"]C10109506000134352{GS}10ABC123{GS}17250101",  # GS1-128: GTIN, batch, expiry
    "]d2010950600013435221SERIAL42",  # GS1 DataMatrix
    "]Q3011234567890123110ABC",  # GS1 QR
    "]Q1https://id.gs1.org/01/09506000134352/10/ABC",  # GS1 Digital Link in a plain QR
    "]e001095060001343523103000123",  # GS1 DataBar with a net weight
    "]A0CODE-39 TEXT",
    "]C0Ünïcödé 128",
    "0109506000134352",  # a GS1 element string without AIM identifier
    "4006381333931",
]


def hid_scan(aim: bytes, data: bytes) -> bytes:
    reports = encode_reports(aim, data)
    return corpus_entry(b"".join(reports), tuple(range(64, 64 * len(reports), 64)))


def typed(index: int, layout: str, text: str, xkb_variant: str = "", *, enter: bool = True) -> bytes:
    """A recorded scan for harness variant ``index``: every evdev record a USB keyboard node sends while it types."""
    events = Typist(keymap_for(layout, xkb_variant)).type(text, 1_700_000_000.0, enter=enter)
    return variant(index, encode_input_events(events))


SCANNERS: dict[str, list[bytes]] = {
    "serial_scanner": [
        variant(0, "\r\n".join(LABELS[:4]).encode() + b"\r\n"),
        variant(0, LABELS[4].encode() + b"\r" + LABELS[7].encode() + b"\n"),
        variant(1, b"]" + LABELS[10].encode("utf-8") + b"\r"),
    ],
    "hidpos": [
        hid_scan(b"]E0", b"4006381333931"),
        hid_scan(b"]Q1", LABELS[7][3:].encode() * 3),
        hid_scan(b"]C1", LABELS[4][3:].encode()),
        hid_scan(b"]Q1", (LABELS[7][3:] * 10).encode()[:400]),  # eight reports: over the harness's limit
    ],
    "wedge": [
        typed(0, "us", "4006381333931"),
        typed(0, "us", "]C1" + LABELS[4][3:].replace(GS, "")),
        typed(1, "fr", "4006381333931\t"),
        typed(2, "de", "]E496385074"),
        typed(3, "br", "ÁÇ-123", "abnt2", enter=False),
    ],
    "symbology": seeds(*(label.encode("utf-8") for label in LABELS)),
}

# -- printers and drawers -------------------------------------------------------------------------------
STATES = [
    PrinterStatus(online=True, paper="ok", cover="closed"),
    PrinterStatus(online=False, paper="near_end", cover="open"),
    PrinterStatus(online=False, paper="end", cover="closed"),
]


def _png(width: int, height: int) -> str:
    buffer = io.BytesIO()
    Image.new("1", (width, height), 1).save(buffer, "PNG")
    return base64.b64encode(buffer.getvalue()).decode()


RECEIPT = Document.model_validate(
    {
        "blocks": [
            {"type": "text", "text": "Café Total", "bold": True, "size": [2, 2], "align": "center"},
            {"type": "row", "left": "Item", "right": "12,50"},
            {"type": "barcode", "data": "4006381333931", "symbology": "EAN13"},
            {"type": "qr", "data": "https://example.com", "size": 3},
            {"type": "image", "png": _png(24, 8)},
            {"type": "feed", "lines": 2},
            {"type": "cut", "partial": True},
        ]
    }
)
CJK_RECEIPT = Document.model_validate(
    {"blocks": [{"type": "text", "text": "中文 Total 𠀀"}, {"type": "cut", "partial": False}]}
)
#: Hand-made jobs: drawer kicks (ESC p, DLE DC4 1), status requests, ASB, bit images, graphics, function-A barcode.
JOBS = [
    render_document(RECEIPT, get_profile("TM-T88V")),
    render_document(CJK_RECEIPT, get_profile("POS-5890")),
    render_image(base64.b64decode(_png(16, 4)), get_profile("TM-T88V")),
    b"\x1b@" + drawer_kick(2, 100, 200) + b"Kick\n" + realtime_drawer_pulse(5, 200) + b"\x10\x04\x01\x1da\x0f",
    b"\x1b*\x21\x02\x00" + bytes(6) + b"\x1b*\x00\x03\x00\xff\x00\xff\n\x1bD\x08\x10\x00\t|\x1bd\x03",
    b"\x1d(L\x0e\x000p0\x01\x011\x08\x00\x02\x00\xff\x00\x1d(L\x02\x0002" + b"\x1dk\x04CODE39\x00",
    b"\x1c&\xd6\xd0\x81\x30\x81\x30\x1c.\x1bR\x02[\\]\x1bt\x11\xe9\x1d!\x11\x1bM\x01\x1d8L\x03\x00\x00\x000Q",
]
PRINTERS: dict[str, list[bytes]] = {
    "escpos_status": seeds(
        b"".join(encode_asb(state, drawer) for state in STATES for drawer in (True, False)),
        bytes(encode_status_byte(n, state, True) for n in (1, 2, 4) for state in STATES) + b"\x11\x13",
        encode_asb(STATES[1], False)[:2] + b"\x13" + encode_asb(STATES[1], False)[2:] + b"\x12",
    ),
    "serial_drawer": seeds(drawer_status(True) + drawer_status(False) + b"\x80\x7f"),
    "escpos_interpreter": [variant(0, job) for job in JOBS] + [variant(1, JOBS[1]), variant(1, JOBS[6])],
    "kick_detect": seeds(*JOBS),
}

# -- customer displays ----------------------------------------------------------------------------------
TEXT = ["Café au lait", "Total    3,50 €"]
DISPLAYS: dict[str, list[bytes]] = {
    "epson_dmd": seeds(dmd_setup("cp858") + dmd_lines(TEXT, "cp858"), b"\x0c\x1f\x02abc\n\x1f$\x02\x01x\x1f\x0a\x08\t"),
    "logic_controls": seeds(lc_setup() + lc_lines(TEXT), b"\x1f\x12\x10\x15abc\x04\x40\x08\x09\x0a\x0d"),
    "cd5220": seeds(cd5220_lines(TEXT, "cp858"), b"\x1b@\x0c\x1bQAshort\r\x1bQB\r"),
    "display_text": [
        corpus_entry(bytes([index]) + "\n".join(text).encode("utf-8"))
        for index, text in enumerate([TEXT, ["e\u0301te\u0301", "Straße ÄÖÜ"], ["Итого", "Zaplaćeno ½"], ["€" * 20]])
    ],
}

SEEDS: dict[str, list[bytes]] = {**SCALES, **SCANNERS, **PRINTERS, **DISPLAYS}
