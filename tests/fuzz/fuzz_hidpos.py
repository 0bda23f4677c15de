"""atheris harness: HID POS scanner reports (each cut piece is one report), each scan then decoded."""

from tests.fuzz._harness import OnlyDrops, fuzz, instrumented

with instrumented():
    from drivers.hidpos.codec import HidPosAssembler, HidProblem, HidScan, encode_reports
    from drivers.scan_report import decode_label
    from tests.fuzz._checks import scan

MAX = 300  # a small limit, so a few reports reach it
LABEL = b"https://id.gs1.org/01/09506000134352" * 2  # two reports


def check(item: object) -> None:
    if isinstance(item, HidProblem):
        return
    assert isinstance(item, HidScan), item
    assert 0 < len(item.data) <= MAX, item
    assert len(item.aim) <= 3, item
    assert not item.aim.endswith(b"\0"), item
    scan(decode_label(item.label), item.label.decode("latin-1"))


def recovers(assemblers: OnlyDrops[HidPosAssembler]) -> None:
    """After anything, and the quiet timeout the driver runs, a whole scan comes out whole."""
    assembler = assemblers.limited
    if assembler.pending:
        assembler.abandon()
    out = [item for report in encode_reports(b"]Q1", LABEL) for item in assembler.feed(report)]
    assert out == [HidScan(b"]Q1", LABEL)], out


if __name__ == "__main__":
    fuzz(
        lambda: OnlyDrops(HidPosAssembler(max_length=MAX), HidPosAssembler(max_length=1 << 20), HidScan),
        check=check,
        split="messages",
        after=recovers,
    )
