"""atheris harness: what an ESC/POS printer sends back (DLE EOT replies, Automatic Status Back, XON/XOFF)."""

from tests.fuzz._harness import fuzz, instrumented, resyncs

with instrumented():
    from drivers.escpos.codec import (
        AutoStatus,
        RealtimeReply,
        StatusDecoder,
        UnexpectedByte,
        encode_asb,
        is_asb_header,
        is_realtime_reply,
    )
    from drivers.models import PrinterStatus

ASB = encode_asb(PrinterStatus(online=False, paper="near_end", cover="open"), drawer_pin3_high=True)


def check(item: object) -> None:
    if isinstance(item, AutoStatus):
        assert len(item.data) == 4, item
        assert is_asb_header(item.data[0]), item
        assert not any(byte & 0x90 for byte in item.data[1:]), item
        PrinterStatus.model_validate(item.status.model_dump())
    elif isinstance(item, RealtimeReply):
        assert is_realtime_reply(item.byte), item
    else:
        assert isinstance(item, UnexpectedByte), item
        assert 0 <= item.byte <= 255, item
        assert not is_realtime_reply(item.byte), item
        assert item.byte not in (0x11, 0x13), item


def after(decoder: StatusDecoder) -> None:
    resyncs(ASB, AutoStatus(ASB))(decoder)
    resyncs(b"\x13\x12", RealtimeReply(0x12))(decoder)


if __name__ == "__main__":
    fuzz(StatusDecoder, check=check, after=after)
