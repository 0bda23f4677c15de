"""atheris harness: serial / CDC-ACM scanner line framing, each label then decoded as the driver does."""

from tests.fuzz._harness import OnlyDrops, fuzz, instrumented, resyncs

with instrumented():
    from drivers.scan_report import decode_label
    from drivers.serial_scanner.codec import Frame, FramingError, LineFramer
    from tests.fuzz._checks import scan

MAX = 64  # a small limit, so inputs of a few hundred bytes reach the overflow path


def framer(prefix: bytes) -> OnlyDrops[LineFramer]:
    return OnlyDrops(LineFramer(prefix, MAX), LineFramer(prefix, 1 << 20), Frame)


def check(item: object) -> None:
    if isinstance(item, FramingError):
        assert len(item.dropped) == MAX + 1, item
        return
    assert isinstance(item, Frame), item
    assert item.label, item
    assert item.raw.endswith(item.label), item
    assert len(item.raw) <= MAX, item
    assert not set(item.raw) & set(b"\r\n"), item
    scan(decode_label(item.label), item.raw.decode("latin-1"))


if __name__ == "__main__":
    fuzz(
        lambda: framer(b""),
        lambda: framer(b"]"),
        check=check,
        state=lambda framers: framers.limited.pending,
        after=resyncs(b"\r\n0123456789\r", Frame(b"0123456789", b"0123456789")),
    )
