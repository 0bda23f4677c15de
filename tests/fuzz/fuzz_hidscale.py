"""atheris harness: USB HID POS scale reports (whole reports: no split check) decoder."""

from tests.fuzz._harness import fuzz, instrumented

with instrumented():
    from drivers.hidscale.codec import HidScaleDecoder, reading_of
    from tests.fuzz._checks import readings

if __name__ == "__main__":
    fuzz(HidScaleDecoder, check=readings(reading_of), split="whole")
