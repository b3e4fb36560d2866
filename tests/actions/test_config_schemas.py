"""The config schemas `validate` uses agree with what the client accepts and refuses."""

from __future__ import annotations

from typing import Any

import pytest
from jsonschema import Draft202012Validator

from runner.actions.config_schemas import config_schemas
from runner.client import InvalidConfigurationError
from runner.client._configs import (
    DOCKER_FIELDS,
    INPUT_FIELDS,
    INPUT_TYPES,
    LIGHTLY_FIELDS,
    STRATEGY_FIELDS,
    STRATEGY_TYPES,
    convert_config,
    selection_config_from_dict,
)
from runner.client.models import to_snake
from runner.workflow.schema import template_tolerant

# as validate uses them: templates accepted at any depth by the workflow layer
SCHEMAS = {
    name: Draft202012Validator(template_tolerant(schema))
    for name, schema in config_schemas().items()
}


def every_key(fields: dict[str, Any], spell: Any) -> dict[str, Any]:
    return {
        spell(key): every_key(nested, spell) if isinstance(nested, dict) else 1
        for key, nested in fields.items()
    }


def selection(spell: Any) -> dict[str, Any]:
    def section(fields: set[str], kind: str) -> dict[str, Any]:
        return {**{spell(key): 1 for key in fields}, "type": kind}

    entries = [
        {"input": section(INPUT_FIELDS, i), "strategy": section(STRATEGY_FIELDS, s)}
        for i, s in zip(sorted(INPUT_TYPES), sorted(STRATEGY_TYPES), strict=True)
    ]
    return {spell("nSamples"): 5, "strategies": entries}


@pytest.mark.parametrize("spell", [str, to_snake], ids=["camelCase", "snake_case"])
def test_every_key_the_client_accepts_the_schema_accepts(spell: Any) -> None:
    for name, fields in (("worker_config", DOCKER_FIELDS), ("lightly_config", LIGHTLY_FIELDS)):
        config = every_key(fields, spell)
        convert_config(config, fields, name)
        assert list(SCHEMAS[name].iter_errors(config)) == []
    config = selection(spell)
    selection_config_from_dict(config)
    assert list(SCHEMAS["selection_config"].iter_errors(config)) == []


@pytest.mark.parametrize(
    ("name", "config"),
    [
        ("worker_config", {"enable_trainig": True}),
        ("worker_config", {"corruptness_check": {"threshold": 0.1}}),
        ("lightly_config", {"loader": {"batch_sise": 16}}),
        ("selection_config", {"n_sample": 1, "strategies": []}),
        (
            "selection_config",
            {
                "n_samples": 1,
                "strategies": [{"input": {"type": "EMBEDDING"}, "strategy": {"type": "DIVERSITY"}}],
            },
        ),
        (
            "selection_config",
            {
                "n_samples": 1,
                "strategies": [
                    {"input": {"type": "RANDOM"}, "strategy": {"type": "WEIGHTS", "tresh": 1}}
                ],
            },
        ),
    ],
)
def test_what_the_client_refuses_the_schema_refuses(name: str, config: dict[str, Any]) -> None:
    with pytest.raises(InvalidConfigurationError):
        if name == "selection_config":
            selection_config_from_dict(config)
        else:
            convert_config(
                config, DOCKER_FIELDS if name == "worker_config" else LIGHTLY_FIELDS, name
            )
    assert list(SCHEMAS[name].iter_errors(config))


def test_templates_stand_for_sections_and_types() -> None:
    config = {
        "n_samples": "{{ inputs.n }}",
        "strategies": [
            {"input": {"type": "{{ inputs.kind }}"}, "strategy": "{{ inputs.strategy }}"},
        ],
    }
    assert list(SCHEMAS["selection_config"].iter_errors(config)) == []
    assert list(SCHEMAS["selection_config"].iter_errors({"strategies": "{{ x }}"})) == []
    assert list(SCHEMAS["worker_config"].iter_errors({"datasource": "{{ x }}"})) == []


@pytest.mark.parametrize(
    "custom_metadata",
    [
        {"images": [{"id": 1, "file_name": "a.jpg"}], "metadata": [{"image_id": 1, "x": 2}]},
        {"info": {}, "images": [], "metadata": []},  # COCO's other keys are fine
        {"images": [{"id": 1}], "metadata": []},
        {"images": [], "metadata": [{"imageId": 1}]},
        {"images": [], "metadata": 5},
        {"images": []},
    ],
)
def test_the_custom_metadata_schema_and_the_client_agree(custom_metadata: Any) -> None:
    from runner.client.metadata import check_entries, verify_format

    try:
        verify_format(custom_metadata)
        check_entries(custom_metadata)
        client_accepts = True
    except (KeyError, ValueError):
        client_accepts = False
    schema_errors = list(SCHEMAS["custom_metadata"].iter_errors(custom_metadata))
    assert (schema_errors == []) == client_accepts
