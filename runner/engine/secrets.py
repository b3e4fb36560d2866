"""Masking: secret values never reach a printed line, an error message or a file."""

from __future__ import annotations

import base64
import html
import json
import os
import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote, quote_plus

import markupsafe

MASK = "***"
SECRET_ENV_NAME = re.compile(r"TOKEN|SECRET|KEY|PASSWORD|PASSWD|CREDENTIAL", re.I)
#: names secret whatever the value's length; a name that says only "key" needs a long
#: value (SORT_KEY=path, PRIMARY_KEY=id are no secrets; API keys are long)
_SECRET_ANY_LENGTH_NAME = re.compile(r"TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL", re.I)
#: shorter values would mask ordinary words and numbers
MIN_SECRET_LENGTH = 4
MIN_KEY_LENGTH = 12


def is_secret_variable(name: str, value: str) -> bool:
    """Whether the environment variable ``name`` holds a secret, by its name (and, for a
    name that says only "key", the value's length)."""
    if _SECRET_ANY_LENGTH_NAME.search(name):
        return True
    return bool(SECRET_ENV_NAME.search(name)) and len(value.strip()) >= MIN_KEY_LENGTH


def _html_safe_json(text: str) -> str:
    """JSON text as Jinja's ``tojson`` escapes it for HTML."""
    for char, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("'", "\\u0027")):
        text = text.replace(char, escaped)
    return text


class Masker:
    """Replaces every known secret value with ``***``."""

    def __init__(self, values: Iterable[str] = ()) -> None:
        self._values: set[str] = set()
        self._lowered: set[str] = set()  # the values in lower case: one per spelling
        self._pattern: re.Pattern[str] | None = None  # made by _compiled
        for value in values:
            self.add(value)

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> Masker:
        """Values of environment variables named like *TOKEN*, *SECRET*, *PASSWORD*, and
        of *KEY* ones from ``MIN_KEY_LENGTH`` characters on."""
        environ = os.environ if environ is None else environ
        return cls(value for name, value in environ.items() if is_secret_variable(name, value))

    def add(self, value: Any) -> bool:
        """Mask ``value`` (a string, a number, or each of those in a list or mapping) from
        now on, also as it appears in URLs, JSON and base64; False if (a part of) it is
        too short to be masked."""
        if value is None or isinstance(value, bool):
            return True  # nothing to mask
        if isinstance(value, (list, tuple, dict)):
            parts = value.values() if isinstance(value, dict) else value
            return all([self.add(part) for part in parts])  # a list: add every part
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str) or len(value.strip()) < MIN_SECRET_LENGTH:
            return False
        for variant in (value, value.strip()):
            in_json = json.dumps(variant)[1:-1]
            forms = [
                variant,
                quote(variant, safe=""),  # in a query string or path
                quote(variant),  # in a path, or by Jinja's urlencode ("/" kept)
                quote_plus(variant, safe=""),  # in a form body
                in_json,  # inside a JSON string
                _html_safe_json(in_json),  # Jinja's tojson
                str(markupsafe.escape(variant)),  # Jinja's | e
                html.escape(variant),  # an HTML page
                repr(variant)[1:-1],  # in a Python repr: quotes and backslashes escaped
                base64.b64encode(variant.encode()).decode(),  # basic auth, configs
            ]
            if variant.upper().lower() != variant.lower():  # "ß".upper() is "SS": a case
                forms += [variant.upper(), variant.lower()]  # the pattern's flag misses
            for form in forms:
                # the pattern ignores letter case: one form per spelling is enough (a
                # shorter alternation masks large outputs faster)
                if form.lower() not in self._lowered:
                    self._lowered.add(form.lower())
                    self._values.add(form)
        self._pattern = None
        return True

    def _compiled(self) -> re.Pattern[str] | None:
        """All values, longest first, in any letter case (a template may have applied
        ``| upper`` or ``| lower``); None while there are none."""
        if self._pattern is None and self._values:
            ordered = sorted(self._values, key=len, reverse=True)
            self._pattern = re.compile("|".join(map(re.escape, ordered)), re.IGNORECASE)
        return self._pattern

    def hides(self, value: Any) -> bool:
        """Whether ``mask`` would change ``value`` (str, or dicts/lists of them)."""
        pattern = self._compiled()
        if pattern is None:
            return False
        if isinstance(value, str):
            return pattern.search(value) is not None
        if isinstance(value, dict):
            return any(self.hides(k) or self.hides(v) for k, v in value.items())
        if isinstance(value, (list, tuple)):
            return any(self.hides(v) for v in value)
        return False

    def mask(self, value: Any) -> Any:
        """A copy of ``value`` (str, or dicts/lists of them) with secrets replaced."""
        if isinstance(value, str):
            pattern = self._compiled()
            return value if pattern is None else pattern.sub(MASK, value)
        if isinstance(value, dict):
            return {
                self.mask(k) if isinstance(k, str) else k: self.mask(v) for k, v in value.items()
            }
        if isinstance(value, (list, tuple)):
            return [self.mask(v) for v in value]
        return value
