"""Embeddings of the current dataset: listing, CSV download, append and upload (CONTRACT §3.3, §8.3)."""

from __future__ import annotations

import csv
import io
import itertools
import math
import operator
import re
import time
from pathlib import Path

from runner.client._base import _ClientBase
from runner.client.errors import EmbeddingDoesNotExistError
from runner.client.models import WireModel, wire

_EMBEDDING_COLUMN = re.compile(r"embedding_\d+")
_KEEP_COLUMNS = (re.compile(r"^filenames"), re.compile(r"^embedding_\d+"), re.compile(r"^labels"))
_SPECIAL_COLUMNS = ("masked", "selected")
_REDUCTIONS = ("PCA", "TSNE", "UMAP")
#: Signed CSV downloads: (connect, read) seconds, as the official client's 10 s.
_CSV_TIMEOUT = (10.0, 10.0)

Rows = list[list[str]]


class _EmbeddingsMixin(_ClientBase):
    """Embeddings: list, find, download, append and upload CSV files."""

    def get_all_embedding_data(self) -> list[WireModel]:
        """Returns the embeddings of the current dataset, newest first.

        Returns:
            The embeddings (DatasetEmbeddingData).
        """
        return [wire(e) for e in self._http.get(self._dataset_path("/embeddings"), expect=list)]

    def get_embedding_data_by_name(self, name: str) -> WireModel:
        """Returns the embedding of the current dataset with exactly this name.

        Args:
            name: Name of the embedding.

        Returns:
            The embedding (DatasetEmbeddingData); the newest if several have the name.

        Raises:
            ValueError: If no embedding has this name.
        """
        for embedding in self.get_all_embedding_data():
            if embedding["name"] == name:
                return embedding
        raise ValueError(f"There are no embeddings with name {name!r} in the dataset.")

    def set_embedding_id_to_latest(self) -> None:
        """Sets ``embedding_id`` to the newest embedding of the current dataset.

        Raises:
            RuntimeError: If the dataset has no embeddings.
        """
        embeddings = self.get_all_embedding_data()
        if not embeddings:
            raise RuntimeError(f"There are no known embeddings for dataset_id {self.dataset_id}.")
        self.embedding_id = str(embeddings[0]["id"])

    def get_embedding_by_name(self, name: str, ignore_suffix: bool = True) -> WireModel:
        """Gets an embedding of the current dataset by name.

        Args:
            name: Name of the embedding.
            ignore_suffix: Also match server names that only start with ``name``
                (such as ``default_20240101_10h00m00s`` for ``default``).

        Returns:
            The embedding (DatasetEmbeddingData), the newest match first.

        Raises:
            EmbeddingDoesNotExistError: If no embedding matches.
        """
        for embedding in self.get_all_embedding_data():
            server_name = str(embedding["name"])
            if server_name == name or (ignore_suffix and server_name.startswith(name)):
                return embedding
        raise EmbeddingDoesNotExistError(
            f"Embedding with the name {name!r} does not exist on the server."
        )

    def download_embeddings_csv_by_id(self, embedding_id: str, output_path: str) -> None:
        """Downloads the CSV file of an embedding to ``output_path``.

        The file appears only when complete; parent folders are created.

        Args:
            embedding_id: Id of the embedding.
            output_path: Where to write the CSV file.

        Raises:
            NotFound: If the embedding does not exist.
        """
        url = self._http.get(self._dataset_path("/embeddings/{}/readCSVUrl", embedding_id))
        self._http.download(str(url), output_path, timeout=_CSV_TIMEOUT)

    def download_embeddings_csv(self, output_path: str) -> None:
        """Downloads the newest embedding whose name starts with ``default`` as CSV.

        Args:
            output_path: Where to write the CSV file.

        Raises:
            RuntimeError: If the dataset has no such embedding.
        """
        defaults = [
            e for e in self.get_all_embedding_data() if str(e["name"]).startswith("default")
        ]
        if not defaults:
            raise RuntimeError(f"Could not find embeddings for dataset with id {self.dataset_id}.")
        newest = max(defaults, key=lambda e: int(e.get("createdAt") or 0))
        self.download_embeddings_csv_by_id(str(newest["id"]), output_path)

    def append_embeddings(self, path_to_embeddings_csv: str, embedding_id: str) -> None:
        """Merges the rows of an embedding on the server into a local embeddings CSV file.

        The local file is overwritten with: the server's header, then each server row
        (replaced by the local row of the same file name, if any), then the other
        local rows in their order.

        Args:
            path_to_embeddings_csv: The local embeddings CSV file.
            embedding_id: Id of the embedding on the server.

        Raises:
            RuntimeError: If the local and the server file have different columns counts.
        """
        url = self._http.get(self._dataset_path("/embeddings/{}/readCSVUrl", embedding_id))
        remote = _parse_csv(self._http.get_signed(str(url), timeout=_CSV_TIMEOUT).decode())
        local = _read_csv(path_to_embeddings_csv)
        if not remote:
            return
        if not local or len(local[0]) != len(remote[0]):
            raise RuntimeError(
                f"Column mismatch: the local embeddings have {len(local[0]) if local else 0} "
                f"columns, the embeddings on the server {len(remote[0])}."
            )
        _write_csv(path_to_embeddings_csv, merge_rows(remote, local))

    def upload_embeddings(self, path_to_embeddings_csv: str, name: str) -> None:
        """Uploads an embeddings CSV file to the current dataset and sets ``embedding_id``.

        The file is checked and pruned in place to its ``filenames``,
        ``embedding_<n>`` and ``labels`` columns. If an embedding whose name starts
        with ``name`` exists, its rows are appended first and the upload is named
        ``<name>_<YYYYmmdd_HHhMMmSSs>``. Rows are uploaded in the dataset's sample order.

        Args:
            path_to_embeddings_csv: The CSV file: ``filenames``, ``embedding_0`` …, ``labels``.
            name: Name of the embedding.

        Raises:
            RuntimeError: If the CSV file is malformed.
            ValueError: If a file name contains a comma, or the file names of the
                rows differ from the dataset's.
        """
        check_and_prune_embeddings_csv(path_to_embeddings_csv)
        try:
            existing = self.get_embedding_by_name(name, ignore_suffix=True)
        except EmbeddingDoesNotExistError:
            pass
        else:
            self.append_embeddings(path_to_embeddings_csv, str(existing["id"]))
            name = f"{name}_{time.strftime('%Y%m%d_%Hh%Mm%Ss')}"
        header, *rows = _read_csv(path_to_embeddings_csv)
        filenames: list[str] = self.get_filenames()  # type: ignore[attr-defined]
        ordered = order_rows(rows, filenames)
        target = self._http.get(
            self._dataset_path("/embeddings/writeCSVUrl"), params={"name": name}
        )
        self.embedding_id = str(target["embeddingId"])
        data = _csv_bytes([header, *ordered])
        self.upload_file_with_signed_url(data, str(target["signedWriteUrl"]))  # type: ignore[attr-defined]
        path = self._dataset_path("/embeddings/{}/trigger2dEmbeddingsJob", self.embedding_id)
        for method in _REDUCTIONS:
            self._http.post(path, json={"dimensionalityReductionMethod": method})


