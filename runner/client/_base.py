"""State every domain mixin of the client shares, declared in one place."""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any, TypeVar, cast

from runner.client._http import LightlyHttp, encode_path
from runner.client.models import wire
from runner.client.progress import ProgressBar, ProgressFactory, no_progress

#: [client, dataset id] an operation runs on, whatever ``dataset_id`` becomes meanwhile;
#: the id is taken at the operation's first request (its argument checks come first)
_PINNED: ContextVar[list[Any] | None] = ContextVar("lightly_pinned_dataset", default=None)

Method = TypeVar("Method", bound=Callable[..., Any])


def on_one_dataset(method: Method) -> Method:
    """Keep a long operation (and the threads it starts) on the dataset current when it
    began: another thread setting ``dataset_id`` meanwhile split an upload in two."""

    @functools.wraps(method)
    def pinned(self: _ClientBase, *args: Any, **kwargs: Any) -> Any:
        token = _PINNED.set([id(self), None])
        try:
            return method(self, *args, **kwargs)
        finally:
            _PINNED.reset(token)

    return cast(Method, pinned)


class _ClientBase:
    """Shared state of ``ApiWorkflowClient``; every ``_XMixin`` builds on it.

    Attributes:
        _http: The single transport to the API.
        _dataset_id: The current dataset (see ``dataset_id``), or None.
        embedding_id: The current embedding, or None.
        _creator: Sent as ``creator`` in every body that has one.
        progress: Makes progress bars (see ``runner.client.progress``).
    """

    _http: LightlyHttp
    _dataset_id: str | None
    embedding_id: str | None
    _creator: str
    progress: ProgressFactory

    def _progress_bar(
        self, total: int | None, desc: str, unit: str, *, shown: bool = True
    ) -> ProgressBar:
        """A bar from ``progress``, or a silent one when not ``shown`` (``verbose=False``)."""
        factory = self.progress if shown else no_progress
        return factory(total=total, desc=desc, unit=unit)

    @property
    def dataset_id(self) -> str:
        """The current dataset id.

        If none was set, the most recently modified of the user's own datasets is
        taken (with a warning), as the official client does.

        Raises:
            ValueError: When assigned an id that does not exist, or read when the
                user has no datasets.
        """
        if self._dataset_id is None:
            datasets = list(
                self._http.paginate("/v1/datasets", params={"shared": False}, page_size=5000)
            )
            if not datasets:
                raise ValueError(
                    "No dataset is selected and you have no datasets: create one with "
                    "create_dataset() or set dataset_id."
                )
            latest = max(datasets, key=lambda d: d.get("lastModifiedAt", 0))
            self._dataset_id = str(latest["id"])
            warnings.warn(
                f"Dataset has not been specified, taking the last modified dataset "
                f"{latest.get('name')} as default dataset.",
                stacklevel=2,
            )
        return self._dataset_id

    @dataset_id.setter
    def dataset_id(self, dataset_id: str) -> None:
        from runner.client.errors import NotFound

        try:
            self._http.get(encode_path("/v1/datasets/{}", dataset_id), expect=dict)
        except NotFound:
            raise ValueError(
                f"A dataset with the id '{dataset_id}' does not exist on the Lightly Platform."
            ) from None
        self._dataset_id = dataset_id

    @property
    def dataset_type(self) -> str:
        """The type (``Images``, ``Videos``, ``Crops``) of the current dataset."""
        return str(self._get_dataset_data()["type"])

    def _get_dataset_data(self) -> Any:
        return wire(self._http.get(self._dataset_path(), expect=dict))

    def _dataset_path(self, suffix: str = "", *args: str, dataset_id: str | None = None) -> str:
        """``/v1/datasets/{id}`` + ``suffix`` with ``{}`` filled from ``args`` (encoded)."""
        if dataset_id is None:
            pinned = _PINNED.get()
            if pinned is not None and pinned[0] == id(self):
                if pinned[1] is None:
                    pinned[1] = self.dataset_id
                dataset_id = pinned[1]
            else:
                dataset_id = self.dataset_id
        return encode_path("/v1/datasets/{}" + suffix, dataset_id, *args)
