"""atheris harness: CAS PD-II DC1 format decoder."""

from _harness import atheris, fuzz

with atheris.instrument_imports(include=["drivers"]):
    from drivers.cas.codec import CasDecoder, reading_of

if __name__ == "__main__":
    fuzz(lambda: CasDecoder("dc1"), reading_of)
