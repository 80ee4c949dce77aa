"""Feedback a force can act on: the candidates of records left unlocated by their name, and
the matched name of every geocoded record, on a gazetteer of the City of London's real
police.uk map points."""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import replace

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from crimegeo.feeds.store import corrections_json
from crimegeo.standards import reasons
from crimegeo.standards.coordinates import to_bng
from crimegeo.standards.schema import CORRECTION_COLUMNS, MAX_CANDIDATES
from crimegeo.transforms.arrivals import RECORD_COLUMNS
from crimegeo.transforms.feedback import corrections_csv, corrections_geojson, records_part
from crimegeo.transforms.locate import locate
from crimegeo.transforms.outputs import parquet_bytes
from crimegeo.transforms.standardise import PARSED_SCHEMA
from tests.conftest import default_locate_options, shared_data

DEFAULTS = default_locate_options()
FORCE = "city-of-london"
CANTERBURY = (1.0789, 51.2802)  # in Kent: a point outside the City, kept as supplied


@pytest.fixture(scope="module")
def col_gazetteer(tmp_path_factory: pytest.TempPathFactory):
    """A gazetteer of the City's published map points, 2017-12..2019-06 (real data)."""
    from crimegeo.gazetteer import Gazetteer, build_gazetteer

    folder = shared_data("police-uk", "city-of-london")
    files = sorted(str(p) for p in folder.glob("*-city-of-london-street.csv"))[:19]
    out = tmp_path_factory.mktemp("col") / "gaz"
    build_gazetteer(files, str(out))
    return Gazetteer.load(str(out))


def _parsed(rows: list[dict]) -> pa.Table:
    base = {"crime_id": "c", "month": "2020-03", "force": FORCE, "crime_type": "Shoplifting",
            "outcome": None, "context": None, "location_text": None, "street_name": None,
            "area_name": None, "supplied_x": None, "supplied_y": None,
            "supplied_crs": "EPSG:4326", "coordinates_invalid": False,
            "supplied_lsoa_code": None, "supplied_lsoa_name": None, "source_file": "col.csv"}
    return pa.Table.from_pylist(
        [{**base, **row, "source_row": i + 1} for i, row in enumerate(rows)],
        schema=PARSED_SCHEMA)


ROWS = [
    {"street_name": "Supermarket"},                                   # 1 ambiguous
    {"street_name": "Supermarket", "supplied_x": CANTERBURY[0],       # 2 ambiguous, with a
     "supplied_y": CANTERBURY[1]},                                    #   point (outside)
    {"street_name": "Zqxjv Wharfingers Causeway"},                    # 3 nothing found
    {"street_name": "Cheapside"},                                     # 4 exact: located
    {"street_name": "cheapside"},                                     # 5 normalised: located
    {"area_name": "Zqxjv Nowhere"},                                   # 6 area only, nothing
]


def test_unlocated_records_carry_their_candidates(col_gazetteer) -> None:
    rows = locate(_parsed(ROWS), col_gazetteer, DEFAULTS).to_pylist()
    ambiguous, ambiguous_with_point, nothing, exact, normalised, area_nothing = rows

    # "Supermarket": many places, no way to choose; the force is told how many and shown three.
    assert reasons.GEOCODE_AMBIGUOUS in ambiguous["reasons"]
    assert ambiguous["candidate_count"] > MAX_CANDIDATES
    assert len(ambiguous["candidates"]) == MAX_CANDIDATES
    ids = [c["gazetteer_id"] for c in ambiguous["candidates"]]
    assert len(set(ids)) == MAX_CANDIDATES
    assert ids[0] == ambiguous["gazetteer_id"]
    assert ambiguous["matched_name"] == "Supermarket"
    for candidate in ambiguous["candidates"]:
        assert candidate["name"] == "Supermarket" and candidate["distance_m"] is None
        # Every id resolves for a person (``crimegeo gazetteer show ID``).
        (feature,) = col_gazetteer.show(candidate["gazetteer_id"])
        assert feature["name"] == "Supermarket"

    # With a supplied point, each candidate's distance from it, in metres.
    assert reasons.OUTSIDE_FORCE in ambiguous_with_point["reasons"]
    assert ambiguous_with_point["candidate_count"] == ambiguous["candidate_count"]
    (px,), (py,) = to_bng([CANTERBURY[0]], [CANTERBURY[1]])
    for candidate in ambiguous_with_point["candidates"]:
        (feature,) = col_gazetteer.show(candidate["gazetteer_id"])
        expected = math.hypot(feature["x"] - px, feature["y"] - py)
        assert candidate["distance_m"] == pytest.approx(expected, abs=0.1)
        assert candidate["distance_m"] > 80_000  # Canterbury is ~85 km from the City

    # Nothing found: a count of none, no candidates; by street or by area alone.
    for row in (nothing, area_nothing):
        assert reasons.GEOCODE_NO_MATCH in row["reasons"]
        assert (row["candidate_count"], row["candidates"]) == (0, [])

    # Located records carry the name they were located at, and no candidates.
    for row in (exact, normalised):
        assert row["location_status"] == "geocoded_street"
        assert row["matched_name"] == "Cheapside"
        assert row["candidate_count"] is None and row["candidates"] is None


