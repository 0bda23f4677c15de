"""atheris harness: the Logic Controls pole display model (simulator side), bytes whole or split alike."""

from tests.fuzz._harness import fuzz, instrumented

with instrumented():
    from drivers.logic_controls.codec import LogicControlsInterpreter, encode_lines
    from tests.fuzz._checks import shows

if __name__ == "__main__":
    fuzz(LogicControlsInterpreter, state=lambda display: display, after=shows(encode_lines, ["TOTAL", "12,50 EUR"]))
