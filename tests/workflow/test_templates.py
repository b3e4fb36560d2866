"""Template rendering limits: what would fill memory fails at once, with what and why."""

from __future__ import annotations

import pytest

from runner.workflow.templates import TemplateError, references, render


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{ 'ab' * 3 }}", "ababab"),
        ("{{ 3 * [0] }}", [0, 0, 0]),
        ("{{ 6 * 7 }}", 42),
        ("{{ 2 ** 64 }}", 2**64),
        ("{{ 2.0 ** 0.5 }}", 2.0**0.5),
        ("{{ ('-' * 1000000) | length }}", 1_000_000),
    ],
)
def test_ordinary_repetition_and_powers_work(template: str, expected: object) -> None:
    assert render(template, {}) == expected


@pytest.mark.parametrize(
    ("template", "message"),
    [
        # measured before the limit: 19 GB of memory and still growing after a minute
        ("{{ 'x' * 10 ** 10 }}", "'*' would build 10,000,000,000 characters or items"),
        ("names: {{ 10 ** 7 * ['a'] }}", "'*' would build 10,000,000 characters or items"),
        ("{{ 2 ** 20000 }}", "2 ** 20000 is too large a number (over 4,200 digits)"),
        ("{{ (-3) ** 9000 }}", "-3 ** 9000 is too large a number"),
    ],
)
def test_what_would_fill_memory_is_refused_by_the_sandbox(template: str, message: str) -> None:
    with pytest.raises(TemplateError, match="unsafe template") as info:
        render(template, {})
    assert message in str(info.value)


def test_an_output_named_like_a_mapping_method_is_the_output() -> None:
    # Jinja reads `a.b` as an attribute first: outputs.items was dict.items
    outputs = {"items": [{"dataset_id": "d1"}], "values": 3}
    context = {"steps": {"mk": {"outputs": outputs}}}
    assert render("{{ steps.mk.outputs.items[0].dataset_id }}", context) == "d1"
    assert render("{{ steps.mk.outputs.values + 1 }}", context) == 4
    assert render("{{ steps.mk.outputs.keys() | list }}", context) == ["items", "values"]


@pytest.mark.parametrize(
    ("template", "read"),
    [
        ("{{ env.get('TARGET_BUCKET', 'none') }}", [("env", "TARGET_BUCKET")]),
        ("{{ env['TARGET_BUCKET'] }}", [("env", "TARGET_BUCKET")]),
        ("{{ env.get('A', inputs.b) | lower }}", [("env", "A"), ("inputs", "b")]),
        ("{{ steps.a.outputs.get('n') }}", [("steps", "a", "outputs", "n")]),
        # a name known only at run time: all of env may be read
        ("{{ env[inputs.name] }}", [("env",), ("inputs", "name")]),
        ("{{ env.get(inputs.name, '') }}", [("env",), ("inputs", "name")]),
        ("{% for k, v in env.items() %}{{ k }}{% endfor %}", [("env",)]),
        ("{{ inputs.lists[inputs.i].name }}", [("inputs", "lists"), ("inputs", "i")]),
        ("{{ inputs.s.split(',') }}", [("inputs", "s")]),
    ],
)
def test_references_name_what_a_template_reads(template: str, read: list[tuple[str, ...]]) -> None:
    """``--resume`` digests the values of these: a name missed is a change unnoticed."""
    assert references(template) == read
