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


def test_numbers_and_the_strings_in_structures_are_masked_too() -> None:
    masker = Masker()
    assert masker.add(98765) and masker.add({"user": "admin-user", "ids": ["id-12345"]})
    assert masker.mask("pin=98765 user=admin-user id-12345") == "pin=*** user=*** ***"
    assert not masker.add(12) and not masker.add(["long-enough", "ab"])
    assert masker.add(None) and masker.add(True)  # nothing to mask


def test_jinja_urlencode_keeps_slashes_and_is_masked_as_well() -> None:
    from jinja2 import Environment

    secret = "p@ss word/1"
    shown = Environment().from_string("{{ s | urlencode }}").render(s=secret)
    assert shown == "p%40ss%20word/1"
    assert Masker([secret]).mask(f"x={shown}") == "x=***"


def test_variables_named_only_key_count_from_twelve_characters() -> None:
    masker = Masker.from_environment(
        {
            "SORT_KEY": "path",  # no secret: masking it would mangle every "path"
            "API_KEY": "k" * 12,
            "DB_PASSWORD": "hunter2",  # short, but the name says it is secret
            "HOME": "/home/someone",
        }
    )
    assert (
        masker.mask("path k…" + "k" * 12 + " hunter2 /home/someone")
        == "path k…*** *** /home/someone"
    )


def test_the_forms_templates_and_reprs_give_a_secret_are_masked() -> None:
    from jinja2 import Environment

    secret = "Kk<&>'\"Secret-\u00df1"  # both quotes, HTML specials, a sharp s
    masker = Masker([secret])
    jinja = Environment(autoescape=False)
    for template in ("{{ s | tojson }}", "{{ s | e }}", "{{ s | upper }}", "{{ s | lower }}"):
        shown = jinja.from_string(template).render(s=secret)
        assert masker.mask(f"x {shown} y") in ("x *** y", 'x "***" y'), template
    assert masker.mask(f"got {secret!r}") == "got '***'"
