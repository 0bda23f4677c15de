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


class Seed:
    """Frame parameters drawn from a few random bytes (one hypothesis draw per frame keeps the properties fast)."""

    def __init__(self, data: bytes) -> None:
        self.value = int.from_bytes(data, "big")

    def take(self, count: int) -> int:
        """A number in ``range(count)``."""
        self.value, result = divmod(self.value, count)
        return result

    def flag(self) -> bool:
        return bool(self.take(2))

    def pick(self, options: Sequence[Any]) -> Any:
        return options[self.take(len(options))]


@dataclass(frozen=True)
class _Build:
    """A named mapping (hypothesis prints lambdas by re-compiling their source: slow on every example)."""

    build: Callable[[Seed], Frame]

    def __call__(self, data: bytes) -> Frame:
        return self.build(Seed(data))

    def __repr__(self) -> str:
        return getattr(self.build, "__name__", "build")


def seeded(build: Callable[[Seed], Frame], size: int = 16) -> st.SearchStrategy[Frame]:
    return st.binary(min_size=size, max_size=size).map(_Build(build))


def continuous_frame_no_checksum(seed: Seed) -> Frame:
    return continuous_frame(seed, checksum=False)


# -- Mettler Toledo 8217 (SCP) -------------------------------------------------------------------------------
def scp_frame(seed: Seed) -> Frame:
    if seed.flag():
        grams = seed.take(100000)
        text = f"{grams // 1000:02d}.{grams % 1000:03d}"
        net = seed.flag()
        frame = bytes([STX]) + text.encode() + (b"N" if net else b"") + bytes([CR])
        return frame, ScaleReading(value=dec(grams, 3), unit="kg", net=net)
    bits = seed.pick([0x01, 0x02, 0x04, 0x03, 0x05])
    frame = bytes([STX, ord("?"), 0x40 | bits, CR])
    return frame, ScaleReading(
        value=None, unit=None, motion=bool(bits & 1), over_capacity=bool(bits & 2), under_zero=bool(bits & 4)
    )


# -- Toledo continuous ---------------------------------------------------------------------------------------
def continuous_frame(seed: Seed, checksum: bool = True) -> Frame:
    decimals = seed.take(6)
    units = seed.take(1000000)
    tare = seed.take(1000000)
    unit = seed.pick(["kg", "lb", "g", "oz"])
    net, negative, out, motion = (seed.flag() for _ in range(4))
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
def prix_bc_frame(seed: Seed) -> Frame:
    end = seed.pick([ETX, CR])
    kind = seed.pick(["weight", "weight", "I", "N", "S"])
    if kind == "weight":
        grams = seed.take(100000)
        return bytes([STX]) + f"{grams:05d}".encode() + bytes([end]), ScaleReading(value=dec(grams, 3), unit="kg")
    reading = ScaleReading(value=None, unit="kg", motion=kind == "I", under_zero=kind == "N", over_capacity=kind == "S")
    return bytes([STX]) + kind.encode() * 5 + bytes([end]), reading


def prix_a_frame(seed: Seed) -> Frame:
    motion, out, two, net = (seed.flag() for _ in range(4))
    units = seed.take(1000000)
    s1 = motion | out << 3
    s2 = two << 3 | net << 6
    total, unit_price = seed.take(1000000), seed.take(1000000)
    body = bytes([STX, s1]) + f"{units:06d}".encode() + bytes([s2]) + f"{total:06d}{unit_price:06d}".encode()
    body += bytes([CR])
    reading = ScaleReading(value=dec(units, 2 if two else 3), unit="kg", motion=motion, over_capacity=out, net=net)
    return body + bytes([neg_sum8(body)]), reading


def prix_any_frame(seed: Seed) -> Frame:
    return prix_a_frame(seed) if seed.flag() else prix_bc_frame(seed)


