"""Input declarations, their defaults and the values passed to called files, as a run
would check them: validate reports what the run would refuse, at its line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from runner.engine.inputs import resolve_inputs
from runner.errors import UsageError
from runner.workflow.inputs import input_spec, value_problem
from tests.workflow.conftest import Validate

STEPS = """steps:
  - id: a
    uses: write_file
    with: {path: a.txt, content: x}
"""


def _with_input(declaration: str) -> str:
    return f"version: 1\nname: w\ninputs:\n  x: {declaration}\n{STEPS}"


@pytest.mark.parametrize(
    ("declaration", "expected"),
    [
        (
            "{type: integer, default: 0, minimum: 1}",
            "wf.yaml:4:31: default of input 'x' must be at least 1, got 0",
        ),
        (
            "{type: number, default: 2.5, maximum: 2}",
            "wf.yaml:4:30: default of input 'x' must be at most 2, got 2.5",
        ),
        (
            "{type: string, default: z, enum: [a, b]}",
            "wf.yaml:4:30: default of input 'x' must be one of ['a', 'b'], got 'z'",
        ),
        (
            "{type: integer, default: many}",
            "wf.yaml:4:31: default of input 'x' is not of type integer: 'many'",
        ),
        (
            "{type: string, default: hunter2, enum: [a, b], secret: true}",
            "wf.yaml:4:30: default of input 'x' must be one of ['a', 'b']",
        ),
        (
            "{type: integer, default: 5, minimum: 1, secret: true, maximum: 3}",
            "wf.yaml:4:31: default of input 'x' must be at most 3",
        ),
        (
            "{type: string, minimum: 1}",
            "wf.yaml:4:30: inputs.x: only integer and number inputs have a minimum",
        ),
        (
            "{type: array, maximum: 1}",
            "wf.yaml:4:29: inputs.x: only integer and number inputs have a maximum",
        ),
        (
            "{type: integer, minimum: 5, maximum: 1}",
            "wf.yaml:4:31: inputs.x: minimum 5 is above maximum 1, so no value fits",
        ),
        (
            "{type: integer, enum: [1, two]}",
            "wf.yaml:4:32: inputs.x: enum value 'two' is not an integer",
        ),
    ],
)
def test_an_input_declaration_that_refuses_its_own_default_is_reported(
    validate: Validate, declaration: str, expected: str
) -> None:
    assert validate(_with_input(declaration)) == [expected]


@pytest.mark.parametrize(
    "declaration",
    [
        "{type: integer, default: 1, minimum: 1, maximum: 1}",
        "{type: number, default: 0.5, minimum: 0, maximum: 1}",
        "{type: string, default: b, enum: [a, b]}",
        "{type: integer, enum: [1, 2]}",
        "{type: array, default: [a]}",
        "{type: string, secret: true}",
    ],
)
def test_a_default_its_declaration_accepts_is_valid(validate: Validate, declaration: str) -> None:
    assert validate(_with_input(declaration)) == []


def test_a_secret_inputs_default_is_never_printed(validate: Validate) -> None:
    declaration = "{type: integer, default: 987654, maximum: 10, secret: true}"
    problems = validate(_with_input(declaration))
    assert len(problems) == 1 and "987654" not in problems[0]
    declaration = "{type: integer, default: hunter2, secret: true}"
    assert validate(_with_input(declaration)) == [
        "wf.yaml:4:31: default of input 'x' is not of type integer"
    ]


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ({"type": "integer", "minimum": 1}, 0),
        ({"type": "integer", "maximum": 3}, 4),
        ({"type": "number", "minimum": 0.5}, 0.25),
        ({"type": "string", "enum": ["a", "b"]}, "z"),
        ({"type": "integer"}, "abc"),
        ({"type": "integer"}, True),
        ({"type": "array"}, 3),
        ({"type": "object"}, [1]),
        ({"type": "string"}, 5),
    ],
)
def test_the_rules_are_the_ones_a_run_applies(raw: dict[str, Any], value: Any) -> None:
    spec = input_spec("x", {**raw, "default": value})  # a default is not read as text
    assert spec is not None
    with pytest.raises(UsageError) as refused:
        resolve_inputs({"x": spec}, {})
    assert str(refused.value) == f"input 'x' {value_problem(spec, value)}"


LIB = """version: 1
name: lib
inputs:
  n: {type: integer, minimum: 1}
  mode: {type: string, default: fast, enum: [fast, slow]}
  names: {type: array, default: []}
  token: {type: string, default: t, secret: true, enum: [t, u]}
steps:
  - id: w
    uses: write_file
    with: {path: out.txt, content: "{{ inputs.n }}"}
"""


def _calling(inputs: str) -> str:
    return f"""version: 1
name: caller
inputs:
  o: {{type: object, default: {{}}}}
steps:
  - id: call
    uses: run_workflow
    with:
      path: lib.yaml
      inputs: {inputs}
"""


@pytest.mark.parametrize(
    ("inputs", "expected"),
    [
        (
            '{n: "abc"}',
            "wf.yaml:10:19: run_workflow: input 'n' of lib.yaml must be an integer, got 'abc'",
        ),
        ("{n: 0}", "wf.yaml:10:19: run_workflow: input 'n' of lib.yaml must be at least 1, got 0"),
        (
            "{n: 1.5}",
            "wf.yaml:10:19: run_workflow: input 'n' of lib.yaml must be an integer, got 1.5",
        ),
        (
            "{n: 1, mode: quick}",
            "wf.yaml:10:28: run_workflow: input 'mode' of lib.yaml must be one of "
            "['fast', 'slow'], got 'quick'",
        ),
        (
            "{n: 1, names: 3}",
            "wf.yaml:10:29: run_workflow: input 'names' of lib.yaml must be an array, got 3 "
            "(write it as [a, b] or JSON)",
        ),
        (
            "{n: 1, token: hunter2}",
            "wf.yaml:10:29: run_workflow: input 'token' of lib.yaml must be one of ['t', 'u']",
        ),
    ],
)
def test_a_value_the_called_file_refuses_is_reported_naming_it(
    validate: Validate, inputs: str, expected: str
) -> None:
    Path("lib.yaml").write_text(LIB)
    assert validate(_calling(inputs)) == [expected]


@pytest.mark.parametrize(
    "inputs",
    [
        "{n: 1}",
        '{n: "5"}',  # text is read as the input's type, as -i values are
        '{n: 2, names: "[a, b]", mode: slow}',
        '{n: "{{ 0 }}"}',  # a template: known only when the run gets there
        '{n: 1, names: "{{ inputs.o }}"}',
        '{n: 1, names: ["{{ inputs.o }}", 2]}',
    ],
)
def test_values_the_called_file_accepts_or_that_are_templates_are_valid(
    validate: Validate, inputs: str
) -> None:
    Path("lib.yaml").write_text(LIB)
    assert validate(_calling(inputs)) == []
