"""The masker: every known secret value, also as URLs, JSON and base64 carry it, becomes ***."""

from __future__ import annotations

import base64
import json
from urllib.parse import quote, quote_plus

from runner.engine.secrets import Masker

SECRET = 'wJalr/XUtn+FEMI K7"MDENG'


def test_secrets_are_masked_as_written_and_as_encoded() -> None:
    masker = Masker([SECRET])
    for shown in (
        SECRET,
        quote(SECRET, safe=""),
        quote_plus(SECRET, safe=""),
        json.dumps(SECRET)[1:-1],
        base64.b64encode(SECRET.encode()).decode(),
    ):
        assert masker.mask(f"GET /x?key={shown}&y=1") == "GET /x?key=***&y=1"
    assert masker.mask(json.dumps({"key": SECRET})) == '{"key": "***"}'


def test_longer_secrets_win_and_structures_are_masked_throughout() -> None:
    masker = Masker(["abcd", "abcdefgh"])
    assert masker.mask("x abcdefgh y abcd") == "x *** y ***"
    masked = masker.mask({"abcd": ["abcdefgh", 3, ("abcd",)], "n": None})
    assert masked == {"***": ["***", 3, ["***"]], "n": None}


def test_short_values_are_not_secrets_and_new_ones_count_at_once() -> None:
    masker = Masker(["abc", "  "])
    assert masker.mask("abc") == "abc"
    assert masker.mask("a secret-value") == "a secret-value"
    masker.add("secret-value")
    assert masker.mask("a secret-value") == "a ***"


def test_a_secret_is_masked_in_any_letter_case() -> None:
    masker = Masker([SECRET])  # a template may apply | upper or | lower
    assert masker.mask(f"a {SECRET.upper()} b {SECRET.lower()}") == "a *** b ***"