def test_a_low_score_names_its_suggestions(col_gazetteer) -> None:
    strict = replace(DEFAULTS, min_geocode_score=0.999)
    (row,) = locate(_parsed([{"street_name": "Cheapsdie"}]), col_gazetteer,
                    strict).to_pylist()
    assert reasons.GEOCODE_LOW_SCORE in row["reasons"]
    assert row["candidate_count"] >= 1
    assert row["candidates"][0]["name"] == "Cheapside" == row["matched_name"]
    # Under the default threshold the same slip is located, and carries no candidates.
    (row,) = locate(_parsed([{"street_name": "Cheapsdie"}]), col_gazetteer,
                    DEFAULTS).to_pylist()
    assert row["location_status"] == "geocoded_street" and row["candidates"] is None


def _csv_rows(data: bytes) -> list[dict]:
    return list(csv.DictReader(io.StringIO(data.decode())))


def test_feedback_files_carry_candidates_and_matched_names(col_gazetteer) -> None:
    records = locate(_parsed(ROWS), col_gazetteer, DEFAULTS)
    csv_bytes = corrections_csv([records_part(records).corrections])
    rows = _csv_rows(csv_bytes)
    assert list(rows[0]) == list(CORRECTION_COLUMNS)
    by_row = {int(r["source_row"]): r for r in rows}
    located = records.to_pylist()
    for number in (1, 2):
        row, record = by_row[number], located[number - 1]
        assert int(row["candidate_count"]) == record["candidate_count"]
        for i, candidate in enumerate(record["candidates"], start=1):
            assert row[f"candidate_{i}_name"] == "Supermarket"
            assert row[f"candidate_{i}_gazetteer_id"] == candidate["gazetteer_id"]
    assert by_row[1]["candidate_1_distance_m"] == ""
    assert float(by_row[2]["candidate_1_distance_m"]) == pytest.approx(
        located[1]["candidates"][0]["distance_m"])
    assert (by_row[3]["candidate_count"], by_row[3]["candidate_1_name"]) == ("0", "")
    assert (by_row[4]["matched_name"], by_row[4]["candidate_count"]) == ("Cheapside", "")

    features = json.loads(corrections_geojson([records_part(records).corrections]))["features"]
    properties = {f["properties"]["source_row"]: f["properties"] for f in features}
    assert properties[2]["candidate_count"] == located[1]["candidate_count"]
    assert properties[2]["candidate_3_gazetteer_id"] == located[1]["candidates"][2][
        "gazetteer_id"]
    assert properties[4]["matched_name"] == "Cheapside"

    document = json.loads(corrections_json(csv_bytes, FORCE, "2020-03"))
    first = {r["source_row"]: r for r in document["records"]}
    assert isinstance(first[2]["candidate_count"], int)
    assert isinstance(first[2]["candidate_1_distance_m"], float)
    assert first[1]["candidate_1_distance_m"] is None


def test_streaming_feedback_rebuilds_candidates_from_the_restricted_part(col_gazetteer) -> None:
    """Streaming builds a month's feedback again from the published restricted parts: the
    candidates survive the Parquet round trip, so both give the same bytes."""
    records = locate(_parsed(ROWS), col_gazetteer, DEFAULTS)
    read = pq.read_table(io.BytesIO(parquet_bytes(records, "lon", "lat")),
                         columns=list(RECORD_COLUMNS)).sort_by("source_row")
    read = read.append_column("month", pa.array(["2020-03"] * read.num_rows))
    assert corrections_csv([records_part(read).corrections]) == corrections_csv(
        [records_part(records).corrections])


def test_streaming_feedback_reads_parts_written_before_the_candidates(col_gazetteer,
                                                                     tmp_path) -> None:
    """A month whose restricted parts were published before standard 1.1.0 lacks the three
    columns: its feedback is rebuilt with them empty, not refused."""
    from crimegeo.transforms.arrivals import force_month_feedback
    from crimegeo.transforms.batches import Batch, write_record_parts

    records = locate(_parsed(ROWS), col_gazetteer, DEFAULTS)
    old = records.drop_columns(["matched_name", "candidate_count", "candidates"])
    write_record_parts(str(tmp_path), "2020-03", Batch("col.csv", FORCE, old), public=False)
    files = force_month_feedback(str(tmp_path), "2020-03", FORCE)
    rows = _csv_rows(files["corrections.csv"])
    assert [int(r["source_row"]) for r in rows] == [1, 2, 3, 4, 5, 6]
    assert all(r["candidate_count"] == "" and r["matched_name"] == "" for r in rows)
