"""atheris harness: MT-SICS decoder."""

from _harness import atheris, fuzz

with atheris.instrument_imports(include=["drivers"]):
    from drivers.mtsics.codec import SicsDecoder, reading_of

if __name__ == "__main__":
    fuzz(SicsDecoder, reading_of)
