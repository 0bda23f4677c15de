"""Properties the Epson DM-D and Logic Controls interpreters share (drivers/*/codec.py), run over both.

* what ``encode_lines`` sends (after ``setup_bytes``) shows exactly those lines, fed whole, split or byte by byte;
* after arbitrary noise, one update shows exactly its lines;
* whole, split and byte-by-byte feeds of any bytes leave the same state;
* any bytes leave a two-line, at most twenty-column screen.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.epson_dmd import codec as dmd
from drivers.logic_controls import codec as logic_controls
from tests.codecs._streams import PROPERTY, cut_points, three_ways


@dataclass(frozen=True)
class CommandSet:
    name: str
    interpreter: Callable[[], Any]
    encode_lines: Callable[[list[str]], bytes]
    setup_bytes: Callable[[], bytes]
    state: Callable[[Any], tuple[Any, ...]]
    """What must agree however the bytes were cut (the lines first, the unparsed rest last)."""

    def screen(self, data: bytes) -> list[str]:
        display = self.interpreter()
        display.feed(data)
        lines: list[str] = display.lines
        return lines

    def run(self, chunks: list[bytes]) -> tuple[Any, ...]:
        display = self.interpreter()
        for chunk in chunks:
            display.feed(chunk)
        return self.state(display)


COMMAND_SETS = (
    CommandSet(
        "epson-dmd",
        dmd.DmdInterpreter,
        dmd.encode_lines,
        dmd.setup_bytes,
        lambda d: (d.lines, d.row, d.column, d.encoding, bytes(d._pending)),
    ),
    CommandSet(
        "logic-controls",
        logic_controls.LogicControlsInterpreter,
        logic_controls.encode_lines,
        logic_controls.setup_bytes,
        lambda d: (d.lines, d.row, d.column, d.vertical_scroll, d.brightness, bytes(d._pending)),
    ),
)
each_command_set = pytest.mark.parametrize("command_set", COMMAND_SETS, ids=lambda c: c.name)

CP437_PRINTABLE = sorted(
    {ch for ch in bytes(range(0x20, 0x100)).decode("cp437") if ch.isprintable() and (ch == " " or not ch.isspace())}
)
display_line = st.text(alphabet=CP437_PRINTABLE, max_size=20)


@each_command_set
@PROPERTY
@given(lines=st.lists(display_line, max_size=2), cuts=cut_points)
def test_interpreter_shows_what_was_encoded(command_set: CommandSet, lines: list[str], cuts: list[int]) -> None:
    expected = [line.rstrip(" ") for line in [*lines, "", ""][:2]]
    stream = command_set.setup_bytes() + command_set.encode_lines(lines)
    for shown, *_, pending in three_ways(stream, cuts, command_set.run):
        assert shown == expected
        assert pending == b""


@each_command_set
@PROPERTY
@given(noise=st.binary(max_size=40), lines=st.lists(display_line, max_size=2))
def test_one_update_after_noise_shows_exactly_the_lines(
    command_set: CommandSet, noise: bytes, lines: list[str]
) -> None:
    expected = [line.rstrip(" ") for line in [*lines, "", ""][:2]]
    assert command_set.screen(noise + command_set.encode_lines(lines)) == expected


@each_command_set
@PROPERTY
@given(stream=st.binary(max_size=160), cuts=cut_points)
def test_whole_split_and_byte_by_byte_feeds_agree(command_set: CommandSet, stream: bytes, cuts: list[int]) -> None:
    whole, split, single = three_ways(stream, cuts, command_set.run)
    assert whole == split == single


@each_command_set
@PROPERTY
@given(stream=st.binary(max_size=200))
def test_screen_stays_two_by_twenty(command_set: CommandSet, stream: bytes) -> None:
    shown = command_set.screen(stream)
    assert len(shown) == 2
    assert all(len(line) <= 20 for line in shown)
