"""atheris harness: Mettler Toledo 8213/8217 (SCP) decoder."""

from _harness import atheris, fuzz

with atheris.instrument_imports(include=["drivers"]):
    from drivers.toledo.codec import ToledoDecoder, reading_of

if __name__ == "__main__":
    fuzz(ToledoDecoder, reading_of)
