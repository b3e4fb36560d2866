"""What a local worker run reads and writes in the dataset: datasource files, samples, tags, inputs.

* ``open_source``: the dataset's input datasource. LOCAL as a directory (listed
  recursively, hidden folders such as ``.lightly`` skipped, restricted to
  ``docker.relevantFilenamesFile`` when set) or as a file server URL (``http(s)://``:
  it cannot be listed, so the run reads the files of the dataset's samples). Cloud
  datasources fail the run: the local worker has no way to reach them.
* ``register_samples``: the readable images not yet in the dataset become samples
  (``fileName`` and the ``metaData`` that upload_dataset would send: size, shape,
  mean, std, snr, sharpness …, the statistics from the image as decoded for
  embedding, so of a reduced decode for large JPEGs); the first run creates the
  initial tag, later runs that add samples upsize the tags (as ``POST tags/upsize``).
  Unlike the real worker, which adds only the selected samples, every readable
  image is registered, so predictions and scores can be attached to any of them.
* ``gather``: the selection inputs over the readable samples, in sample order —
  embeddings (``docker.embeddings`` CSV in the datasource, else the newest uploaded
  embeddings CSV covering every sample, else the pixel embedding computed by the
  scan; rows scaled to unit length unless ``docker.normalizeEmbeddings`` is false, as
  the Lightly Worker's default), active-learning scores (``"<tag name>/<scoreType>"``), predictions (API
  documents, then ``.lightly/predictions/<task>/`` files of the datasource) and
  metadata (``customMetaData``, else the ``metadata`` of the datasource's
  ``.lightly/metadata/<file>.json`` when it has a ``schema.json`` there, plus the
  image metadata under ``lightly``).
"""

from __future__ import annotations

import json
import os
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import quote

import numpy as np

from runner.local import bitmask
from runner.local.app import get_blobs, get_config, get_store
from runner.local.blobs import hidden, within
from runner.local.errors import ApiError
from runner.local.routes.datasets import update_dataset
from runner.local.routes.datasources import active_datasource, local_root
from runner.local.routes.embeddings import csv_key
from runner.local.routes.samples import file_names, insert_sample
from runner.local.routes.tags import INITIAL_TAG, dataset_size, insert_tag, tags_of
from runner.local.worker import embeddings as emb
from runner.local.worker.selection import SelectionInputs

IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp"})
PREDICTIONS = ".lightly/predictions"
METADATA = ".lightly/metadata"
TASK_TYPES = {
    "classification": "CLASSIFICATION",
    "object-detection": "OBJECT_DETECTION",
    "semantic-segmentation": "SEMANTIC_SEGMENTATION",
    "instance-segmentation": "INSTANCE_SEGMENTATION",
    "keypoint-detection": "KEYPOINT_DETECTION",
}


class RunFailed(Exception):
    """The run cannot go on; the message becomes the run's message."""


# -- the datasource -----------------------------------------------------------------------------


class Source:
    """Files of a datasource: names of its images, and their bytes."""

    location = ""

    def image_names(self) -> list[str]:
        raise NotImplementedError

    def reader(self, name: str) -> bytes | Path:
        raise NotImplementedError

    def read_optional(self, relative: str) -> bytes | None:
        """A non-image file (predictions, CSV, lists), or None if it does not exist."""
        raise NotImplementedError


