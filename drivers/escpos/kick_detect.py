"""Find drawer kicks in raw ESC/POS bytes (sans-I/O), so a raw print job that opens the drawer is treated as
a drawer open: it needs the ``drawer`` scope and lands in the audit log.

Two answers, for two uses:

* :func:`find_drawer_kicks` parses the job with the printer model (:class:`EscposInterpreter`) and returns
  the pulses a printer that agrees with that model would fire (ESC p, and DLE DC4 1), with pin and timing:
  what to write in the audit record.
* :func:`contains_kick_bytes` looks for the kick byte sequences anywhere, whatever the parse says. A real
  printer can parse differently from our model (e.g. in double-byte mode a lead byte swallows the ESC in
  the model, but the printer rejects ESC as a trail byte and executes ESC p), and DLE DC4 1 is executed
  even inside another command's data. For the scope decision use :func:`scan_for_drawer_kicks`, which
  is the union of both: a false positive (an image whose pixels happen to contain ``1B 70``) only means
  the job needs the drawer scope; a false negative would open a drawer without it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from drivers.escpos.interpreter import DrawerPulse, EscposInterpreter

__all__ = [
    "DrawerKickScan",
    "DrawerPulse",
    "contains_kick_bytes",
    "describe_drawer_kicks",
    "find_drawer_kicks",
    "neutralize_drawer_kicks",
    "scan_for_drawer_kicks",
]

# ESC p m (m = 0, 1, '0', '1') and DLE DC4 1 m (m = 0, 1).
_KICK_BYTES = re.compile(rb"\x1bp[\x00\x01\x30\x31]|\x10\x14\x01[\x00\x01]")


def find_drawer_kicks(data: bytes) -> list[DrawerPulse]:
    """The drawer pulses in ``data`` as the ESC/POS model parses it, in order."""
    # Every kick the model parses is one of the searched byte sequences: without them there is nothing to parse.
    return _parse_kicks(data) if contains_kick_bytes(data) else []


def _parse_kicks(data: bytes) -> list[DrawerPulse]:
    return [action for action in EscposInterpreter(draw=False).feed(data) if isinstance(action, DrawerPulse)]


def contains_kick_bytes(data: bytes) -> bool:
    """True if a kick sequence occurs anywhere in ``data`` (command position or not)."""
    return _KICK_BYTES.search(data) is not None


@dataclass(frozen=True, slots=True)
class DrawerKickScan:
    pulses: tuple[DrawerPulse, ...]
    """Kicks the model parses (pin, pulse length): for the audit record."""
    suspect: bool
    """Kick bytes occur somewhere, parsed as a command or not."""

    @property
    def needs_drawer_scope(self) -> bool:
        return bool(self.pulses) or self.suspect


def scan_for_drawer_kicks(data: bytes) -> DrawerKickScan:
    suspect = contains_kick_bytes(data)
    return DrawerKickScan(pulses=tuple(_parse_kicks(data)) if suspect else (), suspect=suspect)


def describe_drawer_kicks(data: bytes) -> str | None:
    """For the audit record: the kicks ``data`` would fire, or None when it has none."""
    scan = scan_for_drawer_kicks(data)
    if not scan.needs_drawer_scope:
        return None
    return ", ".join(f"pin {p.pin} {p.on_ms} ms" for p in scan.pulses) or "kick bytes inside other data"


# The whole commands: ESC p m t1 t2 and DLE DC4 1 m t (five bytes each).
_KICK_COMMANDS = re.compile(rb"\x1bp[\x00\x01\x30\x31]..|\x10\x14\x01[\x00\x01].", re.DOTALL)


def neutralize_drawer_kicks(data: bytes) -> bytes:
    """``data`` with every kick command overwritten by NULs, which a printer ignores as commands; afterwards
    :func:`contains_kick_bytes` finds nothing in it.

    Lengths never change, so image and command data around a kick keep their meaning (inside an image
    the cost is five white bytes). A kick cut short at the end of the job (``ESC p 0`` and no timing bytes)
    loses its first bytes too: the next job's ``ESC @`` would otherwise complete it. Blanking can complete a
    kick in front of it (``DLE DC4 1`` then a blanked ``ESC p``: a NUL is a valid pin byte), so this repeats
    until nothing is left; each round blanks at least three more bytes.
    """
    while True:
        cleaned = _KICK_COMMANDS.sub(_blank, data)
        cleaned = _KICK_BYTES.sub(_blank, cleaned)
        if cleaned == data:
            return cleaned
        data = cleaned


def _blank(match: re.Match[bytes]) -> bytes:
    return bytes(len(match.group()))