def check_and_prune_embeddings_csv(path: str | Path) -> None:
    """Check an embeddings CSV file (CONTRACT §3.3) and keep only its upload columns.

    Raises:
        RuntimeError: If the header or a row is malformed.
    """
    rows = _read_csv(path)
    header = rows[0] if rows else []
    if any(column != column.strip() for column in header):
        raise RuntimeError("Embeddings csv file must not contain whitespaces in the header.")
    if not header or header[0] != "filenames":
        first = header[0] if header else "nothing"
        raise RuntimeError(f"Embeddings csv file must start with `filenames`, not {first!r}.")
    if "labels" not in header:
        raise RuntimeError("Embeddings csv file has no `labels` column.")
    for column in header[1 : header.index("labels")]:
        if not _EMBEDDING_COLUMN.match(column) and column not in _SPECIAL_COLUMNS:
            raise RuntimeError(
                f"Embeddings csv file must have `embedding_x` columns but found {column!r}."
            )
    for line, row in enumerate(rows[1:], start=2):
        if not row:
            raise RuntimeError(f"Embeddings csv file must not have empty rows (line {line}).")
        if len(row) != len(header):
            raise RuntimeError(
                f"Embeddings csv file: line {line} has {len(row)} values, the header {len(header)}."
            )
    _check_numbers(header, rows[1:])
    keep = [i for i, column in enumerate(header) if any(p.match(column) for p in _KEEP_COLUMNS)]
    _write_csv(path, [[row[i] for i in keep] for row in rows])


