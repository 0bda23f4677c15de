"""Scale frames built by hand from the protocol descriptions — not with the codecs' encoders — so the
codec tests compare against an independent reading of the manuals.

Each :class:`Protocol` gives a fresh decoder, a hypothesis strategy of ``(frame bytes, expected reading)``
and what the generic properties need to know (the frame start byte, where the checksum is, whether the
line is 7-bit). Expected readings are :class:`drivers.scale_codec.ScaleReading` values (a plain dataclass).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from hypothesis import strategies as st

from drivers.cas import codec as cas
from drivers.hidscale import codec as hidscale
from drivers.mtsics import codec as mtsics
from drivers.nci import codec as nci
from drivers.scale_codec import BadFrame, ScaleReading
from drivers.toledo import codec as scp
from drivers.toledo import continuous, prix
from drivers.urano import codec as urano

STX, ETX, CR, LF, SOH, EOT = 0x02, 0x03, 0x0D, 0x0A, 0x01, 0x04

Frame = tuple[bytes, ScaleReading | None]


def neg_sum7(data: bytes) -> int:
    """2's complement of the 7-bit sum, worked the long way (what a manual tells you to do)."""
    total = 0
    for byte in data:
        total = (total + (byte & 0x7F)) % 128
    return (128 - total) % 128


def neg_sum8(data: bytes) -> int:
    return (256 - sum(data) % 256) % 256


def xor_all(data: bytes) -> int:
    result = 0
    for byte in data:
        result ^= byte
    return result


def dec(units: int, decimals: int, negative: bool = False) -> Decimal:
    """``units`` in the last digit, e.g. dec(1235, 3) = 1.235, as a Decimal with exactly ``decimals`` places."""
    text = str(units).rjust(decimals + 1, "0")
    value = Decimal(f"{text[:-decimals]}.{text[-decimals:]}") if decimals else Decimal(text)
    return -value if negative else value


# -- Mettler Toledo 8217 (SCP) -------------------------------------------------------------------------------
@st.composite
def scp_frames(draw: st.DrawFn) -> Frame:
    if draw(st.booleans()):
        grams = draw(st.integers(0, 99999))
        text = f"{grams // 1000:02d}.{grams % 1000:03d}"
        net = draw(st.booleans())
        frame = bytes([STX]) + text.encode() + (b"N" if net else b"") + bytes([CR])
        return frame, ScaleReading(value=dec(grams, 3), unit="kg", net=net)
    bits = draw(st.sampled_from([0x01, 0x02, 0x04, 0x03, 0x05]))
    frame = bytes([STX, ord("?"), 0x40 | bits, CR])
    return frame, ScaleReading(
        value=None, unit=None, motion=bool(bits & 1), over_capacity=bool(bits & 2), under_zero=bool(bits & 4)
    )


# -- Toledo continuous ---------------------------------------------------------------------------------------
@st.composite
def continuous_frames(draw: st.DrawFn, checksum: bool = True) -> Frame:
    decimals = draw(st.integers(0, 5))
    units = draw(st.integers(0, 999999))
    tare = draw(st.integers(0, 999999))
    unit = draw(st.sampled_from(["kg", "lb", "g", "oz"]))
    net, negative, out, motion = (draw(st.booleans()) for _ in range(4))
    swa = 0x20 | 0x08 | (decimals + 2)
    swb = 0x20 | net | negative << 1 | out << 2 | motion << 3 | (0x10 if unit == "kg" else 0)
    swc = 0x20 | {"kg": 0, "lb": 0, "g": 1, "oz": 3}[unit]
    body = bytes([STX, swa, swb, swc]) + f"{units:06d}{tare:06d}".encode() + bytes([CR])
    frame = body + bytes([neg_sum7(body)]) if checksum else body
    value = dec(units, decimals, negative and units != 0)
    return frame, ScaleReading(
        value=value, unit=unit, motion=motion, over_capacity=out and not negative, under_zero=negative, net=net
    )


# -- Toledo Prix / Filizola -----------------------------------------------------------------------------------
@st.composite
def prix_bc_frames(draw: st.DrawFn) -> Frame:
    end = draw(st.sampled_from([ETX, CR]))
    kind = draw(st.sampled_from(["weight", "I", "N", "S"]))
    if kind == "weight":
        grams = draw(st.integers(0, 99999))
        return bytes([STX]) + f"{grams:05d}".encode() + bytes([end]), ScaleReading(value=dec(grams, 3), unit="kg")
    reading = ScaleReading(
        value=None, unit="kg", motion=kind == "I", under_zero=kind == "N", over_capacity=kind == "S"
    )
    return bytes([STX]) + kind.encode() * 5 + bytes([end]), reading


