"""Embeddings: uploading, appending and downloading embedding CSVs (CONTRACT §3.3, §8.3)."""

from __future__ import annotations

import csv
import io
import re
import time
from pathlib import Path

from runner.client._base import _ClientBase
from runner.client.errors import EmbeddingDoesNotExistError
from runner.client.models import WireModel, wire

_EMBEDDING_COLUMN = re.compile(r"^embedding_\d+$")
_KEEP = re.compile(r"^(filenames|embedding_\d+|labels)")


def check_and_prune_csv(path: Path) -> list[list[str]]:
    """Validate a local embeddings CSV, rewrite it with only the wire columns, return its rows.

    Raises:
        RuntimeError: If the header or a row is malformed.
    """
    with path.open(newline="") as handle:
        rows = list(csv.reader(handle))
    if not rows:
        raise RuntimeError(f"{path} is empty")
    header = rows[0]
    if any(name != name.strip() for name in header):
        raise RuntimeError(f"{path}: header names must not have surrounding whitespace")
    if header[0] != "filenames":
        raise RuntimeError(f"{path}: the first column must be 'filenames', not {header[0]!r}")
    if "labels" not in header:
        raise RuntimeError(f"{path}: a 'labels' column is missing")
    for name in header[1 : header.index("labels")]:
        if not (_EMBEDDING_COLUMN.match(name) or name in ("masked", "selected")):
            raise RuntimeError(f"{path}: unexpected column {name!r}")
    if any(not row for row in rows[1:]):
        raise RuntimeError(f"{path}: the file has empty rows")
    keep = [i for i, name in enumerate(header) if _KEEP.match(name)]
    pruned = [[row[i] for i in keep] for row in rows]
    _write_rows(path, pruned)
    return pruned


