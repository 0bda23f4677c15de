"""Shared body of the atheris harnesses: one per parser that sees bytes from outside the daemon, each a few lines
calling :func:`fuzz` (decoders) or :func:`fuzz_function` (parsers of one whole input).

The input is a payload plus cut points (layout: tests/fuzz/_input.py). Checked on every input:

* no exception escapes (a parser with documented errors checks them in its harness, against an oracle);
* ``split="compare"`` (byte-stream decoders): the payload fed whole and fed in the cut pieces gives the same
  items and, with ``state``, the same decoder state; ``split="messages"``: each piece is one message (a HID
  report), fed in order; ``split="whole"``: one feed of the whole payload;
* every item passes ``check`` (outputs well-formed);
* ``after`` passes on the decoder that was fed the whole payload (its state is sane, it resynchronizes).

Decoders with a length limit are wrapped in :class:`OnlyDrops`, which checks that the limit only drops output.

With several decoder factories (variants: configurations of one parser) the first payload byte picks one.

Run one for real, from the repository root: ``.venv/bin/python -m tests.fuzz.fuzz_nci -max_total_time=60``.
CI runs each briefly over its seeds (tests/fuzz/test_fuzz_harnesses.py).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from typing import Any, Generic, Literal, Protocol, TypeVar

import atheris  # type: ignore[import-untyped]

from tests.fuzz._input import pieces, split_input


class Decoder(Protocol):
    def feed(self, data: bytes, /) -> Iterable[Any] | None: ...


D = TypeVar("D", bound=Decoder)
Split = Literal["compare", "messages", "whole"]


def instrumented(*also: str) -> AbstractContextManager[None]:
    """Modules of drivers (and of the packages ``also``) imported inside this block get coverage instrumentation;
    import them nowhere before it."""
    context: AbstractContextManager[None] = atheris.instrument_imports(include=["drivers", *also])
    return context


def _feed(decoder: Decoder, chunks: Iterable[bytes]) -> list[Any]:
    return [item for chunk in chunks for item in decoder.feed(chunk) or ()]


def fuzz(
    *variants: Callable[[], D],
    check: Callable[[Any], None] | None = None,
    split: Split = "compare",
    state: Callable[[D], object] | None = None,
    after: Callable[[D], None] | None = None,
) -> None:
    """Fuzz the decoders ``variants`` make (see the module docstring for what is checked)."""

    def one_input(data: bytes) -> None:
        payload, cuts = split_input(data)
        new = variants[0]
        if len(variants) > 1:
            if not payload:
                return
            new = variants[payload[0] % len(variants)]
            payload, cuts = payload[1:], [max(cut - 1, 0) for cut in cuts]
        decoder = new()
        items = _feed(decoder, pieces(payload, cuts) if split == "messages" else [payload])
        if split == "compare":
            other = new()
            split_items = _feed(other, pieces(payload, cuts))
            assert split_items == items, f"split feed differs: {split_items!r} != {items!r}"
            if state is not None:
                assert state(other) == state(decoder), f"split feed leaves {state(other)!r}, whole {state(decoder)!r}"
        for item in items:
            if check is not None:
                check(item)
        if after is not None:
            after(decoder)

    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()


class _Call:
    def __init__(self, function: Callable[[bytes], object]) -> None:
        self.function = function

    def feed(self, data: bytes) -> None:
        self.function(data)


def fuzz_function(function: Callable[[bytes], object]) -> None:
    """Fuzz a parser of one whole input: ``function`` runs its checks and raises on a violation."""
    fuzz(lambda: _Call(function), split="whole")


def resyncs(sync: bytes, *expected: object) -> Callable[[Decoder], None]:
    """An ``after`` check: whatever came before, feeding ``sync`` ends the output with ``expected``."""

    def after(decoder: Decoder) -> None:
        out = list(decoder.feed(sync) or ())
        assert out[len(out) - len(expected) :] == list(expected), f"no resync: {sync!r} gave {out!r}, not {expected!r}"

    return after


class OnlyDrops(Generic[D]):
    """A decoder with a length limit, fed alongside the same decoder without one: the limit may drop outputs of
    type ``kind`` (a scan too long), never make one (the tail of a scan too long is no scan)."""

    def __init__(self, limited: D, unlimited: Decoder, kind: type) -> None:
        self.limited = limited
        self.unlimited = unlimited
        self.kind = kind
        self._made: list[Any] = []
        self._reference: list[Any] = []

    def feed(self, data: bytes) -> list[Any]:
        out = list(self.limited.feed(data) or ())
        self._made += [item for item in out if isinstance(item, self.kind)]
        self._reference += [item for item in self.unlimited.feed(data) or () if isinstance(item, self.kind)]
        remaining = iter(self._reference)
        assert all(item in remaining for item in self._made), f"the limit made {self._made} of {self._reference}"
        return out
