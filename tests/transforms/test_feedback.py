"""Feedback files: corrections as CSV and GeoJSON, summaries with month-on-month change."""

from __future__ import annotations

import csv
import io
import json
import math

import pyarrow as pa
import pytest

from crimegeo.standards.months import previous_month
from crimegeo.standards.schema import CORRECTION_COLUMNS, CORRECTION_SCHEMA, REJECTED_SCHEMA
from crimegeo.transforms.feedback import (
    corrections_csv,
    corrections_geojson,
    corrections_table,
    feedback_parts_files,
    records_part,
    rejected_part,
    rejected_table,
    render_file_parts,
    summary,
)
from crimegeo.transforms.locate import locate
from crimegeo.transforms.standardise import PARSED_SCHEMA
from tests.conftest import default_locate_options

DEFAULTS = default_locate_options()


def _records() -> pa.Table:
    base = {"crime_id": "c", "month": "2024-03", "force": "kent", "crime_type": "Burglary",
            "outcome": None, "context": None, "location_text": None, "street_name": None,
            "area_name": None, "supplied_crs": "EPSG:4326", "coordinates_invalid": False,
            "supplied_lsoa_code": None, "supplied_lsoa_name": None, "source_file": "k.csv"}
    rows = [{"supplied_x": 1.08, "supplied_y": 51.28},            # fine
            {"supplied_x": 51.28, "supplied_y": 1.08},            # swapped
            {"supplied_x": None, "supplied_y": None,              # formula-looking text
             "location_text": "=HYPERLINK(1)"}]
    table = pa.Table.from_pylist([{**base, **r, "source_row": i + 1}
                                  for i, r in enumerate(rows)], schema=PARSED_SCHEMA)
    return locate(table, None, DEFAULTS)


def _rejected() -> pa.Table:
    return pa.Table.from_pylist([{
        "source_file": "k.csv", "source_row": 4, "force": "kent", "month": "2024-03",
        "profile": "p", "reason": "MALFORMED_ROW", "detail": "expected 12 fields, found 2",
        "raw": "@bad,row"}], schema=REJECTED_SCHEMA)


def test_corrections_cover_changed_and_rejected_rows_only() -> None:
    tables = [rejected_table(_rejected()), corrections_table(_records())]
    rows = pa.concat_tables(tables).sort_by("source_row").to_pylist()
    assert [r["source_row"] for r in rows] == [2, 3, 4]
    swapped, unlocated, rejected = rows
    assert swapped["action"] == "coordinates corrected" and swapped["reasons"] == "SWAPPED_AXES"
    assert "swapped" in swapped["reason_meanings"]
    assert unlocated["action"] == "left unlocated"
    assert rejected["action"] == "rejected" and rejected["detail"]
    parsed = list(csv.DictReader(io.StringIO(corrections_csv(tables).decode())))
    assert [int(r["source_row"]) for r in parsed] == [2, 3, 4]
    assert parsed[1]["supplied_location"].startswith("'=")
    assert parsed[2]["supplied_location"] == "'@bad,row"
    assert parsed[0]["supplied_x"] == "51.28"  # numbers are not neutralised
    geojson = json.loads(corrections_geojson(tables))
    assert geojson["type"] == "FeatureCollection" and len(geojson["features"]) == 3
    first = geojson["features"][0]
    assert first["geometry"]["type"] == "Point"
    assert first["geometry"]["coordinates"][0] == swapped["lon"]
    assert geojson["features"][1]["geometry"] is None
    assert first["properties"]["reasons"] == ["SWAPPED_AXES"]
    assert first["properties"]["supplied_location"] is None


def _awkward_corrections() -> pa.Table:
    """Correction rows with every kind of value the GeoJSON must write as JSON does."""
    rows = [
        {"source_row": 1, "supplied_location": 'On or near "The" Arches\\Yard', "lon": -0.1,
         "lat": 51.5, "supplied_x": 532123.0, "supplied_y": 181000.25,
         "reasons": "SWAPPED_AXES;;GEOCODED_STREET;", "detail": "tab\there\nline\x01 é ✓"},
        {"source_row": 2, "supplied_location": None, "lon": None, "lat": None,
         "supplied_x": float("nan"), "supplied_y": float("inf"), "reasons": "",
         "geocode_score": 1e-07, "detail": None},
        {"source_row": 3, "supplied_location": "=SUM(A1)", "lon": float("nan"), "lat": 51.5,
         "reasons": None, "geocode_score": 0.98, "candidate_count": 2},
    ]
    columns = {name: [row.get(name) for row in rows] for name in CORRECTION_COLUMNS}
    columns["source_file"] = ["k.csv"] * len(rows)
    return pa.table(columns, schema=CORRECTION_SCHEMA)


