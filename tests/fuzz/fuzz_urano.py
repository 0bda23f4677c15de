"""atheris harness: Urano decoder."""

from tests.fuzz._harness import fuzz, instrumented

with instrumented():
    from drivers.urano.codec import UranoDecoder, reading_of
    from tests.fuzz._checks import readings

if __name__ == "__main__":
    fuzz(UranoDecoder, check=readings(reading_of))
