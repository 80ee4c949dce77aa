"""The location standard's schemas agree with each other and with the published files."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pytest

from crimegeo.standards import reasons, schema

ROOT = Path(__file__).resolve().parents[2]


def test_published_json_schema_is_current() -> None:
    published = (ROOT / "standards" / "data" / "location-standard.schema.json").read_text()
    assert published == schema.record_json_schema_text(), (
        "regenerate with: crimegeo standard --out standards/data/location-standard.schema.json")


def test_json_schema_and_arrow_schema_name_the_same_fields() -> None:
    json_schema = schema.record_json_schema()
    assert list(json_schema["properties"]) == schema.RECORD_SCHEMA.names
    assert json_schema["properties"]["location_status"]["enum"] == list(
        schema.LOCATION_STATUSES)


@pytest.mark.parametrize("field", schema.RECORD_SCHEMA.names)
def test_every_field_is_documented(field: str) -> None:
    doc = (ROOT / "docs" / "location-standard.md").read_text()
    assert f"`{field}`" in doc


def test_issue_fields_are_present() -> None:
    required = (
        "crime_id month force crime_type outcome location_text street_name area_name lon lat "
        "x_bng y_bng location_status match_type geocode_score gazetteer_id lsoa_code "
        "public_label public_lon public_lat reasons source_file source_row geometry"
    )
    required = required.split(" ")
    assert set(required) <= set(schema.RECORD_SCHEMA.names)
    assert schema.RECORD_SCHEMA.field("reasons").type == pa.list_(pa.string())
    assert schema.RECORD_SCHEMA.field("geometry").type == pa.binary()


def test_public_schema_has_no_exact_location_or_source() -> None:
    forbidden = {"lon", "lat", "x_bng", "y_bng", "location_text", "source_file", "source_row",
                 "supplied_x", "supplied_y", "street_name"}
    assert not forbidden & set(schema.PUBLIC_SCHEMA.names)


def test_json_schema_validates_a_real_record_and_rejects_a_bad_one() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    record = {name: None for name in schema.RECORD_SCHEMA.names}
    record.update(crime_id="abc", month="2024-03", force="kent", crime_type="Burglary",
                  location_status="supplied", reasons=[], source_file="f.csv", source_row=1)
    jsonschema.validate(record, schema.record_json_schema())
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**record, "month": "2024-13"}, schema.record_json_schema())
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**record, "location_status": "guessed"},
                            schema.record_json_schema())
    json.dumps(schema.record_json_schema())


def test_every_reason_code_has_a_meaning_and_a_constant() -> None:
    for code, reason in reasons.REASONS.items():
        assert reason.meaning.endswith(".")
        assert getattr(reasons, code) == code
    with pytest.raises(KeyError, match="NOT_A_CODE"):
        reasons.meaning("NOT_A_CODE")
