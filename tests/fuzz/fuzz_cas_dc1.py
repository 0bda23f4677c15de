"""atheris harness: CAS PD-II DC1 format decoder."""

from tests.fuzz._harness import fuzz, instrumented

with instrumented():
    from drivers.cas.codec import CasDecoder, reading_of
    from tests.fuzz._checks import readings

if __name__ == "__main__":
    fuzz(lambda: CasDecoder("dc1"), check=readings(reading_of))
