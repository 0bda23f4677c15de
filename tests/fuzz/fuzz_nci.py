"""atheris harness: NCI / ECR and Adam MDW decoder."""

from _harness import atheris, fuzz

with atheris.instrument_imports(include=["drivers"]):
    from drivers.nci.codec import NciDecoder, reading_of

if __name__ == "__main__":
    fuzz(NciDecoder, reading_of)