class DirectorySource(Source):
    """A folder; never the server's own data folder ``excluded`` (tokens, other users' blobs)."""

    def __init__(self, root: Path, relevant: str | None, excluded: Path) -> None:
        self.root, self.location, self.relevant = root, str(root), relevant
        self.excluded = os.path.realpath(excluded)

    def image_names(self) -> list[str]:
        names = []
        for folder, dirs, files in os.walk(self.root):
            if self._excluded(folder):
                dirs[:] = []
                continue
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            base = Path(folder).relative_to(self.root)
            names += [
                (base / f).as_posix()
                for f in files
                if _is_image(f)
                and not hidden(f)  # never served: a sample without its image
                and not self._leaves(os.path.join(folder, f))
            ]
        if self.relevant is not None:
            listed = self.read_optional(self.relevant)
            if listed is None:
                raise RunFailed(f"relevantFilenamesFile {self.relevant!r} is not in {self.root}")
            wanted = {line.strip() for line in listed.decode().splitlines() if line.strip()}
            names = [n for n in names if n in wanted]
        return sorted(names)

    def reader(self, name: str) -> Path:
        return self.root / name

    def read_optional(self, relative: str) -> bytes | None:
        path = os.path.realpath(self.root / PurePosixPath(relative))
        if not within(path, self.root) or self._excluded(path):  # "..", "/etc/…", symlinks
            return None
        return Path(path).read_bytes() if os.path.isfile(path) else None

    def _excluded(self, path: str) -> bool:
        return within(path, self.excluded)

    def _leaves(self, path: str) -> bool:
        """A symlink out of the datasource, or into the server's data folder."""
        return os.path.islink(path) and (not within(path, self.root) or self._excluded(path))


class UrlSource(Source):
    """A file server: files are fetched by URL; the names are those of the dataset's samples."""

    def __init__(self, base_url: str, names: list[str]) -> None:
        self.location, self.names = base_url.rstrip("/"), names

    def image_names(self) -> list[str]:
        return [n for n in self.names if _is_image(n)]

    def reader(self, name: str) -> bytes:
        with urllib.request.urlopen(f"{self.location}/{quote(name)}", timeout=30) as response:
            data: bytes = response.read()
            return data

    def read_optional(self, relative: str) -> bytes | None:
        try:
            return self.reader(relative)
        except OSError:
            return None


def _is_image(name: str) -> bool:
    return PurePosixPath(name).suffix.lower() in IMAGE_EXTENSIONS


def open_source(dataset_id: str, docker: dict[str, Any]) -> Source:
    """The dataset's input datasource, or RunFailed saying why the worker cannot read it."""
    config = next(
        (c for p in ("INPUT", "INPUT_OUTPUT", None) if (c := active_datasource(dataset_id, p))),
        None,
    )
    if config is None:
        raise RunFailed(
            "The dataset has no datasource: set a LOCAL one (set_local_config) for the local worker."
        )
    full_path = str(config["fullPath"])
    try:
        root = local_root(config)
    except ApiError as error:  # stored before a restart with other --local-root folders
        raise RunFailed(f"The LOCAL datasource cannot be read: {error.message}") from None
    if root is not None:
        if not root.is_dir():
            raise RunFailed(f"The LOCAL datasource {root} is not a directory.")
        return DirectorySource(root, docker.get("relevantFilenamesFile"), get_config().data_dir)
    if config["type"] == "LOCAL" and full_path.startswith(("http://", "https://")):
        names = file_names(get_store().db, dataset_id)
        if not names:
            raise RunFailed(
                f"The file server {full_path} cannot be listed: register samples first, "
                "or point the LOCAL datasource at a directory."
            )
        return UrlSource(full_path, names)
    raise RunFailed(
        f"The local worker cannot read {full_path} ({config['type']} datasource); "
        "use a LOCAL datasource or the real Lightly Worker."
    )


# -- samples and tags -------------------------------------------------------------------------------


def unregistered(dataset_id: str, names: list[str]) -> set[str]:
    """Which of ``names`` are not samples of the dataset yet."""
    return set(names) - set(file_names(get_store().db, dataset_id))


