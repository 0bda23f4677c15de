"""atheris harness: Mettler Toledo continuous output decoder."""

from tests.fuzz._harness import fuzz, instrumented

with instrumented():
    from drivers.toledo.continuous import ContinuousDecoder, reading_of
    from tests.fuzz._checks import readings

if __name__ == "__main__":
    fuzz(ContinuousDecoder, check=readings(reading_of))
