"""atheris harness: Toledo Prix A/B/C and Filizola decoder."""

from _harness import atheris, fuzz

with atheris.instrument_imports(include=["drivers"]):
    from drivers.toledo.prix import PrixDecoder, reading_of

if __name__ == "__main__":
    fuzz(PrixDecoder, reading_of)
