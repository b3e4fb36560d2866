"""The client's public surface matches the reference, and every operation is wire-tested."""

from __future__ import annotations

import ast
import importlib
import inspect
from pathlib import Path

import pytest

from runner.client import ApiWorkflowClient, ComputeWorkerRunInfo
from tests.client.contract import COVERED

HERE = Path(__file__).parent


def _reference() -> dict[str, tuple[str, list[tuple[str, object]]]]:
    ops: dict[str, tuple[str, list[tuple[str, object]]]] = {}
    for line in (HERE / "reference_operations.tsv").read_text().splitlines():
        if not line or line.startswith("#"):
            continue
        source, owner, name, params = ([*line.split("\t"), ""])[:4]
        if source == "reference" and name in ops:
            continue
        parsed = []
        for item in filter(None, (p.strip() for p in params.split(","))):
            pname, _, default = item.partition("=")
            parsed.append(
                (pname, ast.literal_eval(default) if default else inspect.Parameter.empty)
            )
        ops[name] = (owner, parsed)
    return ops


REFERENCE = _reference()
OWNERS = {"client": ApiWorkflowClient, "run_info": ComputeWorkerRunInfo}


def test_reference_list_is_complete() -> None:
    assert len([n for n, (o, _) in REFERENCE.items() if o == "client"]) == 89
    assert len(REFERENCE) == 91


@pytest.mark.parametrize("name", sorted(REFERENCE))
def test_operation_has_reference_signature(name: str) -> None:
    owner, params = REFERENCE[name]
    method = getattr(OWNERS[owner], name, None)
    assert callable(method), f"{owner}.{name} is missing"
    signature = inspect.signature(method)
    actual = [
        (p.name, p.default)
        for p in signature.parameters.values()
        if p.name != "self" and p.kind is p.POSITIONAL_OR_KEYWORD
    ]
    assert actual == params


def test_constructor_signature() -> None:
    params = list(inspect.signature(ApiWorkflowClient.__init__).parameters.values())[1:5]
    assert [(p.name, p.default) for p in params] == [
        ("token", None),
        ("dataset_id", None),
        ("embedding_id", None),
        ("creator", "USER_PIP"),
    ]


def test_properties() -> None:
    assert isinstance(inspect.getattr_static(ApiWorkflowClient, "dataset_id"), property)
    assert isinstance(inspect.getattr_static(ApiWorkflowClient, "dataset_type"), property)


def test_every_operation_has_a_contract_test() -> None:
    for module in sorted(HERE.glob("test_*.py")):
        importlib.import_module(f"tests.client.{module.stem}")
    client_ops = {n for n, (o, _) in REFERENCE.items() if o == "client"}
    missing = sorted(client_ops - set(COVERED))
    assert not missing, f"operations without a wire contract test: {missing}"
