"""The demo month end to end through the Prefect flow: counts reconcile, every format is read,
every injected defect is put right or rejected with the right reason, and the GeoParquet reads
back in geopandas and DuckDB."""

from __future__ import annotations

import csv
import json
from collections import Counter, defaultdict
from pathlib import Path

import duckdb
import geopandas
import pytest

from crimegeo.standards import reasons
from crimegeo.store.current import live_files
from tests.conftest import live, read_live

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def flow_run(demo_month: dict, tmp_path_factory: pytest.TempPathFactory,
             prefect_harness: None) -> dict:
    from crimegeo.flows.monthly import monthly_flow
    from crimegeo.pipelines.settings import settings_from_argv

    output = tmp_path_factory.mktemp("flow-output")
    settings = settings_from_argv(["--input", str(demo_month["root"] / "input"),
                                   "--output", str(output),
                                   "--gazetteer", demo_month["gazetteer"]])
    manifest = monthly_flow("2024-03", settings)["manifest"]
    return {"manifest": manifest, "output": output, **demo_month}


def _restricted(output: Path) -> list[dict]:
    return read_live(output, "restricted").to_pylist()


def _truth(path: str) -> dict[tuple[str, int], dict]:
    with open(path, encoding="utf-8") as handle:
        return {(row["source_file"], int(row["source_row"])): row
                for row in csv.DictReader(handle)}


def test_rows_reconcile_for_every_file(flow_run: dict) -> None:
    manifest = flow_run["manifest"]
    assert manifest == json.loads(
        (live(flow_run["output"], "2024-03") / "runs" / "2024-03" / "manifest.json").read_text())
    assert set(manifest["files"]) == set(flow_run["files"])
    for name, stats in manifest["files"].items():
        assert stats["rows_in"] == flow_run["files"][name]["rows"]
        assert stats["rows_in"] == stats["rows_written"] + stats["rows_rejected"]
        assert stats["checksum"].startswith("sha256:")
    assert {s["profile"] for s in manifest["files"].values()} == {
        "police-uk-street", "kent-bng-export", "west-midlands-jsonl",
        "police-uk-reexport-snake"}
    assert manifest["forces"] == ["city-of-london", "kent", "merseyside", "west-midlands"]
    assert manifest["coordinate_transformation"].startswith("OSTN15")
    assert manifest["gazetteer_checksum"]
    assert manifest["gazetteer_name_rules"] == "current"  # built by this code's rules
    restricted = read_live(flow_run["output"], "restricted")
    rejected = read_live(flow_run["output"], "rejected")
    assert restricted.num_rows == manifest["totals"]["rows_written"]
    assert rejected.num_rows == manifest["totals"]["rows_rejected"]
    # Every input row is in exactly one output, once.
    keys = Counter(zip(restricted["source_file"].to_pylist(),
                       restricted["source_row"].to_pylist(), strict=True))
    keys.update(zip(rejected["source_file"].to_pylist(), rejected["source_row"].to_pylist(),
                    strict=True))
    assert set(keys) == set(_truth(flow_run["truth"]))
    assert set(keys.values()) == {1}


# What each injected defect must become: (status or "rejected", a reason it must carry).
EXPECTED = {
    "none": ("supplied", None),
    "missing_street": ("geocoded_street", reasons.MISSING_COORDINATES),
    "abbreviated": ("geocoded_street", reasons.MISSING_COORDINATES),
    "missing_area": ("geocoded_area", reasons.GEOCODED_AREA),
    "swapped": ("corrected", reasons.SWAPPED_AXES),
    "outside_force": ("geocoded_street", reasons.OUTSIDE_FORCE),
    "far_from_street": ("geocoded_street", reasons.FAR_FROM_STREET),
    "zero": ("geocoded_street", reasons.ZERO_COORDINATES),
    "malformed": ("rejected", reasons.MALFORMED_ROW),
    "bad_month": ("rejected", reasons.INVALID_MONTH),
    "unknown_offence": ("rejected", reasons.UNKNOWN_CRIME_TYPE),
}


def test_every_defect_is_corrected_or_rejected_with_its_reason(flow_run: dict) -> None:
    truth = _truth(flow_run["truth"])
    outcomes: dict[tuple[str, int], tuple[str, list[str], dict]] = {}
    for row in _restricted(flow_run["output"]):
        # Location defects only: reasons about what is published (an outcome withheld,
        # no public point) are checked by the public dataset's own tests.
        codes = [code for code in row["reasons"] if reasons.REASONS[code].kind != "public"]
        outcomes[(row["source_file"], row["source_row"])] = (
            row["location_status"], codes, row)
    for row in read_live(flow_run["output"], "rejected").to_pylist():
        outcomes[(row["source_file"], row["source_row"])] = ("rejected", [row["reason"]], row)
    wrong: dict[str, list] = defaultdict(list)
    seen = Counter()
    for key, fact in truth.items():
        status, codes, row = outcomes[key]
        defect = fact["defect"]
        seen[defect] += 1
        if defect == "crs_mixup":
            ok = status == "corrected" and (
                reasons.BNG_IN_LONLAT in codes or reasons.LONLAT_IN_BNG in codes)
        elif defect == "typo":
            # A misspelt street is found by fuzzy matching, or honestly not located.
            ok = (status == "geocoded_street" and row["gazetteer_id"] == fact["gazetteer_id"]
                  ) or status in ("geocoded_area", "unlocated")
        else:
            want_status, want_code = EXPECTED[defect]
            ok = status == want_status and (want_code is None and codes == [] or
                                            want_code in codes)
            if ok and status == "geocoded_street":
                ok = row["gazetteer_id"] == fact["gazetteer_id"]
        if not ok:
            wrong[defect].append((key, status, codes))
    assert set(seen) >= set(EXPECTED) | {"crs_mixup", "typo"}
    assert not wrong, {d: v[:3] for d, v in wrong.items()}


