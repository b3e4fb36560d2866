"""Inputs from the command line: typed, checked, and how to write structured ones."""

from __future__ import annotations

from typing import Any

import pytest

from runner.engine.inputs import resolve_inputs
from runner.errors import UsageError
from runner.workflow.model import InputSpec

SPECS = {
    "names": InputSpec("names", "array"),
    "cfg": InputSpec("cfg", "object", default={}, has_default=True),
}


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ({"names": "[a, b c]"}, ["a", "b c"]),  # YAML flow style
        ({"names": '["a", "b"]'}, ["a", "b"]),
        ({"names": "[1e3]"}, [1000.0]),  # JSON's number, not YAML 1.1's string
        ({"names": ["x"], "cfg": "{a: 1, b: [2]}"}, ["x"]),
    ],
)
def test_arrays_and_objects_are_written_as_json_or_yaml_flow(
    given: dict[str, Any], expected: list[Any]
) -> None:
    values = resolve_inputs(SPECS, given)
    assert values["names"] == expected
    assert values["cfg"] == ({"a": 1, "b": [2]} if "cfg" in given else {})


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"names": "q"}, "input 'names' must be an array, got 'q' (write it as [a, b] or JSON)"),
        (
            {"names": "[]", "cfg": "[1]"},
            "input 'cfg' must be an object, got [1] (write it as {key: value} or JSON)",
        ),
        ({"names": "[a"}, "input 'names' must be an array, got '[a' (write it as [a, b] or JSON)"),
    ],
)
def test_a_value_of_the_wrong_shape_says_how_to_write_it(
    given: dict[str, Any], message: str
) -> None:
    with pytest.raises(UsageError) as info:
        resolve_inputs(SPECS, given)
    assert str(info.value) == message


def test_a_required_input_may_be_left_to_a_resumed_run_s_record() -> None:
    assert resolve_inputs(SPECS, {}, complete=False) == {"cfg": {}}
    with pytest.raises(UsageError, match="input 'names' is required: pass -i names=VALUE"):
        resolve_inputs(SPECS, {})


@pytest.mark.parametrize(
    ("given", "message"),
    [
        (
            "not-a-number",
            "input 'pin' must be an integer",
        ),
        ("12", "input 'pin' must be at least 1000"),
    ],
)
def test_a_secret_input_s_value_is_not_in_its_error(given: str, message: str) -> None:
    specs = {"pin": InputSpec(name="pin", type="integer", secret=True, minimum=1000)}
    with pytest.raises(UsageError) as caught:
        resolve_inputs(specs, {"pin": given})
    assert str(caught.value) == message and given not in str(caught.value)


def test_a_number_for_a_string_input_is_its_text_as_from_the_command_line() -> None:
    """An inputs file's `tag: 2024` is a YAML number; `-i tag=2024` is text."""
    specs = {"tag": InputSpec("tag", "string"), "flag": InputSpec("flag", "string")}
    assert resolve_inputs(specs, {"tag": 2024, "flag": "x"}) == {"tag": "2024", "flag": "x"}
    assert resolve_inputs(specs, {"tag": 1.5, "flag": "x"})["tag"] == "1.5"
    with pytest.raises(UsageError, match="input 'tag' must be a string, got True"):
        resolve_inputs(specs, {"tag": True, "flag": "x"})  # a YAML yes/no is no text


@pytest.mark.parametrize("given", ["nan", "inf", "-Infinity", "1e400", float("nan")])
def test_a_number_input_must_be_finite(given: Any) -> None:
    """NaN and infinity have no JSON form: write_file would write invalid JSON."""
    specs = {"f": InputSpec("f", "number")}
    with pytest.raises(UsageError, match=r"^input 'f' must be a finite number, got "):
        resolve_inputs(specs, {"f": given})
    assert resolve_inputs(specs, {"f": "1e300"}) == {"f": 1e300}
