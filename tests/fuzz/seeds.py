"""Seed inputs for the atheris harnesses: valid frames of each protocol (so a short run mutates real frames
instead of discovering STX on its own). Each seed starts with the byte the harness reads as "no cuts"."""

from __future__ import annotations

from decimal import Decimal

from drivers.cas.codec import encode_dc1, encode_dc2
from drivers.hidscale.codec import encode_report
from drivers.mtsics.codec import encode_status as sics_status
from drivers.mtsics.codec import encode_weight as sics_weight
from drivers.nci.codec import adam_weight_line, encode_reply, encode_status, nci_weight_line
from drivers.toledo.codec import encode_status as scp_status
from drivers.toledo.codec import encode_weight as scp_weight
from drivers.toledo.continuous import encode_frame
from drivers.toledo.prix import encode_a, encode_bc
from drivers.urano.codec import encode_reply as urano_reply

W = Decimal("1.235")

SEEDS: dict[str, list[bytes]] = {
    "toledo_scp": [scp_weight(W, "kg"), scp_weight(Decimal("12.34"), "lb", net=True), scp_status(0x01)],
    "toledo_continuous": [
        encode_frame(W, "kg", decimals=3),
        encode_frame(Decimal("-2.50"), "lb", decimals=2, motion=True, net=True, tare=Decimal(1)) * 2,
    ],
    "toledo_prix": [encode_bc(W), encode_bc(None, "unstable", "C"), encode_a(W, unit_price=1000)],
    "nci": [
        encode_reply(nci_weight_line(W, "kg"), encode_status()),
        encode_reply(adam_weight_line(Decimal("-0.500"), "kg"), encode_status(under=True, prefix=False) + b"0"),
        encode_reply(None, encode_status(motion=True)),
    ],
    "mtsics": [sics_weight("S", True, W, "kg"), sics_weight("S", False, Decimal("-12.5"), "g"), sics_status("Z", "A")],
    "urano": [urano_reply(Decimal("5.10"), True), urano_reply(Decimal("-0.25"), False)],
    "cas_dc1": [b"\x06" + encode_dc1(W, "kg", stable=True), encode_dc1(W, "lb", stable=False, overload=True)],
    "cas_dc2": [b"\x06" + encode_dc2(W, "kg"), b"\x06\x07\x15"],
    "hidscale": [encode_report(4, W, "kg", -3), encode_report(3, Decimal(500), "g", 0)],
}
