"""atheris harness: USB HID POS scale reports (whole reports: no split check) decoder."""

from _harness import atheris, fuzz

with atheris.instrument_imports(include=["drivers"]):
    from drivers.hidscale.codec import HidScaleDecoder, reading_of

if __name__ == "__main__":
    fuzz(HidScaleDecoder, reading_of, stream=False)
