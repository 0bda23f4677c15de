"""atheris harness: Mettler Toledo continuous output decoder."""

from _harness import atheris, fuzz

with atheris.instrument_imports(include=["drivers"]):
    from drivers.toledo.continuous import ContinuousDecoder, reading_of

if __name__ == "__main__":
    fuzz(ContinuousDecoder, reading_of)
