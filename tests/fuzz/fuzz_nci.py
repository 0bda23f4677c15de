"""atheris harness: NCI / ECR and Adam MDW decoder."""

from tests.fuzz._harness import fuzz, instrumented

with instrumented():
    from drivers.nci.codec import NciDecoder, reading_of
    from tests.fuzz._checks import readings

if __name__ == "__main__":
    fuzz(NciDecoder, check=readings(reading_of))
