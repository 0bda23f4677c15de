"""atheris harness: the ESC/POS printer model on raw print jobs (API clients send these bytes).

Public interface only (``EscposInterpreter(...).feed`` and the attributes it documents). Variants: a
single-byte printer, and one in GB18030 double-byte mode from power-on.
"""

from tests.fuzz._harness import fuzz, instrumented

with instrumented():
    from drivers.escpos.interpreter import AutoStatusSet, DrawerPulse, EscposInterpreter, PrintedImage, StatusRequest


def check(action: object) -> None:
    if isinstance(action, DrawerPulse):
        assert action.pin in (2, 5), action
        assert 0 <= action.on_ms <= 25_500, action
    elif isinstance(action, StatusRequest):
        assert 0 <= action.n <= 255, action
    else:
        assert isinstance(action, AutoStatusSet), action
        assert 0 <= action.items <= 15, action


def printed(printer: EscposInterpreter) -> object:
    return (printer.lines, printer.current_line, list(printer.paper), printer.cuts, printer.images, printer.barcodes)


def after(printer: EscposInterpreter) -> None:
    for item in printer.paper:
        if isinstance(item, PrintedImage):
            assert len(item.data) == (item.width + 7) // 8 * item.height, item


if __name__ == "__main__":
    fuzz(
        EscposInterpreter,
        lambda: EscposInterpreter(double_byte=True, double_byte_default=True),
        check=check,
        state=printed,
        after=after,
    )
