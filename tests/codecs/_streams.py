"""Shared helpers for the codec tests: cutting a byte stream into chunks, hypothesis settings."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from typing import TypeVar

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

T = TypeVar("T")

#: Modest, deterministic-enough settings so the whole folder stays fast.
PROPERTY = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

#: Raw cut positions; they are folded into the stream length by :func:`split_at`.
cut_points = st.lists(st.integers(min_value=0, max_value=1 << 16), max_size=24)


def split_at(data: bytes, cuts: Sequence[int]) -> list[bytes]:
    """Cut ``data`` at the given positions (taken modulo ``len(data) + 1``); the pieces join back to ``data``."""
    points = sorted({cut % (len(data) + 1) for cut in cuts} | {0, len(data)})
    pieces = [data[start:end] for start, end in itertools.pairwise(points)]
    assert b"".join(pieces) == data
    return pieces


def byte_by_byte(data: bytes) -> list[bytes]:
    return [data[i : i + 1] for i in range(len(data))]


def three_ways(data: bytes, cuts: Sequence[int], run: Callable[[list[bytes]], T]) -> tuple[T, T, T]:
    """Run the same stream whole, split at ``cuts`` and byte by byte (each on a fresh decoder)."""
    return run([data]), run(split_at(data, cuts)), run(byte_by_byte(data))
