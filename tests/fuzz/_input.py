"""The layout of one fuzz input: the payload first, then the cut points, then their count in the last byte.

Kept free of atheris and of driver imports, so the CI test can check that every seed reaches its harness intact
(``split_input(corpus_entry(seed)) == (seed, [])``). The cut points are read from the end on purpose: a mutation
of the payload (the part that matters) then never moves them, and a trailing zero byte means "no cuts".

Harnesses with several variants (decoder configurations) read the variant from the first payload byte; their
seeds start with it (:func:`with_variant`).
"""

from __future__ import annotations

import itertools

MAX_CUTS = 8
NO_CUTS = b"\x00"


def split_input(data: bytes) -> tuple[bytes, list[int]]:
    """``data`` → (payload, sorted cut points inside the payload). Any bytes are a valid input."""
    if not data:
        return b"", []
    count = min(data[-1] % (MAX_CUTS + 1), (len(data) - 1) // 2)
    end = len(data) - 1 - 2 * count
    payload = data[:end]
    cuts = sorted(int.from_bytes(data[i : i + 2], "big") % (len(payload) + 1) for i in range(end, end + 2 * count, 2))
    return payload, cuts


def pieces(payload: bytes, cuts: list[int]) -> list[bytes]:
    """The payload cut at ``cuts`` (sorted); empty pieces included, so "feed nothing" is exercised too."""
    return [payload[start:end] for start, end in itertools.pairwise([0, *cuts, len(payload)])]


def corpus_entry(payload: bytes, cuts: tuple[int, ...] = ()) -> bytes:
    """The fuzz input that :func:`split_input` reads as ``payload`` cut at ``cuts`` (at most MAX_CUTS)."""
    if len(cuts) > MAX_CUTS or not all(0 <= cut <= min(len(payload), 0xFFFF) for cut in cuts):
        raise ValueError(f"cuts {cuts} do not fit a payload of {len(payload)} bytes")
    return payload + b"".join(cut.to_bytes(2, "big") for cut in cuts) + bytes([len(cuts)])


def with_variant(variant: int, payload: bytes) -> bytes:
    """A seed for variant ``variant`` of a harness that has several."""
    return bytes([variant]) + payload
