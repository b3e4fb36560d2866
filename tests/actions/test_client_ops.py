"""Client operations as actions: what the runner adds around the call."""

from __future__ import annotations

from typing import Any

from runner.actions.registry import registry
from tests.fakes import RecordingBars


class ListingClient:
    """Answers ``download_raw_samples`` page by page, advancing the bar it is given."""

    def __init__(self) -> None:
        self.progress = RecordingBars()

    def download_raw_samples(self, progress_bar: Any = None, **kwargs: Any) -> list[Any]:
        for _page in range(3):
            progress_bar.update(10)
        return [("a.jpg", "https://read/a")]


def test_operations_with_a_progress_bar_get_one_from_the_clients_factory() -> None:
    client = ListingClient()
    outputs = registry()["download_raw_samples"].call(client, {})
    assert outputs["result"] == [["a.jpg", "https://read/a"]]
    assert client.progress.bars == [
        {"total": None, "desc": "download_raw_samples", "unit": "item", "n": 30, "closed": True}
    ]


class CreatingClient:
    def __init__(self) -> None:
        self.created: list[tuple[str, str]] = []
        self.dataset_id = "d" * 24

    def create_dataset(self, dataset_name: str, dataset_type: str = "Images") -> None:
        self.created.append((dataset_name, dataset_type))


def test_dataset_type_may_be_given_by_its_constant_name() -> None:
    client = CreatingClient()
    create = registry()["create_dataset"].call
    create(client, {"dataset_name": "clips", "dataset_type": "VIDEOS"})
    create(client, {"dataset_name": "frames", "dataset_type": "Images"})
    assert client.created == [("clips", "Videos"), ("frames", "Images")]
