"""Datasources: stored configs, permissions, processed-until time, and LOCAL listings.

One config per purpose (documents of kind ``datasource``); PUT replaces the config
of its purpose, GET without ``purpose`` answers the most recently set one, and
before any PUT the answer is 404 ``DATASET_DATASOURCE_UNKNOWN`` (CONTRACT §10.9).
Configs are stored exactly as their wire variant (common fields + the variant's
own fields), so GET returns them unchanged.

A LOCAL datasource is a directory (a path or a ``file://`` URL) on this machine:
it is verified by probing it, listed recursively, and its files are served by
signed blob URLs with keys ``local/<datasetId>/<relpath>``, resolved against the
directory at request time. Cloud datasources (S3, GCS, Azure, OBS) are stored and
answered, but the local server cannot reach them: their permissions are emulated
(all true) and listing them fails with a clear 400.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from flask import Blueprint, Response, jsonify, redirect
from flask.typing import ResponseReturnValue

from runner.local.access import dataset_owner, require_dataset
from runner.local.app import current_user, get_blobs, get_config, get_store
from runner.local.blobs import LONG_LIVED_S, hidden, within
from runner.local.errors import ApiError, bad_request
from runner.local.routes import _listing
from runner.local.routes._datasource_configs import PURPOSES, validate_config
from runner.local.routes._input import base_url, field, json_body, no_content, query_str
from runner.local.routes._sample_fields import check_file_name
from runner.local.routes.blobs import register_root
from runner.local.routes.datasets import update_dataset

bp = Blueprint("datasources", __name__)

D = "/v1/datasets/<dataset_id>/datasource"
CLOUD_TYPES = ("S3", "S3DelegatedAccess", "GCS", "AZURE", "OBS")


# -- configs ------------------------------------------------------------------------------


def active_datasource(dataset_id: str, purpose: str | None = None) -> dict[str, Any] | None:
    """The config of ``purpose``, or the most recently set one; None if there is none."""
    for config in get_store().list_docs("datasource", dataset_id=dataset_id, newest_first=True):
        if purpose is None or config["purpose"] == purpose:
            return config
    return None


def _require_config(dataset_id: str, purpose: str | None = None) -> dict[str, Any]:
    config = active_datasource(dataset_id, purpose)
    if config is None:
        raise ApiError(
            404,
            "DATASET_DATASOURCE_UNKNOWN",
            f"dataset {dataset_id} has no datasource"
            + (f" for purpose {purpose}" if purpose else ""),
        )
    return config


def local_root(config: dict[str, Any]) -> Path | None:
    """The directory of a LOCAL config (path or file:// URL); None for other types and
    for a file server URL (``http(s)://``).

    400 ``DATASET_DATASOURCE_INVALID`` if the path cannot name a directory here (an
    unknown ``~user``, a NUL byte), so that neither PUT nor a read of a config stored
    before this check fails with a 500, or if this server does not serve it (its own
    data folder, a folder outside ``local_roots``, or a file server URL on a server
    with ``local_roots``: one shared by a team).
    """
    full_path = config["fullPath"]
    if config["type"] == "LOCAL" and full_path.startswith(("http://", "https://")):
        if get_config().local_roots:
            # the worker would fetch the URL for any user: internal services included,
            # and its errors would show what they answered
            raise bad_request(
                f"the LOCAL datasource {full_path!r} is a file server URL: this server "
                "reads LOCAL datasources only from its folders (lightly-run serve "
                "--local-root DIR); a file server is read by `lightly-run --local` alone",
                "DATASET_DATASOURCE_INVALID",
            )
        return None
    path = _local_path(config)
    if path is None:
        return None
    if within(path, get_config().data_dir):
        raise bad_request(
            f"the LOCAL datasource path {full_path!r} is in the local server's own data "
            "folder, which it never serves",
            "DATASET_DATASOURCE_INVALID",
        )
    roots = get_config().local_roots
    if roots and not any(within(path, root) for root in roots):
        # the server reads and serves a LOCAL folder itself: a user's datasource at / would
        # serve every file this process can read, other users' tokens included
        shown = ", ".join(str(root) for root in roots)
        raise bad_request(
            f"the LOCAL datasource path {full_path!r} is outside the folders this server "
            f"serves LOCAL datasources from ({shown}; lightly-run serve --local-root DIR)",
            "DATASET_DATASOURCE_INVALID",
        )
    return path


def _local_path(config: dict[str, Any]) -> Path | None:
    """``local_root`` without asking whether this server serves the folder (no file
    system calls): enough to name a blob, whose route asks when it is read."""
    if config["type"] != "LOCAL":
        return None
    full_path = config["fullPath"]
    if "://" in full_path and not full_path.startswith("file://"):
        return None
    try:
        if full_path.startswith("file://"):
            path = Path(unquote(urlparse(full_path).path))
        else:
            path = Path(full_path).expanduser()
        if "\x00" in str(path):
            raise ValueError("it contains a NUL byte")
    except (RuntimeError, ValueError) as error:  # RuntimeError: expanduser of an unknown ~user
        raise bad_request(
            f"the LOCAL datasource path {full_path!r} cannot be used: {error}",
            "DATASET_DATASOURCE_INVALID",
        ) from None
    return path


def local_file_key(dataset_id: str, relative: str) -> str | None:
    """Blob key serving ``relative`` from the dataset's LOCAL datasource, if it has one
    (an export asks this for every sample)."""
    config = active_datasource(dataset_id)
    if config is None or _local_path(config) is None:
        return None
    return f"local/{dataset_id}/{relative}"


def _resolve_local(key: str) -> tuple[Path, str]:
    _, dataset_id, relative = key.split("/", 2)
    if hidden(relative):
        raise ApiError(403, "FORBIDDEN", "hidden files of a LOCAL datasource are not served")
    config = active_datasource(dataset_id)
    root = None if config is None else local_root(config)
    if root is None:
        raise ApiError(404, "NOT_FOUND", f"dataset {dataset_id} has no LOCAL datasource")
    return root, relative


register_root("local/", _resolve_local)


@bp.get(D)
def get_datasource(dataset_id: str) -> Response:
    require_dataset(dataset_id)
    purpose = query_str("purpose")
    if purpose is not None and purpose not in PURPOSES:
        raise bad_request(f"purpose must be one of {', '.join(PURPOSES)}")
    return jsonify(_shown(dataset_id, _require_config(dataset_id, purpose)))


#: the credentials of cloud datasource configs (MODELS.md)
_CREDENTIALS = (
    "s3SecretAccessKey",
    "s3ExternalId",  # the shared secret of a delegated-access role
    "gcsCredentials",
    "accountKey",
    "obsSecretAccessKey",
)


def _shown(dataset_id: str, config: dict[str, Any]) -> dict[str, Any]:
    """``config`` as the caller may see it: a user the dataset is shared with gets its
    credentials as ``***`` (they may use the datasource, not take its keys away)."""
    if dataset_owner(dataset_id) == current_user().user_id:
        return config
    return {k: "***" if k in _CREDENTIALS and v else v for k, v in config.items()}


@bp.put(D)
def put_datasource(dataset_id: str) -> Response:
    """Replace the config of the body's purpose."""
    require_dataset(dataset_id)  # first: the path check names the served folders
    config = validate_config(json_body())
    local_root(config)
    store = get_store()
    with store.transaction() as db:
        require_dataset(dataset_id)
        previous = active_datasource(dataset_id, config["purpose"])
        if previous is not None:
            config["id"] = previous["id"]
            store.delete_doc("datasource", previous["id"])
        store.put_doc("datasource", config, dataset_id=dataset_id)
        ids = [c["id"] for c in store.list_docs("datasource", dataset_id=dataset_id)]
        update_dataset(db, dataset_id, {"datasources": ids})
    return no_content()


@bp.get(f"{D}/all")
def all_datasources(dataset_id: str) -> Response:
    require_dataset(dataset_id)
    configs = get_store().list_docs("datasource", dataset_id=dataset_id)
    return jsonify([_shown(dataset_id, config) for config in configs])


@bp.get(f"{D}/verify")
def verify(dataset_id: str) -> Response:
    """LOCAL: probe the directory; cloud: emulated, every permission granted."""
    require_dataset(dataset_id)
    config = _require_config(dataset_id, query_str("purpose"))
    root = local_root(config)
    if root is None:
        return jsonify({"canRead": True, "canWrite": True, "canList": True, "canOverwrite": True})
    return jsonify(_probe(root))


def _probe(root: Path) -> dict[str, Any]:
    is_dir = root.is_dir()
    read = is_dir and os.access(root, os.R_OK | os.X_OK)
    write = is_dir and os.access(root, os.W_OK | os.X_OK)
    result: dict[str, Any] = {
        "canRead": read,
        "canWrite": write,
        "canList": read,
        "canOverwrite": write,
    }
    missing = f"{root} is not a directory" if not is_dir else None
    errors = {
        key: missing or f"{root} is not {word} by the server"
        for key, word in (
            ("canRead", "readable"),
            ("canList", "listable"),
            ("canWrite", "writable"),
            ("canOverwrite", "writable"),
        )
        if not result[key]
    }
    if errors:
        result["errors"] = errors
    return result


@bp.get(f"{D}/processedUntilTimestamp")
def get_processed_until(dataset_id: str) -> Response:
    data = require_dataset(dataset_id)
    return jsonify({"processedUntilTimestamp": data.get("datasourceProcessedUntilTimestamp", 0)})


@bp.put(f"{D}/processedUntilTimestamp")
def put_processed_until(dataset_id: str) -> Response:
    """Seconds (CONTRACT §10.8), mirrored into DatasetData.datasourceProcessedUntilTimestamp."""
    body = json_body()
    value = field(body, "processedUntilTimestamp", "int", required=True, minimum=0)
    with get_store().transaction() as db:
        require_dataset(dataset_id)
        update_dataset(db, dataset_id, {"datasourceProcessedUntilTimestamp": value})
    return no_content()


# -- listings and file URLs -----------------------------------------------------------------


def _listing_root(dataset_id: str) -> Path:
    config = _require_config(dataset_id)
    root = local_root(config)
    if root is None:
        raise bad_request(
            f"the local server cannot reach the {config['type']} datasource "
            f"{config['fullPath']!r}: "
            "it only lists LOCAL datasources (a directory on this machine)",
            "DATASET_DATASOURCE_ACTION_NOT_IMPLEMENTED",
        )
    if not root.is_dir():
        raise bad_request(
            f"the LOCAL datasource {root} is not a directory", "DATASET_DATASOURCE_INVALID"
        )
    return root


def _signed(
    dataset_id: str, relative: str, *, long_lived: bool = False, method: str = "GET"
) -> str:
    key = f"local/{dataset_id}/{check_file_name(relative)}"
    blobs = get_blobs()
    if long_lived:  # useRedirectedReadUrl=True asks for links that do not expire
        return blobs.signed_url(base_url(), key, method=method, expires_in=LONG_LIVED_S)
    return blobs.signed_url(base_url(), key, method=method)


def _list(dataset_id: str, kind: str, prefix: str = "") -> Response:
    require_dataset(dataset_id)
    root = _listing_root(dataset_id)
    page = _listing.list_page(root, kind=kind, prefix=prefix)
    long_lived = page.redirected
    rows = [
        {"fileName": name, "readUrl": _signed(dataset_id, name, long_lived=long_lived)}
        for name in page.names
    ]
    return jsonify({"hasMore": page.has_more, "cursor": page.cursor, "data": rows})


@bp.get(f"{D}/list")
def list_samples(dataset_id: str) -> Response:
    return _list(dataset_id, "samples")


@bp.get(f"{D}/predictions/list")
def list_predictions(dataset_id: str) -> Response:
    task = query_str("taskName", required=True) or ""
    check_file_name(task, "taskName")
    return _list(dataset_id, "files", f".lightly/predictions/{task}/")


@bp.get(f"{D}/metadata/list")
def list_metadata(dataset_id: str) -> Response:
    return _list(dataset_id, "files", ".lightly/metadata/")


def _file_url(dataset_id: str, folder: str, min_len: int, method: str = "GET") -> Response:
    require_dataset(dataset_id)
    name = query_str("fileName", required=True, min_len=min_len) or ""
    config = _require_config(dataset_id)
    if local_root(config) is None:
        raise bad_request(
            f"the local server cannot sign URLs for the {config['type']} datasource; "
            "only LOCAL datasources are served",
            "DATASET_DATASOURCE_ACTION_NOT_IMPLEMENTED",
        )
    return jsonify(_signed(dataset_id, f".lightly/{folder}/{check_file_name(name)}", method=method))


@bp.get(f"{D}/predictions/file")
def prediction_file(dataset_id: str) -> Response:
    return _file_url(dataset_id, "predictions", 4)


@bp.get(f"{D}/metadata/file")
def metadata_file(dataset_id: str) -> Response:
    return _file_url(dataset_id, "metadata", 5)


@bp.get(f"{D}/embeddings/file")
def embeddings_file(dataset_id: str) -> Response:
    return _file_url(dataset_id, "embeddings", 4)


@bp.get(f"{D}/predictions/writeUrl")
def prediction_write_url(dataset_id: str) -> Response:
    return _file_url(dataset_id, "predictions", 4, method="PUT")


@bp.get(f"{D}/readurlRedirect")
def read_redirect(dataset_id: str) -> ResponseReturnValue:
    require_dataset(dataset_id)
    path = query_str("path", required=True) or ""
    _listing_root(dataset_id)
    return redirect(_signed(dataset_id, check_file_name(path, "path")), code=302)
