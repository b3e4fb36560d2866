"""Downloading the artifacts of Lightly Worker runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from runner.client._base import _ClientBase
from runner.client._http import encode_path
from runner.client._paths import safe_join
from runner.client.errors import ArtifactNotExist
from runner.client.models import field


class _ArtifactsMixin(_ClientBase):
    """Run artifacts: reports, logs, checkpoints."""

    def _artifact_read_url(self, run: Any, artifact: Any) -> str:
        path = encode_path(
            "/v1/docker/runs/{}/artifacts/{}/readurl", field(run, "id"), field(artifact, "id")
        )
        return str(self._http.get(path))

    def _artifact_of_type(self, run: Any, artifact_type: str) -> Any:
        artifacts = _artifacts_of(run)
        if artifacts is None:
            raise ArtifactNotExist("Run has no artifacts.")
        for artifact in artifacts:
            if field(artifact, "type") == artifact_type:
                return artifact
        raise ArtifactNotExist(f"No artifact with type '{artifact_type}' in artifacts.")

    def _download_artifact(
        self, run: Any, artifact_type: str, output_path: str, timeout: int
    ) -> None:
        artifact = self._artifact_of_type(run, artifact_type)
        self._http.download(
            self._artifact_read_url(run, artifact), Path(output_path), timeout=timeout
        )

    def download_compute_worker_run_artifacts(
        self, run: Any, output_dir: str, timeout: int = 60
    ) -> None:
        """Downloads every artifact of a run into a folder.

        Args:
            run: The run (DockerRunData, e.g. from ``get_compute_worker_run``).
            output_dir: Folder to write the artifacts to (by their file names).
            timeout: Seconds each download may wait for the server (to connect, then
                for each piece of the file), as the official client's requests timeout.

        Raises:
            ValueError: If ``run`` is not a run (a run id, say), or an artifact's file
                name would write outside ``output_dir`` (checked for every artifact
                before anything is downloaded).
        """
        artifacts = _artifacts_of(run) or []
        targets = [safe_join(output_dir, str(field(a, "fileName") or "")) for a in artifacts]
        for artifact, target in zip(artifacts, targets, strict=True):
            self._http.download(self._artifact_read_url(run, artifact), target, timeout=timeout)

    def download_compute_worker_run_checkpoint(
        self, run: Any, output_path: str, timeout: int = 60
    ) -> None:
        """Downloads the checkpoint of a run.

        Args:
            run: The run (DockerRunData).
            output_path: File to write.
            timeout: Seconds the download may wait for the server (to connect, then for
                each piece of the file), as the official client's requests timeout.

        Raises:
            ArtifactNotExist: If the run has no checkpoint.
            ValueError: If ``run`` is not a run (a run id, say).
        """
        self._download_artifact(run, "CHECKPOINT", output_path, timeout)

    def download_compute_worker_run_report_pdf(
        self, run: Any, output_path: str, timeout: int = 60
    ) -> None:
        """Downloads the PDF report of a run.

        Args:
            run: The run (DockerRunData).
            output_path: File to write.
            timeout: Seconds the download may wait for the server (to connect, then for
                each piece of the file), as the official client's requests timeout.

        Raises:
            ArtifactNotExist: If the run has no PDF report.
            ValueError: If ``run`` is not a run (a run id, say).
        """
        self._download_artifact(run, "REPORT_PDF", output_path, timeout)

    def download_compute_worker_run_report_json(
        self, run: Any, output_path: str, timeout: int = 60
    ) -> None:
        """Downloads the JSON report of a run.

        Args:
            run: The run (DockerRunData).
            output_path: File to write.
            timeout: Seconds the download may wait for the server (to connect, then for
                each piece of the file), as the official client's requests timeout.

        Raises:
            ArtifactNotExist: If the run has no JSON report.
            ValueError: If ``run`` is not a run (a run id, say).
        """
        self._download_artifact(run, "REPORT_JSON", output_path, timeout)

    def download_compute_worker_run_log(
        self, run: Any, output_path: str, timeout: int = 60
    ) -> None:
        """Downloads the log of a run.

        Args:
            run: The run (DockerRunData).
            output_path: File to write.
            timeout: Seconds the download may wait for the server (to connect, then for
                each piece of the file), as the official client's requests timeout.

        Raises:
            ArtifactNotExist: If the run has no log.
            ValueError: If ``run`` is not a run (a run id, say).
        """
        self._download_artifact(run, "LOG", output_path, timeout)

    def download_compute_worker_run_memory_log(
        self, run: Any, output_path: str, timeout: int = 60
    ) -> None:
        """Downloads the memory log of a run.

        Args:
            run: The run (DockerRunData).
            output_path: File to write.
            timeout: Seconds the download may wait for the server (to connect, then for
                each piece of the file), as the official client's requests timeout.

        Raises:
            ArtifactNotExist: If the run has no memory log.
            ValueError: If ``run`` is not a run (a run id, say).
        """
        self._download_artifact(run, "MEMLOG", output_path, timeout)

    def download_compute_worker_run_corruptness_check_information(
        self, run: Any, output_path: str, timeout: int = 60
    ) -> None:
        """Downloads the corruptness check information of a run.

        Args:
            run: The run (DockerRunData).
            output_path: File to write.
            timeout: Seconds the download may wait for the server (to connect, then for
                each piece of the file), as the official client's requests timeout.

        Raises:
            ArtifactNotExist: If the run has no corruptness check information.
            ValueError: If ``run`` is not a run (a run id, say).
        """
        self._download_artifact(run, "CORRUPTNESS_CHECK_INFORMATION", output_path, timeout)

    def download_compute_worker_run_sequence_information(
        self, run: Any, output_path: str, timeout: int = 60
    ) -> None:
        """Downloads the sequence information of a run.

        Args:
            run: The run (DockerRunData).
            output_path: File to write.
            timeout: Seconds the download may wait for the server (to connect, then for
                each piece of the file), as the official client's requests timeout.

        Raises:
            ArtifactNotExist: If the run has no sequence information.
            ValueError: If ``run`` is not a run (a run id, say).
        """
        self._download_artifact(run, "SEQUENCE_INFORMATION", output_path, timeout)

    def get_compute_worker_run_checkpoint_url(self, run: Any) -> str:
        """Returns a read URL of the checkpoint of a run.

        Args:
            run: The run (DockerRunData).

        Returns:
            The signed read URL.

        Raises:
            ArtifactNotExist: If the run has no checkpoint.
            ValueError: If ``run`` is not a run (a run id, say).
        """
        return self._artifact_read_url(run, self._artifact_of_type(run, "CHECKPOINT"))


def _artifacts_of(run: Any) -> Any:
    """The artifacts of ``run`` (None if it has none).

    Raises:
        ValueError: If ``run`` is not a run: a run id string, say, has no artifacts
            to read, and would otherwise look like a run without any.
    """
    if isinstance(run, (str, bytes)) or field(run, "id") is None:
        raise ValueError(
            "run must be a run (DockerRunData), e.g. from get_compute_worker_run(run_id), "
            f"not {type(run).__name__} {str(run)[:60]!r}"
        )
    return field(run, "artifacts")
