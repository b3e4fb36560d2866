"""The validated, immutable form of a workflow file (what the loader returns).

Nothing past the loader handles raw dicts: the engine receives a ``Workflow``.
Values inside ``Step.with_`` are still raw (possibly templated) YAML values; the
engine renders them at run time.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

#: The action catalog the workflow layer validates against. Plain data, built by
#: ``runner.actions.registry.catalog()`` and passed in, so ``runner.workflow`` never
#: imports the client. Shape::
#:
#:     {action_name: {
#:         "description": str,                 # first paragraph of the docstring
#:         "parameters": {JSON Schema object}, # properties, required, additionalProperties=False
#:         "outputs": [str, ...],              # names available as steps.<id>.outputs.<name>
#:     }}
ActionCatalog = Mapping[str, Mapping[str, Any]]


@dataclass(frozen=True)
class Duration:
    """A length of time written as ``30s``, ``10m``, ``6h``, ``1h30m`` or ``500ms``."""

    seconds: float
    text: str

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True)
class RetryPolicy:
    """How often a step is attempted and how long to wait in between."""

    attempts: int = 1
    backoff: Duration = Duration(1.0, "1s")
    max_backoff: Duration = Duration(60.0, "60s")
    #: Error kinds that are retried: "any", "http", "timeout", "connection", or an
    #: HTTP status class/code such as "5xx" or "429". Empty means "any".
    on: tuple[str, ...] = ()


@dataclass(frozen=True)
class InputSpec:
    """A typed workflow input, set with ``-i name=value``."""

    name: str
    type: str  # string | integer | number | boolean | array | object
    default: Any = None
    has_default: bool = False
    description: str = ""
    enum: tuple[Any, ...] | None = None
    minimum: float | None = None
    maximum: float | None = None
    secret: bool = False

    @property
    def required(self) -> bool:
        return not self.has_default


#: the outputs of a step with for_each: the list of results, and each item's outputs
FOR_EACH_OUTPUTS = ("result", "items")

#: what templates read from ``run`` (the engine builds it for each run)
RUN_KEYS = ("id", "workflow", "started_at", "workflow_dir")


@dataclass(frozen=True)
class Location:
    """Where something was written: 1-based line and column in ``file``."""

    file: str
    line: int
    col: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


@dataclass(frozen=True)
class Step:
    """One step: an action call with templated arguments and control keys."""

    id: str
    uses: str
    with_: Mapping[str, Any] = field(default_factory=dict)
    name: str | None = None
    if_: str | None = None
    for_each: Any = None  # a template string or a literal list
    retry: RetryPolicy = RetryPolicy()
    timeout: Duration | None = None
    continue_on_error: bool = False
    location: Location | None = None

    @property
    def title(self) -> str:
        return self.name or self.id


@dataclass(frozen=True)
class Workflow:
    """A whole validated workflow file."""

    version: int
    name: str
    steps: tuple[Step, ...]
    path: str = "<memory>"
    description: str = ""
    inputs: Mapping[str, InputSpec] = field(default_factory=dict)
    defaults_retry: RetryPolicy | None = None
    defaults_timeout: Duration | None = None
    #: sha256 of the source text; resume refuses a changed file or reports changed steps
    source_digest: str = ""
    #: per-step digest of its raw definition, so resume can tell which steps changed
    step_digests: Mapping[str, str] = field(default_factory=dict)