def register_samples(
    dataset_id: str, run_id: str, names: list[str], metadata: dict[str, dict[str, Any]]
) -> int:
    """Add the readable images that are not samples yet, with their SampleMetaData (from
    the scan); create or upsize the tags. Count added."""
    store = get_store()
    with store.transaction() as db:
        known = set(file_names(db, dataset_id))
        new = [n for n in names if n not in known]
        for name in new:
            insert_sample(db, dataset_id, {"fileName": name, "metaData": metadata[name]})
        size = dataset_size(db, dataset_id)
        tags = tags_of(dataset_id)
        initial = next((t for t in tags if t["prevTagId"] is None), None)
        if initial is None:
            insert_tag(db, dataset_id, name=INITIAL_TAG if not tags else f"initial-{run_id}",
                       prev_tag_id=None, mask=bitmask.full(size), extra={"runId": run_id})  # fmt: skip
            update_dataset(db, dataset_id, {"imgType": "full"})
        elif new:
            added = bitmask.difference(bitmask.full(size), bitmask.parse(initial["bitMaskData"]))
            for tag in tags:
                changes: dict[str, Any] = {
                    "totSize": size,
                    "lastModifiedAt": int(time.time() * 1000),
                }
                if tag is initial:
                    changes["bitMaskData"] = bitmask.to_hex(bitmask.full(size))
                store.update_doc_if("tag", tag["id"], where={}, changes=changes)
            name = _unique(tags, time.strftime("%Y%m%d_%Hh%Mm%Ss"))
            extra = {"runId": run_id}
            insert_tag(
                db, dataset_id, name=name, prev_tag_id=initial["id"], mask=added, extra=extra
            )
        return len(new)


def _unique(tags: list[dict[str, Any]], name: str) -> str:
    taken = {t["name"] for t in tags}
    candidate, n = name, 1
    while candidate in taken:
        n += 1
        candidate = f"{name}-{n}"
    return candidate


def create_selection_tag(dataset_id: str, run_id: str, selected: list[str]) -> dict[str, Any]:
    """The run's tag of ``selected`` (child of the initial tag, ``runId`` recorded)."""
    store = get_store()
    with store.transaction() as db:
        position = {name: i for i, name in enumerate(file_names(db, dataset_id))}
        tags = tags_of(dataset_id)
        initial = next(t for t in tags if t["prevTagId"] is None)
        name = _unique(tags, f"selected-{time.strftime('%Y%m%d-%H%M%S')}-{run_id[-6:]}")
        mask = bitmask.from_positions(sorted(position[n] for n in selected))
        return insert_tag(
            db, dataset_id, name=name, prev_tag_id=initial["id"], mask=mask, extra={"runId": run_id}
        )


# -- selection inputs -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Gathered:
    inputs: SelectionInputs
    embedding_source: str
    computed_embeddings: bool


def gather(
    dataset_id: str,
    scan: emb.ImageScan,
    source: Source,
    docker: dict[str, Any],
    predictions: PredictionData,
) -> Gathered:
    """The selection inputs over the dataset's samples that the scan could read, in sample order."""
    readable = set(scan.filenames)
    rows = get_store().db.execute(
        "SELECT data FROM samples WHERE dataset_id=? ORDER BY idx", (dataset_id,)
    )
    samples = [s for s in (json.loads(r["data"]) for r in rows) if s["fileName"] in readable]
    names = [s["fileName"] for s in samples]
    vectors, description, computed = _embeddings(dataset_id, names, scan, source, docker)
    files = _file_metadata(
        source, [n for s, n in zip(samples, names, strict=True) if not s.get("customMetaData")]
    )
    metadata = [
        {**(s.get("customMetaData") or files.get(n) or {}), "lightly": s.get("metaData") or {}}
        for s, n in zip(samples, names, strict=True)
    ]
    inputs = SelectionInputs(
        filenames=names,
        embeddings=vectors,
        scores=_scores(dataset_id, names),
        predictions={t: [p.get(n) for n in names] for t, p in predictions.by_task.items()},
        metadata=metadata,
        category_names=predictions.categories,
    )
    return Gathered(inputs, description, computed)


def _file_metadata(source: Source, names: list[str]) -> dict[str, dict[str, Any]]:
    """The ``metadata`` object of each of ``names``' ``.lightly/metadata/<file>.json``
    (Lightly Worker format), when the datasource has a ``schema.json`` there."""
    if not names or source.read_optional(f"{METADATA}/schema.json") is None:
        return {}
    found: dict[str, dict[str, Any]] = {}
    for name in names:
        relative = f"{METADATA}/{PurePosixPath(name).with_suffix('')}.json"
        data = _json_file(source, relative)
        if data is None:
            continue
        values = data.get("metadata") if isinstance(data, dict) else None
        if not isinstance(values, dict):
            raise RunFailed(f"{relative} must be a JSON object with a 'metadata' object")
        found[name] = values
    return found