def test_geojson_writes_each_value_as_json_does() -> None:
    # The features are made column by column in Arrow; they must say what one JSON object
    # per row says, whatever the text holds.
    table = _awkward_corrections()
    features = json.loads(corrections_geojson([table]))["features"]
    assert len(features) == 3
    for feature, row in zip(features, table.to_pylist(), strict=True):
        expected = {name: (None if isinstance(value, float) and not math.isfinite(value)
                           else value) for name, value in row.items()}
        expected["reasons"] = [code for code in (row["reasons"] or "").split(";") if code]
        assert feature["properties"] == expected
    assert features[0]["geometry"] == {"type": "Point", "coordinates": [-0.1, 51.5]}
    assert features[0]["properties"]["detail"] == "tab\there\nline\x01 é ✓"
    assert isinstance(features[0]["properties"]["supplied_x"], float)  # written 532123.0
    assert features[1]["geometry"] is None
    assert features[2]["geometry"] == {"type": "Point", "coordinates": [None, 51.5]}
    # the CSV of the same rows neutralises only the text that starts as a formula
    parsed = list(csv.DictReader(io.StringIO(corrections_csv([table]).decode())))
    assert [r["supplied_location"] for r in parsed] == [
        'On or near "The" Arches\\Yard', "", "'=SUM(A1)"]


def test_empty_feedback_has_a_header() -> None:
    text = corrections_csv([]).decode()
    assert text.splitlines() == [",".join(CORRECTION_COLUMNS)]


def test_summary_counts_and_month_on_month_change() -> None:
    before = summary("kent", "2024-02", [records_part(_records().slice(0, 1))], None)
    now = summary("kent", "2024-03", [records_part(_records()), rejected_part(_rejected())],
                  before)
    assert now["records"] == 3 and now["rejected"] == 1
    assert now["counts_by_status"] == {"corrected": 1, "supplied": 1, "unlocated": 1}
    assert now["counts_by_reason"]["SWAPPED_AXES"] == 1
    assert now["rejected_by_reason"] == {"MALFORMED_ROW": 1}
    assert now["previous_month"] == "2024-02"
    assert now["change_from_previous_month"]["records"] == 2
    assert now["change_from_previous_month"]["counts_by_status"]["supplied"] == 0
    assert "MALFORMED_ROW" in now["reason_meanings"]
    assert previous_month("2024-01") == "2023-12" and previous_month("2024-11") == "2024-10"


def test_files_rendered_apart_give_the_bytes_of_rendering_them_together() -> None:
    """A worker renders each file's rows (`render_file_parts`); a force's feedback joins
    them in file order, and must be what rendering every row at once gives."""
    def of_file(name: str, records: pa.Table, rejected: pa.Table) -> list:
        records = records.set_column(records.schema.get_field_index("source_file"),
                                     "source_file", pa.array([name] * records.num_rows))
        rejected = rejected.set_column(rejected.schema.get_field_index("source_file"),
                                       "source_file", pa.array([name] * rejected.num_rows))
        return [records_part(records), rejected_part(rejected)]  # rows 2, 3 then 4

    second, first = of_file("z.csv", _records(), _rejected()), of_file("a.csv", _records(),
                                                                       _rejected())
    together = feedback_parts_files(second + first, {"n": 1})
    apart = feedback_parts_files([render_file_parts(second), render_file_parts(first)],
                                 {"n": 1})
    assert apart == together
    rows = list(csv.DictReader(io.StringIO(together["corrections.csv"].decode())))
    assert [(r["source_file"], r["source_row"]) for r in rows] == [
        ("a.csv", "2"), ("a.csv", "3"), ("a.csv", "4"), ("z.csv", "2"), ("z.csv", "3"),
        ("z.csv", "4")]
    assert len(json.loads(together["corrections.geojson"])["features"]) == 6
    merged = render_file_parts(first)
    assert (merged.records, merged.rejected) == (3, 1)
    assert merged.corrections.num_rows == 0 and merged.rendered.rows == 3
    assert feedback_parts_files([], {})["corrections.csv"] == corrections_csv([])
    with pytest.raises(ValueError, match="one file"):
        render_file_parts(first + second)


def test_rows_spilled_to_files_give_the_same_feedback(tmp_path) -> None:
    """Workers may leave each file's rendered rows in a local folder and send back only
    their paths; the force's feedback read from there is the same bytes."""
    first = [records_part(_records()), rejected_part(_rejected())]
    spilled = render_file_parts(first, str(tmp_path))
    assert spilled.rendered.rows == 3 and spilled.rendered.csv_path.startswith(str(tmp_path))
    assert sorted(path.suffix for path in tmp_path.iterdir()) == [".csv", ".geojson"]
    assert (feedback_parts_files([spilled], {"n": 1})
            == feedback_parts_files([render_file_parts(first)], {"n": 1})
            == feedback_parts_files(first, {"n": 1}))
