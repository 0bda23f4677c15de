"""atheris harness: the CD5220 display model (simulator side), bytes whole or split alike."""

from tests.fuzz._harness import fuzz, instrumented

with instrumented():
    from drivers.cd5220.codec import DisplayInterpreter, encode_lines
    from tests.fuzz._checks import shows

if __name__ == "__main__":
    fuzz(DisplayInterpreter, state=lambda display: display, after=shows(encode_lines, ["TOTAL", "12,50 EUR"]))
