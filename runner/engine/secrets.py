"""Masking: secret values never reach a printed line, an error message or a file."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from typing import Any

MASK = "***"
SECRET_ENV_NAME = re.compile(r"TOKEN|SECRET|KEY|PASSWORD|PASSWD|CREDENTIAL", re.I)
#: shorter values would mask ordinary words and numbers
MIN_SECRET_LENGTH = 4


class Masker:
    """Replaces every known secret value with ``***``."""

    def __init__(self, values: Iterable[str] = ()) -> None:
        self._values: set[str] = set()
        for value in values:
            self.add(value)

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> Masker:
        """Values of environment variables named like *TOKEN*, *SECRET*, *KEY*, *PASSWORD*."""
        environ = os.environ if environ is None else environ
        return cls(v for k, v in environ.items() if SECRET_ENV_NAME.search(k))

    def add(self, value: Any) -> None:
        if isinstance(value, str) and len(value.strip()) >= MIN_SECRET_LENGTH:
            self._values.add(value)
            self._values.add(value.strip())

    def mask(self, value: Any) -> Any:
        """A copy of ``value`` (str, or dicts/lists of them) with secrets replaced."""
        if isinstance(value, str):
            for secret in sorted(self._values, key=len, reverse=True):
                if secret in value:
                    value = value.replace(secret, MASK)
            return value
        if isinstance(value, dict):
            return {
                self.mask(k) if isinstance(k, str) else k: self.mask(v) for k, v in value.items()
            }
        if isinstance(value, (list, tuple)):
            return [self.mask(v) for v in value]
        return value