def _write_rows(path: Path, rows: list[list[str]]) -> None:
    with path.open("w", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerows(rows)


def _csv_bytes(rows: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue().encode("utf-8")


class _EmbeddingsMixin(_ClientBase):
    """Embeddings of the current dataset."""

    def get_all_embedding_data(self) -> list[WireModel]:
        """Lists the embeddings of the current dataset, newest first.

        Returns:
            The embeddings (DatasetEmbeddingData).
        """
        return [wire(e) for e in self._http.get(self._dataset_path("/embeddings"))]

    def get_embedding_data_by_name(self, name: str) -> WireModel:
        """Returns the embedding with exactly this name.

        Args:
            name: Embedding name.

        Returns:
            The embedding (DatasetEmbeddingData).

        Raises:
            ValueError: If there is none.
        """
        for embedding in self.get_all_embedding_data():
            if embedding["name"] == name:
                return embedding
        raise ValueError(
            f"There are no embeddings with name '{name}' for dataset with id '{self.dataset_id}'."
        )

    def set_embedding_id_to_latest(self) -> None:
        """Makes the newest embedding the current embedding.

        Raises:
            RuntimeError: If the dataset has no embeddings.
        """
        embeddings = self.get_all_embedding_data()
        if not embeddings:
            raise RuntimeError(f"There are no known embeddings for dataset_id {self.dataset_id}.")
        self.embedding_id = str(embeddings[0]["id"])

    def get_embedding_by_name(self, name: str, ignore_suffix: bool = True) -> WireModel:
        """Returns the first embedding whose name starts with (or equals) ``name``.

        Args:
            name: Embedding name.
            ignore_suffix: Match names that start with ``name`` (e.g. ``default_2024…``).

        Returns:
            The embedding (DatasetEmbeddingData).

        Raises:
            EmbeddingDoesNotExistError: If there is none.
        """
        for embedding in self.get_all_embedding_data():
            if embedding["name"] == name or (ignore_suffix and embedding["name"].startswith(name)):
                return embedding
        raise EmbeddingDoesNotExistError(
            f"Embedding with the name {name} does not exist on the server."
        )

    def download_embeddings_csv_by_id(self, embedding_id: str, output_path: str) -> None:
        """Downloads an embeddings CSV.

        Args:
            embedding_id: Embedding id.
            output_path: File to write.
        """
        url = self._http.get(self._dataset_path("/embeddings/{}/readCSVUrl", embedding_id))
        self._http.download(str(url), Path(output_path), timeout=10)

    def download_embeddings_csv(self, output_path: str) -> None:
        """Downloads the newest ``default`` embeddings CSV.

        Args:
            output_path: File to write.

        Raises:
            RuntimeError: If there are no ``default`` embeddings.
        """
        candidates = [e for e in self.get_all_embedding_data() if e["name"].startswith("default")]
        if not candidates:
            raise RuntimeError(
                f"Could not find embeddings for dataset with id '{self.dataset_id}'."
            )
        latest = max(candidates, key=lambda e: e.get("createdAt", 0))
        self.download_embeddings_csv_by_id(latest["id"], output_path)

    def append_embeddings(self, path_to_embeddings_csv: str, embedding_id: str) -> None:
        """Merges the server's embeddings into a local CSV (local rows win).

        Args:
            path_to_embeddings_csv: Local embeddings CSV, rewritten with the merge.
            embedding_id: Embedding on the server.

        Raises:
            RuntimeError: If the column counts differ.
        """
        path = Path(path_to_embeddings_csv)
        url = self._http.get(self._dataset_path("/embeddings/{}/readCSVUrl", embedding_id))
        remote = list(csv.reader(io.StringIO(self._http.get_signed(str(url)).decode("utf-8"))))
        with path.open(newline="") as handle:
            local = list(csv.reader(handle))
        if remote and local and len(remote[0]) != len(local[0]):
            raise RuntimeError(
                f"Column mismatch: the server's embeddings have {len(remote[0])} columns, {path} has {len(local[0])}."
            )
        local_by_name = {row[0]: row for row in local[1:]}
        merged = [remote[0] if remote else local[0]]
        for row in remote[1:]:
            merged.append(local_by_name.pop(row[0], row))
        merged.extend(row for row in local[1:] if row[0] in local_by_name)
        _write_rows(path, merged)

    def upload_embeddings(self, path_to_embeddings_csv: str, name: str) -> None:
        """Uploads an embeddings CSV for the current dataset.

        If an embedding named ``name`` exists, its rows are merged in and the upload
        is named ``<name>_<timestamp>``.

        Args:
            path_to_embeddings_csv: CSV with ``filenames``, ``embedding_<i>``… and ``labels``.
            name: Embedding name.

        Raises:
            RuntimeError: If the CSV is malformed.
            ValueError: If its file names differ from the dataset's samples.
        """
        path = Path(path_to_embeddings_csv)
        check_and_prune_csv(path)
        try:
            existing = self.get_embedding_by_name(name, ignore_suffix=True)
        except EmbeddingDoesNotExistError:
            existing = None
        if existing is not None:
            self.append_embeddings(str(path), existing["id"])
            name = f"{name}_{time.strftime('%Y%m%d_%Hh%Mm%Ss')}"
        with path.open(newline="") as handle:
            rows = list(csv.reader(handle))
        header, body = rows[0], rows[1:]
        names = [row[0] for row in body]
        if any("," in n for n in names):
            raise ValueError("File names in the embeddings CSV must not contain commas.")
        on_server = self.get_filenames()  # type: ignore[attr-defined]
        if len(names) != len(on_server) or set(names) != set(on_server):
            raise ValueError(
                f"The embeddings file has {len(names)} rows, the dataset {len(on_server)} samples, "
                "and their file names must be the same."
            )
        by_name = {row[0]: row for row in body}
        ordered = [header, *(by_name[n] for n in on_server)]
        target = self._http.get(
            self._dataset_path("/embeddings/writeCSVUrl"), params={"name": name}
        )
        self.embedding_id = str(target["embeddingId"])
        self._http.put_signed(target["signedWriteUrl"], _csv_bytes(ordered))
        for method in ("PCA", "TSNE", "UMAP"):
            self._http.post(
                self._dataset_path("/embeddings/{}/trigger2dEmbeddingsJob", self.embedding_id),
                json={"dimensionalityReductionMethod": method},
            )
