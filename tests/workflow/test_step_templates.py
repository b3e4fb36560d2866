"""What a step's templates may use: the sandbox's filters and tests, ``run``'s keys,
``item`` where it is defined, and a ``for_each`` that gives a list."""

from __future__ import annotations

import pytest

from tests.workflow.conftest import Validate

HEAD = """version: 1
name: w
inputs:
  o: {type: object, default: {}}
  s: {type: string, default: a}
  names: {type: array, default: [a]}
steps:
  - id: first
    uses: write_file
    with: {path: a.txt, content: x}
"""


def _step(body: str) -> str:
    return HEAD + "  - id: a\n    uses: write_file\n" + body


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{{ 'x' | nosuchfilter }}", "unknown filter 'nosuchfilter' in template"),
        ("{{ 'x' | uper }}", "unknown filter 'uper' in template (did you mean 'upper'?)"),
        ("{{ 'x' is nosuchtest }}", "unknown test 'nosuchtest' in template"),
        ("{{ 3 is od }}", "unknown test 'od' in template (did you mean 'odd'?)"),
        (
            "{% if true %}{{ 'x' | nosuchfilter }}{% endif %}",
            "unknown filter 'nosuchfilter' in template",
        ),
        ("{% filter nosuchfilter %}x{% endfilter %}", "unknown filter 'nosuchfilter' in template"),
        (
            "x {% include 'other.txt' %}",
            "a template cannot extend, include or import other templates",
        ),
    ],
)
def test_a_filter_or_test_the_sandbox_lacks_is_reported_at_its_template(
    validate: Validate, content: str, message: str
) -> None:
    body = f'    with:\n      path: a.txt\n      content: "{content}"\n'
    assert validate(_step(body)) == [f"wf.yaml:15:16: {message}"]


def test_a_filter_in_if_and_for_each_is_checked_too(validate: Validate) -> None:
    body = """    if: "{{ 'x' | nosuchfilter }}"
    for_each: "{{ inputs.names | sortt }}"
    with: {path: a.txt, content: "{{ item | upper }}"}
"""
    assert validate(_step(body)) == [
        "wf.yaml:13:9: unknown filter 'nosuchfilter' in template",
        "wf.yaml:14:15: unknown filter 'sortt' in template (did you mean 'sort'?)",
    ]


def test_the_sandboxs_filters_and_tests_are_valid(validate: Validate) -> None:
    content = (
        "{{ inputs.s | upper | default('b') | tojson }} {{ inputs.names | join(',') }}"
        " {{ 3 is odd }} {{ inputs.s is defined }} {{ inputs.o | dictsort | length }}"
    )
    assert validate(_step(f'    with: {{path: a.txt, content: "{content}"}}\n')) == []


@pytest.mark.parametrize(
    ("reference", "message"),
    [
        (
            "run.nosuch",
            "unknown run attribute 'nosuch'; run has 'id', 'workflow', 'started_at', 'workflow_dir'",
        ),
        (
            "run.startd_at",
            "unknown run attribute 'startd_at' (did you mean 'started_at'?); run has 'id', "
            "'workflow', 'started_at', 'workflow_dir'",
        ),
        (
            "run['name']",
            "unknown run attribute 'name'; run has 'id', 'workflow', 'started_at', 'workflow_dir'",
        ),
    ],
)
def test_an_unknown_run_attribute_is_reported(
    validate: Validate, reference: str, message: str
) -> None:
    body = f'    with: {{path: a.txt, content: "{{{{ {reference} }}}}"}}\n'
    assert validate(_step(body)) == [f"wf.yaml:13:34: {message}"]


def test_runs_attributes_are_valid(validate: Validate) -> None:
    content = "{{ run.id }} {{ run.workflow }} {{ run.started_at }} {{ run['workflow_dir'] }}"
    assert validate(_step(f'    with: {{path: a.txt, content: "{content}"}}\n')) == []


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            '    for_each: [1, 2]\n    if: "{{ item > 1 }}"\n',
            "wf.yaml:14:9: 'if' is evaluated once for the step, before for_each: "
            "'item' is not defined there",
        ),
        (
            '    for_each: "{{ item }}"\n',
            "wf.yaml:13:15: 'item' is not defined in for_each itself: it is each of its items, "
            "in 'with'",
        ),
        (
            '    if: "{{ item }}"\n',
            "wf.yaml:13:9: 'item' is only defined inside a step with for_each",
        ),
    ],
)
def test_item_outside_a_for_each_steps_with_is_reported(
    validate: Validate, body: str, expected: str
) -> None:
    body += '    with: {path: a.txt, content: "{{ inputs.s }}"}\n'
    assert validate(_step(body)) == [expected]


def test_item_in_a_for_each_steps_with_is_valid(validate: Validate) -> None:
    body = """    for_each: "{{ inputs.names }}"
    if: "{{ steps.first.status == 'succeeded' }}"
    with: {path: "{{ item }}.txt", content: "{{ item | upper }}"}
"""
    assert validate(_step(body)) == []


@pytest.mark.parametrize(
    ("for_each", "message"),
    [
        (
            "a,b",
            "step 'a' for_each: 'a,b' is not a list: write a list ([a, b]) or one "
            "{{ expression }} that gives a list",
        ),
        (
            "'[a, b]'",
            "step 'a' for_each: '[a, b]' is not a list: write a list ([a, b]) or one "
            "{{ expression }} that gives a list",
        ),
        (
            '"x-{{ inputs.names }}"',
            "step 'a' for_each: 'x-{{ inputs.names }}' renders to text, not a list: write one "
            "{{ expression }} that gives a list",
        ),
        (
            '"{% for n in inputs.names %}{{ n }}{% endfor %}"',
            "step 'a' for_each: '{% for n in inputs.names %}{{ n }}{% endfor %}' renders to "
            "text, not a list: write one {{ expression }} that gives a list",
        ),
        (
            '"{{ inputs.o }}"',
            "step 'a' for_each: input 'o' is an object, not a list (for_each needs an input "
            "of type array)",
        ),
        (
            "\"{{ inputs['s'] }}\"",
            "step 'a' for_each: input 's' is a string, not a list (for_each needs an input "
            "of type array)",
        ),
    ],
)
def test_a_for_each_that_cannot_give_a_list_is_reported(
    validate: Validate, for_each: str, message: str
) -> None:
    body = f'    for_each: {for_each}\n    with: {{path: a.txt, content: "{{{{ item }}}}"}}\n'
    assert validate(_step(body)) == [f"wf.yaml:13:15: {message}"]


@pytest.mark.parametrize(
    "for_each",
    [
        "[a, b]",
        '"{{ inputs.names }}"',
        '" {{ inputs.o | list }} "',
        "\"{{ inputs.s.split(',') }}\"",
        '"{{ steps.first.outputs.result }}"',
    ],
)
def test_a_for_each_that_can_give_a_list_is_valid(validate: Validate, for_each: str) -> None:
    body = f'    for_each: {for_each}\n    with: {{path: a.txt, content: "{{{{ item }}}}"}}\n'
    assert validate(_step(body)) == []