def _check_numbers(header: list[str], rows: Rows) -> None:
    """Raise RuntimeError unless every ``embedding_<n>`` value is a finite number: the
    server stores any text, and each later selection on it fails.

    The values are summed in C (``sum(map(float, …))``): NaN and infinity carry through a
    sum, so only a sum that is not finite needs the slow search for the culprit.
    """
    columns = [i for i, column in enumerate(header) if _EMBEDDING_COLUMN.match(column)]
    if not rows or not columns:
        return
    # columns[0] twice: itemgetter of one index gives a value, not a tuple of one
    values = itertools.chain.from_iterable(map(operator.itemgetter(*columns, columns[0]), rows))
    try:
        if math.isfinite(sum(map(float, values))):
            return
    except ValueError:
        pass
    for line, row in enumerate(rows, start=2):  # find the first culprit, to name it
        for i in columns:
            try:
                if math.isfinite(float(row[i])):
                    continue
            except ValueError:
                pass
            raise RuntimeError(
                f"Embeddings csv file: line {line} has {row[i]!r} in {header[i]}, "
                "not a finite number."
            )


def order_rows(rows: Rows, filenames: list[str]) -> Rows:
    """The rows (file name first) in the order of ``filenames`` (the server's sample order).

    Raises:
        ValueError: If a file name has a comma or the rows' names differ from ``filenames``.
    """
    with_comma = [row[0] for row in rows if "," in row[0]]
    if with_comma:
        raise ValueError(f"File names must not contain commas: {with_comma[:3]}")
    by_name = {row[0]: row for row in rows}
    if len(rows) != len(filenames) or by_name.keys() != set(filenames):
        missing = sorted(set(filenames) - by_name.keys())[:3]
        unknown = sorted(by_name.keys() - set(filenames))[:3]
        raise ValueError(
            f"The embeddings file has {len(rows)} rows but the dataset has {len(filenames)} "
            f"samples; the file names must be the same (missing e.g. {missing}, not in the "
            f"dataset e.g. {unknown})."
        )
    return [by_name[name] for name in filenames]


def merge_rows(remote: Rows, local: Rows) -> Rows:
    """Server header and rows, a local row replacing the server row of its file, then new rows."""
    local_by_name = {row[0]: row for row in local[1:]}
    merged = [remote[0]]
    seen: set[str] = set()
    for row in remote[1:]:
        merged.append(local_by_name.get(row[0], row))
        seen.add(row[0])
    merged.extend(row for row in local[1:] if row[0] not in seen)
    return merged


def _parse_csv(text: str) -> Rows:
    return list(csv.reader(io.StringIO(text, newline="")))


def _read_csv(path: str | Path) -> Rows:
    """The rows of a local CSV file.

    Raises:
        ValueError: If the file is not UTF-8 text (csv.Error is a ValueError too).
    """
    try:
        with open(path, newline="", encoding="utf-8") as file:
            return list(csv.reader(file))
    except UnicodeDecodeError as error:
        raise ValueError(f"{path} is not a UTF-8 text (CSV) file: {error}") from None


def _csv_bytes(rows: Rows) -> bytes:
    buffer = io.StringIO(newline="")
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue().encode("utf-8")


def _write_csv(path: str | Path, rows: Rows) -> None:
    Path(path).write_bytes(_csv_bytes(rows))
