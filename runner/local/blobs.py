"""The blob folder of the local server, and the signed URLs that read and write it.

Blobs live under ``<data_dir>/blobs/<key>``; keys are relative posix paths made by
the server (never from raw user input without ``safe_key``). A signed URL is
``<public_url>/blobs/<key>?method=GET|PUT&expires=<unix s>&sig=<hmac-sha256>``;
the signature covers method, key and expiry, so a URL cannot be reused for
another blob, another method, or after it expired.

A public token (``publicToken``, CONTRACT §2.2) is the credential of a link that
must not expire, such as an export's ``REDIRECTED_READ_URL``: it lets anyone GET
one API path as the user it was issued to, who must still have access to what the
path names; the path's answer (a redirect) carries a fresh signed URL.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path, PurePosixPath
from urllib.parse import quote, urlencode

from runner.local.errors import ApiError

DEFAULT_EXPIRY_S = 7 * 24 * 3600
#: the lifetime of a URL asked for without expiry ("unlimited": an export's default,
#: a listing with useRedirectedReadUrl): ten years, as a signed URL needs one
LONG_LIVED_S = 10 * 365 * 24 * 3600
#: the longest lifetime a signed URL gets, whatever was asked
MAX_EXPIRY_S = 100 * 365 * 24 * 3600


def within(path: Path | str, folder: Path | str) -> bool:
    """Whether ``path`` is ``folder`` or inside it, symlinks resolved."""
    real_path, real_folder = os.path.realpath(path), os.path.realpath(folder)
    return os.path.commonpath([real_path, real_folder]) == real_folder


def hidden(relative: str) -> bool:
    """Whether a path in a datasource folder is hidden: a part of it starts with ``.``
    (``.aws/credentials``, ``a/.b.jpg``), but the API's own ``.lightly/`` at its top. A
    folder served as a datasource may be a home folder: hidden files are neither
    listed, registered nor served."""
    parts = relative.split("/")
    if parts[0] == ".lightly":
        parts = parts[1:]
    return any(part.startswith(".") for part in parts)


def safe_key(*parts: str) -> str:
    """Join key parts; refuse absolute paths, ``..``, backslashes and empty parts."""
    joined = "/".join(parts)
    path = PurePosixPath(joined)
    if (
        not joined
        or "\\" in joined
        or "\x00" in joined
        or path.is_absolute()
        or any(p in ("", "..", ".") for p in joined.split("/"))
    ):
        raise ApiError(400, "BAD_REQUEST", f"invalid file name: {joined!r}")
    return joined


class BlobStore:
    """Blob files and their signed URLs."""

    def __init__(self, root: Path, signing_key: str) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self._key = signing_key.encode()

    def path(self, key: str) -> Path:
        return self.root / safe_key(key)

    def exists(self, key: str) -> bool:
        return self.path(key).is_file()

    def write(self, key: str, chunks: Iterable[bytes] | bytes) -> int:
        """Store bytes atomically (temp file + rename); returns the size."""
        target = self.path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".upload-")
        size = 0
        try:
            with os.fdopen(fd, "wb") as handle:
                for chunk in [chunks] if isinstance(chunks, bytes) else chunks:
                    handle.write(chunk)
                    size += len(chunk)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return size

    def read(self, key: str) -> bytes:
        return self.path(key).read_bytes()

    def delete_prefix(self, prefix: str) -> None:
        import shutil

        shutil.rmtree(self.root / safe_key(prefix), ignore_errors=True)

    # -- signing ------------------------------------------------------------------

    def _signature(self, method: str, key: str, expires: int) -> str:
        message = f"{method}\n{key}\n{expires}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()

    def signed_url(
        self, base_url: str, key: str, method: str = "GET", expires_in: int = DEFAULT_EXPIRY_S
    ) -> str:
        """An absolute URL that lets anyone ``method`` the blob until it expires."""
        key = safe_key(key)
        # an expiresIn of 10**18 would give an expiry verify cannot read: 100 years is as long
        expires = int(time.time()) + min(expires_in, MAX_EXPIRY_S)
        query = urlencode(
            {"method": method, "expires": expires, "sig": self._signature(method, key, expires)}
        )
        return f"{base_url.rstrip('/')}/blobs/{quote(key)}?{query}"

    def verify(self, key: str, method: str, expires: str | None, sig: str | None) -> None:
        """Raise 403 unless (method, key, expires) carries a valid, unexpired signature."""
        # str.isdigit() also accepts non-ASCII digits ("²") that int() refuses
        if not expires or not sig or not re.fullmatch(r"[0-9]{1,18}", expires):
            raise ApiError(403, "FORBIDDEN", "missing or malformed URL signature")
        expected = self._signature(method, key, int(expires))
        if not hmac.compare_digest(expected.encode(), sig.encode("utf-8", "replace")):
            raise ApiError(403, "FORBIDDEN", "invalid URL signature")
        if int(expires) < time.time():
            raise ApiError(403, "FORBIDDEN", "the signed URL has expired")

    def _public_signature(self, user_id: str, path: str) -> str:
        # its first line is never an HTTP method: no blob URL signs the same message
        message = f"publicToken\n{user_id}\n{path}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()

    def public_token(self, user_id: str, path: str) -> str:
        """A token, without expiry, that lets anyone GET the API ``path`` as ``user_id``."""
        return f"{user_id}.{self._public_signature(user_id, path)}"

    def verify_public_token(self, path: str, token: str) -> str:
        """The user a public token was issued to for ``path``; 403 if it was not."""
        user_id, _, sig = token.partition(".")
        expected = self._public_signature(user_id, path).encode()
        if not user_id or not hmac.compare_digest(expected, sig.encode("utf-8", "replace")):
            raise ApiError(403, "FORBIDDEN", f"invalid publicToken for {path}")
        return user_id
