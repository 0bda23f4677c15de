"""atheris harness: keyboard-wedge decoding of evdev records (as the driver reads them), each scan then decoded.

Besides the usual checks, every event also goes to a second decoder whose key cache is emptied before each
event, so each key takes libxkbcommon's slow path: both must give the same output (the cache is invisible);
and to one without a length limit, of which the limited one's scans must be a part (:class:`OnlyDrops`).
"""

from typing import Any

from tests.fuzz._harness import OnlyDrops, fuzz, instrumented

with instrumented():
    from drivers.transports.evdev import INPUT_EVENT_SIZE
    from drivers.wedge.codec import KeyboardDecoder, WedgeScan, parse_key_events
    from drivers.wedge.xkb import keymap_for
    from tests.fuzz._checks import scan

MAX = 12  # the seeds' EAN-13 is one character too long


class Records:
    """A byte stream of ``struct input_event`` records in, the decoder's output out (partial records kept)."""

    def __init__(self, layout: str, variant: str, max_length: int, *, uncached: bool, **options: Any) -> None:
        keymap = keymap_for(layout, variant)
        self.decoder = KeyboardDecoder(keymap, max_length=max_length, **options)
        self.uncached = KeyboardDecoder(keymap, max_length=max_length, **options) if uncached else None
        self.tail = b""

    def feed(self, data: bytes) -> list[object]:
        data = self.tail + data
        usable = len(data) - len(data) % INPUT_EVENT_SIZE
        self.tail = data[usable:]
        out: list[object] = []
        for event in parse_key_events(data[:usable]):
            items = self.decoder.feed(event)
            if self.uncached is not None:
                self.uncached.keys._typed.clear()
                assert self.uncached.feed(event) == items, (event, items)
            out += items
        return out


def records(layout: str, variant: str = "", **options: Any) -> OnlyDrops[Records]:
    limited = Records(layout, variant, MAX, uncached=True, **options)
    return OnlyDrops(limited, Records(layout, variant, 1 << 20, uncached=False, **options), WedgeScan)


def check(item: object) -> None:
    if isinstance(item, WedgeScan):
        assert item.label, item
        assert item.label in item.raw, item
        assert len(item.raw) <= MAX, item
        scan(item.label, item.raw)


if __name__ == "__main__":
    fuzz(
        lambda: records("us"),
        lambda: records("fr", suffix="\t", gap_s=0.05),
        lambda: records("de", prefix="]", numlock=False),
        lambda: records("br", "abnt2", gap_s=0.02, enter_ends_scan=False),
        check=check,
        state=lambda both: both.limited.tail,
    )