@st.composite
def prix_a_frames(draw: st.DrawFn) -> Frame:
    motion, out, two, net = (draw(st.booleans()) for _ in range(4))
    units = draw(st.integers(0, 999999))
    s1 = motion | out << 3
    s2 = two << 3 | net << 6
    prices = draw(st.integers(0, 999999)), draw(st.integers(0, 999999))
    body = (
        bytes([STX, s1])
        + f"{units:06d}".encode()
        + bytes([s2])
        + f"{prices[0]:06d}{prices[1]:06d}".encode()
        + bytes([CR])
    )
    reading = ScaleReading(value=dec(units, 2 if two else 3), unit="kg", motion=motion, over_capacity=out, net=net)
    return body + bytes([neg_sum8(body)]), reading


# -- NCI / Adam ----------------------------------------------------------------------------------------------
@st.composite
def nci_frames(draw: st.DrawFn) -> Frame:
    motion, zero, under, over = (draw(st.booleans()) for _ in range(4))
    status = bytes([0x30 | motion | zero << 1, 0x30 | under | over << 1])
    prefix = draw(st.sampled_from([b"S", b""]))
    if draw(st.booleans()):
        if not (motion or under or over):
            motion = True  # a status-only answer always says why (else the codec ignores it)
            status = bytes([status[0] | 1, status[1]])
        frame = b"\n" + prefix + status + b"\r\x03"
        return frame, ScaleReading(value=None, unit=None, motion=motion, under_zero=under, over_capacity=over)
    unit, decimals = draw(st.sampled_from([("KG", 3), ("LB", 2), ("kg", 3), ("lb", 2), ("OZ", 1)]))
    units = draw(st.integers(0, 99999))
    negative = draw(st.booleans()) and units > 0
    text = str(dec(units, decimals))
    line = ((b"-" if negative else b" ") + text.encode()) if draw(st.booleans()) else text.encode()
    if not line.startswith((b"-", b" ")):
        negative = False
    frame = b"\n" + line + unit.encode() + b"\r\n" + prefix + status + b"\r\x03"
    reading = ScaleReading(
        value=dec(units, decimals, negative), unit=unit.lower(), motion=motion, under_zero=under, over_capacity=over
    )
    return frame, reading


# -- MT-SICS -------------------------------------------------------------------------------------------------
@st.composite
def sics_frames(draw: st.DrawFn) -> Frame:
    kind = draw(st.sampled_from(["S", "D", "+", "-"]))
    if kind in "+-":
        return f"S {kind}\r\n".encode(), ScaleReading(
            value=None, unit=None, over_capacity=kind == "+", under_zero=kind == "-"
        )
    decimals = draw(st.integers(0, 4))
    units = draw(st.integers(0, 9999999))
    negative = draw(st.booleans()) and units > 0
    value = dec(units, decimals, negative)
    unit = draw(st.sampled_from(["g", "kg", "lb", "oz"]))
    ending = draw(st.sampled_from(["\r\n", "\r", "\n"]))
    frame = f"S {kind} {str(value).rjust(10)} {unit}{ending}".encode()
    return frame, ScaleReading(value=value, unit=unit, motion=kind == "D")


# -- Urano ---------------------------------------------------------------------------------------------------
@st.composite
def urano_frames(draw: st.DrawFn) -> Frame:
    stable = draw(st.booleans())
    hundredths = draw(st.integers(0, 999999))
    negative = draw(st.booleans()) and hundredths > 0
    value = dec(hundredths, 2, negative)
    text = f"{'-' if negative else ''}{abs(value)}".replace(".", ",")
    frame = b"\x1bB " + ("*" if stable else " ").encode() + f" PESO: {text}kg".encode() + b"\x1bE\x1bP01"
    return frame, ScaleReading(value=value, unit="kg", motion=not stable)


# -- CAS -----------------------------------------------------------------------------------------------------
@st.composite
def cas_dc1_frames(draw: st.DrawFn) -> Frame:
    stable = draw(st.booleans())
    unit, decimals = draw(st.sampled_from([("KG", 3), ("LB", 2), ("OZ", 1), ("G ", 0)]))
    if draw(st.integers(0, 9)) == 0:
        block = (b"S" if stable else b"U") + b"FFFFFFF" + unit.encode()
        reading = ScaleReading(value=None, unit=unit.strip().lower(), motion=not stable, over_capacity=True)
    else:
        units = draw(st.integers(0, 99999 if decimals else 999999))
        negative = draw(st.booleans()) and units > 0
        field = str(dec(units, decimals)).rjust(6)
        block = (b"S" if stable else b"U") + (b"-" if negative else b" ") + field.encode() + unit.encode()
        reading = ScaleReading(value=dec(units, decimals, negative), unit=unit.strip().lower(), motion=not stable)
    return bytes([SOH, STX]) + block + bytes([xor_all(block), ETX, EOT]), reading