def _embeddings(
    dataset_id: str, names: list[str], scan: emb.ImageScan, source: Source, docker: dict[str, Any]
) -> tuple[np.ndarray, str, bool]:
    """The embeddings of ``names``, their description, whether the scan computed them;
    rows of unit length unless ``docker.normalizeEmbeddings`` is false (default true)."""
    matrix, description, computed = _raw_embeddings(dataset_id, names, scan, source, docker)
    if docker.get("normalizeEmbeddings", True) is False:
        return matrix, description, computed
    return emb.normalize_rows(matrix), f"{description}, normalised to unit length", computed


def _raw_embeddings(
    dataset_id: str, names: list[str], scan: emb.ImageScan, source: Source, docker: dict[str, Any]
) -> tuple[np.ndarray, str, bool]:
    path = docker.get("embeddings")
    if path:
        raw = source.read_optional(path)
        if raw is None:
            raise RunFailed(f"docker.embeddings: {path!r} is not in the datasource")
        try:
            return (
                emb.read_embeddings_csv(raw, names)[1],
                f"embeddings CSV {path} of the datasource",
                False,
            )
        except emb.EmbeddingsCsvError as error:
            raise RunFailed(f"docker.embeddings {path!r}: {error}") from None
    blobs = get_blobs()
    for doc in get_store().list_docs("embedding", dataset_id=dataset_id, newest_first=True):
        key = csv_key(dataset_id, doc["id"])
        if doc.get("is2d") or not blobs.exists(key):
            continue
        try:
            matrix = emb.read_embeddings_csv(blobs.read(key), names)[1]
        except emb.EmbeddingsCsvError:
            continue  # does not cover every sample: an older upload may
        return matrix, f"embeddings {doc['name']!r} uploaded to the dataset", False
    position = {name: i for i, name in enumerate(scan.filenames)}
    return scan.embeddings[[position[n] for n in names]], emb.EMBEDDING_DESCRIPTION, True


def _scores(dataset_id: str, names: list[str]) -> dict[str, np.ndarray]:
    """Uploaded active-learning scores as ``"<tag name>/<scoreType>"``, NaN where a sample has none."""
    store = get_store()
    everyone = file_names(store.db, dataset_id)
    index = {name: i for i, name in enumerate(names)}
    scores: dict[str, np.ndarray] = {}
    for doc in store.list_docs("al_score", dataset_id=dataset_id):  # newer uploads win
        tag = store.get_doc("tag", doc["tagId"])
        if tag is None:
            continue  # the tag was deleted
        positions = bitmask.positions(bitmask.parse(tag["bitMaskData"])).tolist()
        if len(positions) != len(doc["scores"]):
            continue
        values = np.full(len(names), np.nan)
        for position, score in zip(positions, doc["scores"], strict=True):
            if position < len(everyone) and everyone[position] in index:
                values[index[everyone[position]]] = float(score)
        scores[f"{tag['name']}/{doc['scoreType']}"] = values
    return scores


Predictions = dict[str, dict[str, list[dict[str, Any]]]]


@dataclass(frozen=True)
class PredictionData:
    """Per task, the singletons of each file name; per task, category id -> name."""

    by_task: Predictions
    categories: dict[str, dict[int, str]]


