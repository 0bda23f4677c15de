"""atheris harness: the Epson DM-D display model (simulator side), bytes whole or split alike."""

from tests.fuzz._harness import fuzz, instrumented

with instrumented():
    from drivers.epson_dmd.codec import DmdInterpreter, encode_lines
    from tests.fuzz._checks import shows

if __name__ == "__main__":
    fuzz(DmdInterpreter, state=lambda display: display, after=shows(encode_lines, ["TOTAL", "12,50 EUR"]))
