"""atheris harness: drawer-kick detection and removal on raw print jobs (API clients send these bytes), and the
statistics count of a job. Public functions only.

Checks: any bytes are a job; ``count_printed`` and ``find_drawer_kicks`` (which take shortcuts) agree with the
printer model fed the whole job; a job with kicks is described; removal keeps the length and leaves no kick,
not even with the next job's ESC @ after it.
"""

from tests.fuzz._harness import fuzz_function, instrumented

with instrumented():
    from drivers.escpos.interpreter import DrawerPulse, EscposInterpreter, PrintedCounts, count_printed
    from drivers.escpos.kick_detect import describe_drawer_kicks, find_drawer_kicks, neutralize_drawer_kicks


def kicks(job: bytes) -> None:
    printer = EscposInterpreter(max_lines=1 << 30)  # every line, to count them here independently
    pulses = [action for action in printer.feed(job) if isinstance(action, DrawerPulse)]
    lines = sum(1 for line in [*printer.lines, printer.current_line] if line.strip())
    assert count_printed(job) == PrintedCounts(lines, printer.cuts, printer.barcodes), job
    assert find_drawer_kicks(job) == pulses, job
    assert describe_drawer_kicks(job) is not None or not pulses, job
    cleaned = neutralize_drawer_kicks(job)
    assert len(cleaned) == len(job)
    assert describe_drawer_kicks(cleaned + b"\x1b@") is None, (job, cleaned)


if __name__ == "__main__":
    fuzz_function(kicks)