def load_predictions(dataset_id: str, source: Source, names: list[str]) -> PredictionData:
    """Predictions of the dataset (newest predictionUUIDTimestamp), then of the datasource's files.

    A sample's prediction at version T holds all its objects at T: a task of T (a schema
    or singletons at T) without singletons in it gets an empty list, 0 objects.
    """
    store = get_store()
    newest: dict[str, tuple[int, list[dict[str, Any]]]] = {}
    for doc in store.list_docs("prediction", dataset_id=dataset_id):
        known = newest.get(doc["sampleId"])
        if known is None or doc["predictionUUIDTimestamp"] >= known[0]:
            newest[doc["sampleId"]] = (doc["predictionUUIDTimestamp"], doc["singletons"])
    rows = store.db.execute("SELECT id, file_name FROM samples WHERE dataset_id=?", (dataset_id,))
    name_of = {r["id"]: r["file_name"] for r in rows}
    schemas = store.list_docs("prediction_task", dataset_id=dataset_id)
    tasks_at: dict[int, set[str]] = {}
    for schema in schemas:
        tasks_at.setdefault(schema["predictionUUIDTimestamp"], set()).add(schema["name"])
    for version, singletons in newest.values():
        tasks_at.setdefault(version, set()).update(s["taskName"] for s in singletons)
    tasks: Predictions = {}
    for sample_id, (version, singletons) in newest.items():
        name = name_of.get(sample_id, "")
        for task in sorted(tasks_at[version]):
            tasks.setdefault(task, {})[name] = []
        for singleton in singletons:
            tasks[singleton["taskName"]][name].append(singleton)
    categories: dict[str, dict[int, str]] = {}
    for schema in schemas:
        categories[schema["name"]] = _category_names(schema["categories"])
    _file_predictions(source, names, tasks, categories)
    return PredictionData(tasks, categories)


def _json_file(source: Source, relative: str) -> Any:
    raw = source.read_optional(relative)
    if raw is None:
        return None
    try:
        return json.loads(raw)
    except ValueError as error:
        raise RunFailed(f"{relative} in the datasource is not valid JSON: {error}") from None


def _category_names(categories: list[dict[str, Any]]) -> dict[int, str]:
    """Category id → name of a task schema from the API, where both are optional: a
    category without an id cannot be referred to, one without a name is named by its id."""
    return {int(c["id"]): str(c.get("name", c["id"])) for c in categories if "id" in c}


def _file_predictions(
    source: Source, names: list[str], tasks: Predictions, categories: dict[str, dict[int, str]]
) -> None:
    """Add the datasource's ``.lightly/predictions`` (Lightly Worker format) where the API had none."""
    task_names = _json_file(source, f"{PREDICTIONS}/tasks.json") or []
    if not isinstance(task_names, list) or not all(isinstance(t, str) for t in task_names):
        raise RunFailed(f"{PREDICTIONS}/tasks.json must be a JSON list of task names")
    for task in task_names:
        schema = _json_file(source, f"{PREDICTIONS}/{task}/schema.json") or {}
        try:
            kind = TASK_TYPES.get(str(schema.get("task_type")), "CLASSIFICATION")
            for c in schema.get("categories", []):
                categories.setdefault(task, {}).setdefault(int(c["id"]), str(c["name"]))
        except (AttributeError, KeyError, TypeError, ValueError) as error:
            raise RunFailed(f"{PREDICTIONS}/{task}/schema.json: malformed ({error!r})") from None
        per_name = tasks.setdefault(task, {})
        for name in names:
            relative = f"{PREDICTIONS}/{task}/{PurePosixPath(name).with_suffix('')}.json"
            data = None if name in per_name else _json_file(source, relative)
            if isinstance(data, dict):
                try:
                    per_name[name] = [
                        _singleton(task, kind, p) for p in data.get("predictions", [])
                    ]
                except (KeyError, TypeError, ValueError) as error:
                    raise RunFailed(f"{relative}: malformed prediction ({error!r})") from None


def _singleton(task: str, kind: str, prediction: dict[str, Any]) -> dict[str, Any]:
    probabilities = prediction.get("probabilities")
    score = prediction.get("score", max(probabilities) if probabilities else 1.0)
    singleton = {"type": kind, "taskName": task, "categoryId": int(prediction["category_id"])}
    singleton["score"] = float(score)
    if probabilities:
        singleton["probabilities"] = [float(p) for p in probabilities]
    return singleton
