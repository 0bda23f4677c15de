"""atheris harness: MT-SICS decoder."""

from tests.fuzz._harness import fuzz, instrumented

with instrumented():
    from drivers.mtsics.codec import SicsDecoder, reading_of
    from tests.fuzz._checks import readings

if __name__ == "__main__":
    fuzz(SicsDecoder, check=readings(reading_of))
