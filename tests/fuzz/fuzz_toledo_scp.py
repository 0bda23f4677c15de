"""atheris harness: Mettler Toledo 8213/8217 (SCP) decoder."""

from tests.fuzz._harness import fuzz, instrumented

with instrumented():
    from drivers.toledo.codec import ToledoDecoder, reading_of
    from tests.fuzz._checks import readings

if __name__ == "__main__":
    fuzz(ToledoDecoder, check=readings(reading_of))
