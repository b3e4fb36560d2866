"""Attribute access on API objects (``WireModel``): fields, absent fields, misspellings."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from runner.client._wire_fields import WIRE_FIELDS
from runner.client.models import WireModel, wire

MODELS_MD = Path(__file__).resolve().parents[3] / "shared" / "lightly-api" / "MODELS.md"
TAG = {"id": "a" * 24, "name": "initial-tag", "bitMaskData": "0x7", "totSize": 3, "createdAt": 1}


def test_fields_read_by_their_snake_case_names_and_absent_ones_as_none() -> None:
    tag = WireModel(TAG)
    assert (tag.bit_mask_data, tag.tot_size, tag.name) == ("0x7", 3, "initial-tag")
    assert tag.run_id is None and tag.prev_tag_id is None  # optional, left out by the server


def test_acronyms_in_wire_names_read_by_the_official_attribute_names() -> None:
    schema = WireModel({"predictionUUIDTimestamp": 5, "s3ARN": "arn:aws:iam::1:role/x"})
    assert schema.prediction_uuid_timestamp == 5 and schema.s3_arn == "arn:aws:iam::1:role/x"


def test_a_misspelt_field_is_an_attribute_error_with_the_right_name() -> None:
    tag = WireModel(TAG)
    with pytest.raises(
        AttributeError, match="no field 'bitmask_data'; did you mean 'bit_mask_data'"
    ):
        tag.bitmask_data  # noqa: B018
    assert not hasattr(tag, "bitmask_data")
    with pytest.raises(AttributeError, match="no field 'xyzzy'; it has: bit_mask_data, created_at"):
        tag.xyzzy  # noqa: B018


def test_nested_objects_are_models_too() -> None:
    run = wire({"id": "e" * 24, "artifacts": [{"id": "1" * 24, "type": "LOG", "fileName": "l"}]})
    assert run.artifacts[0].file_name == "l" and run.message is None
    with pytest.raises(AttributeError, match="did you mean 'file_name'"):
        run.artifacts[0].filename  # noqa: B018


@pytest.mark.skipif(not MODELS_MD.exists(), reason="needs ../shared/lightly-api/MODELS.md")
def test_every_field_of_the_models_is_known() -> None:
    listed = set(re.findall(r"`([A-Za-z_]\w*)`(?=: |\*\*:| opt| \*\*req)", MODELS_MD.read_text()))
    assert listed - {"TagChangeEntry"} <= WIRE_FIELDS