# -- NCI / Adam ----------------------------------------------------------------------------------------------
def nci_frame(seed: Seed) -> Frame:
    motion, zero, under, over = (seed.flag() for _ in range(4))
    prefix = seed.pick([b"S", b""])
    if seed.flag():
        motion = motion or not (under or over)  # a status-only answer always says why (else it is ignored)
        status = bytes([0x30 | motion | zero << 1, 0x30 | under | over << 1])
        frame = b"\n" + prefix + status + b"\r\x03"
        return frame, ScaleReading(value=None, unit=None, motion=motion, under_zero=under, over_capacity=over)
    status = bytes([0x30 | motion | zero << 1, 0x30 | under | over << 1])
    unit, decimals = seed.pick([("KG", 3), ("LB", 2), ("kg", 3), ("lb", 2), ("OZ", 1)])
    units = seed.take(100000)
    polarity = seed.pick([b"", b" ", b"-"])  # NCI writes none; Adam a space or a minus
    negative = polarity == b"-" and units > 0
    width = 6 if polarity == b"" else 8  # NCI: six characters with the point; Adam: seven digits and the point
    field = f"{dec(units, decimals):0{width}.{decimals}f}".encode()
    frame = b"\n" + polarity + field + unit.encode() + b"\r\n" + prefix + status
    reading = ScaleReading(
        value=dec(units, decimals, negative), unit=unit.lower(), motion=motion, under_zero=under, over_capacity=over
    )
    return frame + b"\r\x03", reading


# -- MT-SICS -------------------------------------------------------------------------------------------------
def sics_frame(seed: Seed) -> Frame:
    kind = seed.pick(["S", "D", "S", "D", "+", "-"])
    if kind in "+-":
        reading = ScaleReading(value=None, unit=None, over_capacity=kind == "+", under_zero=kind == "-")
        return f"S {kind}\r\n".encode(), reading
    decimals = seed.take(5)
    units = seed.take(10000000)
    value = dec(units, decimals, seed.flag() and units > 0)
    unit = seed.pick(["g", "kg", "lb", "oz"])
    ending = seed.pick(["\r\n", "\r", "\n"])
    frame = f"S {kind} {str(value).rjust(10)} {unit}{ending}".encode()
    return frame, ScaleReading(value=value, unit=unit, motion=kind == "D")


# -- Urano ---------------------------------------------------------------------------------------------------
def urano_frame(seed: Seed) -> Frame:
    stable = seed.flag()
    hundredths = seed.take(1000000)
    value = dec(hundredths, 2, seed.flag() and hundredths > 0)
    text = f"{'-' if value < 0 else ''}{abs(value)}".replace(".", ",")
    frame = b"\x1bB " + (b"*" if stable else b" ") + f" PESO: {text}kg".encode() + b"\x1bE\x1bP01"
    return frame, ScaleReading(value=value, unit="kg", motion=not stable)


# -- CAS -----------------------------------------------------------------------------------------------------
def cas_dc1_frame(seed: Seed) -> Frame:
    stable = seed.flag()
    unit, decimals = seed.pick([("KG", 3), ("LB", 2), ("OZ", 1), ("G ", 0)])
    if seed.take(10) == 0:
        block = (b"S" if stable else b"U") + b"F" + b"FFFFFF" + unit.encode()
        reading = ScaleReading(value=None, unit=unit.strip().lower(), motion=not stable, over_capacity=True)
    else:
        units = seed.take(100000 if decimals else 1000000)
        negative = seed.flag() and units > 0
        field = str(dec(units, decimals)).rjust(6)
        block = (b"S" if stable else b"U") + (b"-" if negative else b" ") + field.encode() + unit.encode()
        reading = ScaleReading(value=dec(units, decimals, negative), unit=unit.strip().lower(), motion=not stable)
    return bytes([SOH, STX]) + block + bytes([xor_all(block), ETX, EOT]), reading