@st.composite
def cas_dc2_frames(draw: st.DrawFn) -> Frame:
    kind = draw(st.sampled_from(["weight", "weight", "BEL", "NAK"]))
    if kind == "BEL":
        return b"\x07", ScaleReading(value=Decimal(0), unit=None)
    if kind == "NAK":
        return b"\x15", ScaleReading(value=None, unit=None, motion=True)
    scale_id, unit, decimals = draw(st.sampled_from([(b"A", "kg", 3), (b"B", "kg", 3), (b"F", "lb", 2)]))
    units = draw(st.integers(0, 99999))
    block = scale_id + f"{units:05d}".encode()
    return bytes([STX]) + block + bytes([xor_all(block), ETX]), ScaleReading(value=dec(units, decimals), unit=unit)


# -- HID POS -------------------------------------------------------------------------------------------------
@st.composite
def hid_frames(draw: st.DrawFn) -> Frame:
    status = draw(st.integers(1, 8))
    unit_code, unit = draw(st.sampled_from([(2, "g"), (3, "kg"), (11, "oz"), (12, "lb")]))
    exponent = draw(st.integers(-4, 1))
    raw = draw(st.integers(0, 0xFFFF))
    report = bytes([3, status, unit_code, exponent & 0xFF, raw & 0xFF, raw >> 8])
    magnitude = Decimal(raw) * (Decimal(10) ** exponent)
    value = -magnitude if status == 5 and raw else magnitude
    reading = ScaleReading(
        value=value,
        unit=unit,
        motion=status == 3,
        over_capacity=status == 6,
        under_zero=status == 5,
        fault=status in (1, 7, 8),
    )
    return report, reading


# -- the table the generic properties run over ----------------------------------------------------------------
@dataclass(frozen=True)
class Protocol:
    name: str
    decoder: Callable[[], Any]
    reading: Callable[[Any], ScaleReading | None]
    frames: st.SearchStrategy[Frame]
    start: bytes
    """Bytes that can begin a frame (noise that must not contain them for strict tests)."""
    checksum: int | None = None
    """Index of the checksum byte in a frame (negative from the end), if the protocol has one."""
    seven_bit: bool = False
    stream: bool = True
    """False for HID: reports arrive whole, there is no byte stream to split."""


def readings(protocol: Protocol, items: Sequence[Any]) -> list[ScaleReading | None]:
    return [protocol.reading(item) for item in items if not isinstance(item, BadFrame)]


PROTOCOLS: tuple[Protocol, ...] = (
    Protocol("toledo-8217", scp.ToledoDecoder, scp.reading_of, scp_frames(), b"\x02", seven_bit=True),
    Protocol(
        "toledo-continuous",
        continuous.ContinuousDecoder,
        continuous.reading_of,
        continuous_frames(),
        b"\x02",
        checksum=-1,
        seven_bit=True,
    ),
    Protocol(
        "toledo-continuous-no-checksum",
        lambda: continuous.ContinuousDecoder(checksum=False),
        continuous.reading_of,
        continuous_frames(checksum=False),
        b"\x02",
        seven_bit=True,
    ),
    Protocol("toledo-prix-bc", lambda: prix.PrixDecoder("BC"), prix.reading_of, prix_bc_frames(), b"\x02"),
    Protocol("toledo-prix-a", lambda: prix.PrixDecoder("A"), prix.reading_of, prix_a_frames(), b"\x02", checksum=-1),
    Protocol(
        "toledo-prix-auto",
        prix.PrixDecoder,
        prix.reading_of,
        st.one_of(prix_a_frames(), prix_bc_frames()),
        b"\x02",
    ),
    Protocol("nci", nci.NciDecoder, nci.reading_of, nci_frames(), b"\n", seven_bit=True),
    Protocol("mt-sics", mtsics.SicsDecoder, mtsics.reading_of, sics_frames(), b"S"),
    Protocol("urano", urano.UranoDecoder, urano.reading_of, urano_frames(), b"P", seven_bit=True),
    Protocol(
        "cas-dc1",
        lambda: cas.CasDecoder("dc1"),
        cas.reading_of,
        cas_dc1_frames(),
        b"\x01\x06\x07\x15",
        checksum=-3,
        seven_bit=True,
    ),
    Protocol(
        "cas-dc2", lambda: cas.CasDecoder("dc2"), cas.reading_of, cas_dc2_frames(), b"\x02\x06\x07\x15", seven_bit=True
    ),
    Protocol("hid-scale", hidscale.HidScaleDecoder, hidscale.reading_of, hid_frames(), b"", stream=False),
)
