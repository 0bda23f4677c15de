"""atheris harness: status bytes of a standalone serial cash drawer."""

from tests.fuzz._harness import fuzz, instrumented

with instrumented():
    from drivers.serial_drawer.codec import DrawerReading, Noise, StatusDecoder


def check(item: object) -> None:
    if isinstance(item, Noise):
        assert item.byte & 0x80, item
    else:
        assert isinstance(item, DrawerReading), item
        assert not item.byte & 0x80, item
        assert item.opened == bool(item.byte & 0x40), item


if __name__ == "__main__":
    fuzz(StatusDecoder, check=check)
