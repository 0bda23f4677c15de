"""atheris harness: Urano decoder."""

from _harness import atheris, fuzz

with atheris.instrument_imports(include=["drivers"]):
    from drivers.urano.codec import UranoDecoder, reading_of

if __name__ == "__main__":
    fuzz(UranoDecoder, reading_of)