def cas_dc2_frame(seed: Seed) -> Frame:
    kind = seed.pick(["weight", "weight", "BEL", "NAK"])
    if kind == "BEL":
        return b"\x07", ScaleReading(value=Decimal(0), unit=None)
    if kind == "NAK":
        return b"\x15", ScaleReading(value=None, unit=None, motion=True)
    scale_id, unit, decimals = seed.pick([(b"A", "kg", 3), (b"B", "kg", 3), (b"F", "lb", 2)])
    units = seed.take(100000)
    block = scale_id + f"{units:05d}".encode()
    return bytes([STX]) + block + bytes([xor_all(block), ETX]), ScaleReading(value=dec(units, decimals), unit=unit)


# -- HID POS -------------------------------------------------------------------------------------------------
def hid_frame(seed: Seed) -> Frame:
    status = 1 + seed.take(8)
    unit_code, unit = seed.pick([(2, "g"), (3, "kg"), (11, "oz"), (12, "lb")])
    exponent = seed.take(6) - 4
    raw = seed.take(0x10000)
    report = bytes([3, status, unit_code, exponent & 0xFF, raw & 0xFF, raw >> 8])
    magnitude = Decimal(raw) * (Decimal(10) ** exponent)
    reading = ScaleReading(
        value=-magnitude if status == 5 and raw else magnitude,
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
    one_byte_messages: bytes = b""
    """Bytes that are whole messages by themselves (CAS ACK/BEL/NAK): noise made of them is a message."""
    stream: bool = True
    """False for HID: reports arrive whole, there is no byte stream to split."""


def readings(protocol: Protocol, items: Sequence[Any]) -> list[ScaleReading | None]:
    return [protocol.reading(item) for item in items if not isinstance(item, BadFrame)]


PROTOCOLS: tuple[Protocol, ...] = (
    Protocol("toledo-8217", scp.ToledoDecoder, scp.reading_of, seeded(scp_frame), b"\x02", seven_bit=True),
    Protocol(
        "toledo-continuous",
        continuous.ContinuousDecoder,
        continuous.reading_of,
        seeded(continuous_frame),
        b"\x02",
        checksum=-1,
        seven_bit=True,
    ),
    Protocol(
        "toledo-continuous-no-checksum",
        lambda: continuous.ContinuousDecoder(checksum=False),
        continuous.reading_of,
        seeded(continuous_frame_no_checksum),
        b"\x02",
        seven_bit=True,
    ),
    Protocol("toledo-prix-bc", lambda: prix.PrixDecoder("BC"), prix.reading_of, seeded(prix_bc_frame), b"\x02"),
    Protocol(
        "toledo-prix-a", lambda: prix.PrixDecoder("A"), prix.reading_of, seeded(prix_a_frame), b"\x02", checksum=-1
    ),
    Protocol(
        "toledo-prix-auto",
        prix.PrixDecoder,
        prix.reading_of,
        seeded(prix_any_frame),
        b"\x02",
    ),
    Protocol("nci", nci.NciDecoder, nci.reading_of, seeded(nci_frame), b"\n", seven_bit=True),
    Protocol("mt-sics", mtsics.SicsDecoder, mtsics.reading_of, seeded(sics_frame), b"S"),
    Protocol("urano", urano.UranoDecoder, urano.reading_of, seeded(urano_frame), b"P", seven_bit=True),
    Protocol(
        "cas-dc1",
        lambda: cas.CasDecoder("dc1"),
        cas.reading_of,
        seeded(cas_dc1_frame),
        b"\x01\x06",
        checksum=-3,
        seven_bit=True,
        one_byte_messages=b"\x06",
    ),
    Protocol(
        "cas-dc2",
        lambda: cas.CasDecoder("dc2"),
        cas.reading_of,
        seeded(cas_dc2_frame),
        b"\x02\x06\x07\x15",
        checksum=-2,
        seven_bit=True,
        one_byte_messages=b"\x06\x07\x15",
    ),
    Protocol("hid-scale", hidscale.HidScaleDecoder, hidscale.reading_of, seeded(hid_frame), b"", stream=False),
)
