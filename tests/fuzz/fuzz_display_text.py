"""atheris harness: text from API clients through each display command set, then through that display's model.

Oracle, independent of drivers/display_text.py: text is refused exactly when, after NFC, it has more than two
lines, a line longer than 20 characters or a control character; otherwise every display shows the NFC text,
with "?" for each character the code page lacks.
"""

import unicodedata
from collections.abc import Callable
from typing import Any

from tests.fuzz._harness import fuzz_function, instrumented

with instrumented():
    from drivers.cd5220 import codec as cd5220
    from drivers.display_text import TextTooLong, UnsupportedText
    from drivers.epson_dmd import codec as epson_dmd
    from drivers.logic_controls import codec as logic_controls

ENCODINGS = ("cp437", "cp850", "cp858", "cp1252", "cp866", "cp852")


def shown(char: str, encoding: str) -> str:
    try:
        return char.encode(encoding).decode(encoding)
    except UnicodeEncodeError:
        return "?"


def roundtrip(data: bytes) -> None:
    encoding = ENCODINGS[data[0] % len(ENCODINGS)] if data else "cp437"
    lines = data[1:].decode("utf-8", "surrogateescape").split("\n")
    nfc = [unicodedata.normalize("NFC", line) for line in lines]
    refused = len(nfc) > 2 or any(
        len(line) > 20 or any(ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 for c in line) for line in nfc
    )
    expected = ["".join(shown(c, encoding) for c in line).rstrip() for line in [*nfc, ""][:2]]
    displays: list[tuple[Callable[[list[str], str], bytes], Any]] = [
        (epson_dmd.encode_lines, epson_dmd.DmdInterpreter()),
        (logic_controls.encode_lines, logic_controls.LogicControlsInterpreter(encoding=encoding)),
        (cd5220.encode_lines, cd5220.DisplayInterpreter(encoding=encoding)),
    ]
    for encode_lines, display in displays:
        try:
            sent = encode_lines(lines, encoding)
        except (TextTooLong, UnsupportedText):
            assert refused, (lines, encoding)
            continue
        assert not refused, (lines, encoding)
        display.feed(sent)
        assert [line.rstrip() for line in display.lines] == expected, (type(display), lines, encoding, display.lines)


if __name__ == "__main__":
    fuzz_function(roundtrip)
