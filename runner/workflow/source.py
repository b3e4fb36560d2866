"""YAML source → data plus the line:col of every node, in one walk.

``yaml.compose`` keeps every node's start mark and, unlike ``yaml.safe_load``,
keeps duplicate mapping keys, so one walk yields the data, a location index
``{path: (line, col)}`` (1-based) for values and for keys, and diagnostics for
syntax errors and duplicate keys.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from runner.workflow.diagnostics import Diagnostic

Path = tuple[str | int, ...]


@dataclass
class Source:
    """A parsed file: its data and where each part of it was written."""

    file: str
    data: Any = None
    values: dict[Path, tuple[int, int]] = field(default_factory=dict)
    keys: dict[Path, tuple[int, int]] = field(default_factory=dict)
    diagnostics: list[Diagnostic] = field(default_factory=list)

    def at(self, path: Path, message: str, *, key: bool = False) -> Diagnostic:
        """A diagnostic at ``path`` (its key if ``key``), falling back to the nearest parent."""
        index = self.keys if key else self.values
        probe = path
        while probe not in index and probe:
            probe = probe[:-1]
            index = self.values
        line, col = index.get(probe, (1, 1))
        return Diagnostic(self.file, line, col, message, tuple(path))


#: values that YAML aliases (``*name``) may repeat in one file: DRY workflows need a few
#: hundred; a "billion laughs" file would otherwise expand without end
MAX_ALIAS_VALUES = 100_000
#: how a problem saying the file is some other YAML (not a broken workflow) starts
NOT_A_WORKFLOW = "not a lightly-run workflow"
_MERGE_TAG = "tag:yaml.org,2002:merge"
_BOOL_TAG = "tag:yaml.org,2002:bool"
Entry = tuple[Any, yaml.Node, yaml.Node]  # key, key node, value node


class _TooLarge(Exception):
    def __init__(self, node: yaml.Node, message: str) -> None:
        super().__init__(message)
        self.node = node


class _Walker:
    def __init__(self, source: Source) -> None:
        self.source = source
        self.constructor = yaml.constructor.SafeConstructor()
        self._walked: set[int] = set()
        self._repeated = 0

    def walk(self, node: yaml.Node, path: Path) -> Any:
        self._count(node)
        self.source.values[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            return [self.walk(child, (*path, i)) for i, child in enumerate(node.value)]
        return self.constructor.construct_object(node, deep=True)

    def _count(self, node: yaml.Node) -> None:
        """Count the values that aliases repeat; too many end the walk."""
        if id(node) not in self._walked:
            self._walked.add(id(node))
            return
        self._repeated += 1
        if self._repeated > MAX_ALIAS_VALUES:
            raise _TooLarge(
                node,
                f"YAML aliases (*name) repeat more than {MAX_ALIAS_VALUES:,} values; "
                "is an anchor (&name) used inside itself or nested many times?",
            )

    def _mapping(self, node: yaml.MappingNode, path: Path) -> dict[Any, Any]:
        result: dict[Any, Any] = {}
        for key, key_node, value_node in self._entries(node):
            if key in result:
                line, col = key_node.start_mark.line + 1, key_node.start_mark.column + 1
                self.source.diagnostics.append(
                    Diagnostic(self.source.file, line, col, f"duplicate key '{key}'", (*path, key))
                )
                continue
            self.source.keys[(*path, key)] = (
                key_node.start_mark.line + 1,
                key_node.start_mark.column + 1,
            )
            result[key] = self.walk(value_node, (*path, key))
        return result

    def _entries(self, node: yaml.MappingNode) -> list[Entry]:
        """The entries of a mapping, merge keys (``<<: *name``) resolved as YAML 1.1 says:
        the mapping's own keys win, then those of the earlier merged mappings."""
        own: list[Entry] = []
        merged: list[Entry] = []
        for key_node, value_node in node.value:
            if key_node.tag != _MERGE_TAG:
                own.append((self._key(key_node), key_node, value_node))
                continue
            sources = (
                value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
            )
            for source in sources:
                self._count(source)
                if not isinstance(source, yaml.MappingNode):
                    raise yaml.constructor.ConstructorError(
                        problem="'<<' merges a mapping or a list of mappings",
                        problem_mark=source.start_mark,
                    )
                merged.extend(self._entries(source))
        seen = {key for key, _, _ in own}
        for entry in merged:
            if entry[0] not in seen:
                seen.add(entry[0])
                own.append(entry)
        return own

    def _key(self, node: yaml.Node) -> Any:
        if node.tag == _BOOL_TAG and node.value.lower() not in ("true", "false"):
            # YAML 1.1 reads a bare `on`, `off`, `yes` or `no` as a boolean;
            # as a key it is a name (retry's `on:`), as GitHub Actions reads it too
            return str(node.value)
        key = self.constructor.construct_object(node, deep=True)
        if not isinstance(key, (str, int, float, bool)) or key is None:
            key = str(key)
        return key


def parse(text: str, file: str) -> Source:
    """Parse YAML text; problems end up in ``Source.diagnostics``, never raised."""
    source = Source(file)
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        if "another document" in (error.problem or ""):  # "---": a Kubernetes manifest, say
            message = f"{NOT_A_WORKFLOW}: it holds several YAML documents (a workflow is one)"
            source.diagnostics.append(Diagnostic(file, line, col, message))
            return source
        problem = error.problem or "invalid YAML"
        context = f" ({error.context})" if error.context else ""
        source.diagnostics.append(
            Diagnostic(file, line, col, f"YAML syntax error: {problem}{context}")
        )
        return source
    except yaml.YAMLError as error:
        source.diagnostics.append(Diagnostic(file, 1, 1, f"YAML error: {error}"))
        return source
    if node is None:
        source.diagnostics.append(Diagnostic(file, 1, 1, f"{NOT_A_WORKFLOW}: the file is empty"))
        return source
    try:
        source.data = _Walker(source).walk(node, ())
    except yaml.constructor.ConstructorError as error:
        mark = error.problem_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        source.diagnostics.append(Diagnostic(file, line, col, f"YAML error: {error.problem}"))
    except _TooLarge as error:
        mark = error.node.start_mark
        source.diagnostics.append(Diagnostic(file, mark.line + 1, mark.column + 1, str(error)))
    except RecursionError:
        source.diagnostics.append(
            Diagnostic(file, 1, 1, "the YAML is nested too deeply (an anchor used inside itself?)")
        )
    return source
