"""The print payloads' base64 decoder accepts exactly the strings the published schema's pattern matches."""

from __future__ import annotations

import base64
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from api.printers import BASE64_PATTERN, PrintJobRequest
from tests.codecs._streams import PROPERTY

#: The alphabet, padding and a few things that are not base64 (URL-safe letters, whitespace, NUL, non-ASCII).
CANDIDATES = st.text(alphabet="AB9z+/=-_ \n\x00é", max_size=24) | st.binary(max_size=18).map(
    lambda data: base64.b64encode(data).decode()
)


def accepted(value: str) -> bool:
    try:
        PrintJobRequest.model_validate({"raw": value})
    except ValidationError:
        return False
    return True


@PROPERTY
@given(value=CANDIDATES)
def test_the_decoder_accepts_what_the_documented_pattern_matches(value: str) -> None:
    assert accepted(value) == bool(re.fullmatch(BASE64_PATTERN, value)), value


@pytest.mark.parametrize("value", ["AAAA====", "B9BA=", "AA=A", "AAA=AAAA", "G0A", "G0A=\n", "G0A-", ""])
def test_malformed_or_unpadded_base64_is_refused(value: str) -> None:
    assert accepted(value) == (value == "")  # the empty string is zero bytes of well-formed base64


@PROPERTY
@given(data=st.binary(max_size=64))
def test_what_was_encoded_comes_back(data: bytes) -> None:
    assert PrintJobRequest.model_validate({"raw": base64.b64encode(data).decode()}).raw == data
