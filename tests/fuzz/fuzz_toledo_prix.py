"""atheris harness: Toledo Prix A/B/C and Filizola decoder."""

from tests.fuzz._harness import fuzz, instrumented

with instrumented():
    from drivers.toledo.prix import PrixDecoder, reading_of
    from tests.fuzz._checks import readings

if __name__ == "__main__":
    fuzz(PrixDecoder, check=readings(reading_of))