def test_located_points_are_where_the_truth_says(flow_run: dict) -> None:
    truth = _truth(flow_run["truth"])
    rows = _restricted(flow_run["output"])
    checked = corrected = 0
    for row in rows:
        fact = truth[(row["source_file"], row["source_row"])]
        if row["location_status"] in ("supplied", "corrected") and not row["reasons"] or (
                row["location_status"] == "corrected"):
            assert row["lon"] == pytest.approx(float(fact["true_lon"]), abs=2e-5)
            assert row["lat"] == pytest.approx(float(fact["true_lat"]), abs=2e-5)
            checked += 1
            corrected += row["location_status"] == "corrected"
    # Most records keep a clean supplied point, and the demo month injects corrections.
    assert checked > len(rows) / 2 and corrected > 0


def test_geoparquet_reads_in_geopandas_and_duckdb(flow_run: dict) -> None:
    output = flow_run["output"]
    kent = live(output, "2024-03") / "restricted" / "month=2024-03" / "force=kent"
    frame = geopandas.read_parquet(next(kent.glob("*.parquet")))
    assert frame.crs.to_string() == "OGC:CRS84"  # longitude/latitude on WGS84
    located = frame[frame.geometry.notna()]
    assert len(located) > 0.9 * len(frame)
    assert (located.geometry.x - located["lon"]).abs().max() < 1e-9
    whole = geopandas.read_parquet(live(output, "2024-03") / "restricted")
    assert set(whole["force"].astype(str)) == set(flow_run["manifest"]["forces"])
    assert len(whole[whole["force"] == "kent"]) == len(frame)
    counts = duckdb.sql(
        f"select force, location_status, count(*) n from read_parquet("
        f"{live_files(str(output), 'restricted')!r}, hive_partitioning = true) "
        "where month = '2024-03' group by all").fetchall()
    by_force = Counter()
    for force, _status, n in counts:
        by_force[force] += n
    manifest = flow_run["manifest"]
    assert sum(by_force.values()) == manifest["totals"]["rows_written"]
    assert set(by_force) == set(manifest["forces"])


def test_public_output_carries_no_exact_location(flow_run: dict) -> None:
    from crimegeo.gazetteer import Gazetteer

    output = flow_run["output"]
    public = read_live(output, "public")
    forbidden = {"lon", "lat", "x_bng", "y_bng", "location_text", "source_file", "source_row",
                 "supplied_x", "supplied_y", "street_name"}
    assert not forbidden & set(public.column_names)
    gazetteer = Gazetteer.load(flow_run["gazetteer"])
    map_points = {(round(m.lon, 6), round(m.lat, 6)) for m in (
        gazetteer.lookup(name, force=force, limit=1)[0] for force, name in (
            (row["force"], row["public_label"].removeprefix("On or near "))
            for row in public.to_pylist() if row["public_label"]))}
    inputs = {(round(r["supplied_x"], 6), round(r["supplied_y"], 6))
              for r in _restricted(output) if r["supplied_x"] is not None}
    public_points = {(round(r["public_lon"], 6), round(r["public_lat"], 6))
                     for r in public.to_pylist() if r["public_lon"] is not None}
    assert public_points
    assert (public_points & inputs) <= map_points
    assert all(label.startswith("On or near ") for label in
               public["public_label"].drop_null().to_pylist())


def test_feedback_lists_every_changed_and_rejected_record(flow_run: dict) -> None:
    output = flow_run["output"]
    restricted = _restricted(output)
    rejected = read_live(output, "rejected").to_pylist()
    for force in flow_run["manifest"]["forces"]:
        path = (live(output, "2024-03") / "feedback" / f"force={force}" / "month=2024-03"
                / "corrections.csv")
        with open(path, encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
        listed = {(r["source_file"], int(r["source_row"])) for r in rows}
        changed = {(r["source_file"], r["source_row"]) for r in restricted
                   if r["force"] == force and r["location_status"] != "supplied"}
        refused = {(r["source_file"], r["source_row"]) for r in rejected
                   if r["force"] == force}
        assert changed and refused
        assert changed | refused <= listed
        for row in rows:
            assert row["reasons"] and row["reason_meanings"]
            if row["action"] == "rejected":
                assert row["detail"]
