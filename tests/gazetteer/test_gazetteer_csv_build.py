"""Building from a plain CSV, loading, forward lookups, batch lookups, reverse and public points."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from gazetteer_testdata import SMALL_FEATURES, write_small_csv

from crimegeo.gazetteer import Gazetteer, GazetteerError, Match, ReverseMatch, build_gazetteer
from crimegeo.gazetteer.geo import to_bng
from crimegeo.gazetteer.model import JSON_KEYS


def test_manifest_describes_the_artifact(small_gaz: Gazetteer) -> None:
    m = small_gaz.manifest
    assert m["features"] == len(small_gaz) == len(SMALL_FEATURES)
    assert m["crs"] == "EPSG:27700"
    assert m["counts_by_type"]["Named Road"] == 13
    src = m["sources"][0]
    assert src["format"] == "csv" and len(src["files"][0]["sha256"]) == 64
    assert len(small_gaz.checksum) == 64
    root = Path(small_gaz.path)
    for name in ("features.parquet", "features.arrow", "rtree.dat", "rtree.idx", "keys.arrow",
                 "index/key_hash.npy", "manifest.json"):
        assert (root / name).exists(), name


def test_checksum_is_stable_across_builds(tmp_path: Path) -> None:
    src = write_small_csv(tmp_path / "s.csv")
    a = build_gazetteer([str(src)], str(tmp_path / "a"))
    b = build_gazetteer([str(src)], str(tmp_path / "b"))
    assert a["checksum"] == b["checksum"]


def test_a_gazetteer_built_by_other_name_rules_is_noticed(
        tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keys are made when the gazetteer is built; a rule added since (an abbreviation) would
    read a name differently, and the gazetteer would silently find fewer names. The manifest
    records the rules, and loading says when they differ."""
    from crimegeo.gazetteer import normalise

    src = write_small_csv(tmp_path / "s.csv")
    built = build_gazetteer([str(src)], str(tmp_path / "gaz"))
    assert built["name_rules"] == normalise.name_rules_fingerprint()
    with caplog.at_level("WARNING"):
        assert Gazetteer.load(str(tmp_path / "gaz")).name_rules_current is True
    assert "other name rules" not in caplog.text
    # the same artifact, read by code that expands one more abbreviation
    monkeypatch.setitem(normalise.ABBREVIATIONS, "bdge", "bridge")
    normalise.name_rules_fingerprint.cache_clear()
    normalise.normalise_name.cache_clear()
    try:
        with caplog.at_level("WARNING"):
            gaz = Gazetteer.load(str(tmp_path / "gaz"))
        assert gaz.name_rules_current is False
        assert "crimegeo gazetteer build" in caplog.text
    finally:
        monkeypatch.undo()
        normalise.name_rules_fingerprint.cache_clear()
        normalise.normalise_name.cache_clear()
    # a gazetteer built before the rules were recorded is not judged
    manifest = json.loads((tmp_path / "gaz" / "manifest.json").read_text())
    del manifest["name_rules"]
    (tmp_path / "gaz" / "manifest.json").write_text(json.dumps(manifest))
    assert Gazetteer.load(str(tmp_path / "gaz")).name_rules_current is None


def test_exact_match_has_every_field(small_gaz: Gazetteer) -> None:
    (m,) = small_gaz.lookup("Fleet Street", force="city-of-london", limit=1)
    assert isinstance(m, Match)
    assert (m.id, m.name, m.local_type, m.match_type, m.score) == (
        "col-4", "Fleet Street", "Named Road", "exact", 1.0)
    assert m.lon == pytest.approx(-0.1065) and m.lat == pytest.approx(51.5141)
    x, y = to_bng(np.array([-0.1065]), np.array([51.5141]))
    assert (m.x_bng, m.y_bng) == pytest.approx((x[0], y[0]), abs=0.01)
    assert m.extent is not None and len(m.extent) == 4
    d = m.to_dict()
    assert tuple(d) == JSON_KEYS
    json.dumps(d)


@pytest.mark.parametrize(
    ("text", "name", "match_type"),
    [
        ("On or near Alderman'S Walk", "Alderman'S Walk", "exact"),
        ("ON OR NEAR ALDERMANS WALK", "Alderman'S Walk", "normalised"),
        ("aldermans walk", "Alderman'S Walk", "normalised"),
        ("Fleet St", "Fleet Street", "normalised"),
        ("Saint Mary Axe", "St Mary Axe", "normalised"),
        ("12 Fetter Ln", "Fetter Lane", "normalised"),
        ("Flat 4, 27a Fetter Lane", "Fetter Lane", "exact"),  # the street part as written
        ("A 4175", "A4175", "normalised"),
        ("Charterhuose Street", "Charterhouse Street", "fuzzy"),  # typo
        ("Charterhouse", "Charterhouse Street", "fuzzy"),  # missing word
        ("Gardens Ct.", "Gardens Court", "normalised"),
    ],
)
def test_normalised_and_fuzzy_matches(
    small_gaz: Gazetteer, text: str, name: str, match_type: str
) -> None:
    found = small_gaz.lookup(text, force="city-of-london")
    assert found, text
    assert (found[0].name, found[0].match_type) == (name, match_type)
    if match_type == "fuzzy":
        assert 0.5 < found[0].score < 1.0  # calibrated: a unique slip scores 0.95
    elif match_type == "normalised":
        # ranked on the evidence score 0.95; calibrated, such answers were all right
        assert found[0].evidence_score == pytest.approx(0.95) and found[0].score >= 0.98


def test_force_restriction_picks_the_street_in_that_force(small_gaz: Gazetteer) -> None:
    (col,) = small_gaz.lookup("High Street", force="city-of-london", limit=1)
    (kent,) = small_gaz.lookup("High Street", force="kent", limit=1)
    assert (col.id, col.match_type) == ("col-1", "exact")
    assert (kent.id, kent.match_type) == ("kent-1", "exact")


def test_same_name_in_several_places_is_ambiguous(small_gaz: Gazetteer) -> None:
    found = small_gaz.lookup("High Street")  # London, Camden and Lydd, nothing to choose by
    assert len(found) == 3
    assert {m.match_type for m in found} == {"ambiguous"}
    assert all(m.score <= 0.4 for m in found)
    assert small_gaz.lookup("Supermarket", force="city-of-london")[0].match_type == "ambiguous"


def test_near_and_area_text_settle_an_ambiguity(small_gaz: Gazetteer) -> None:
    (m,) = small_gaz.lookup("High Street", near=(-0.1431, 51.5391), limit=1)
    assert (m.id, m.match_type) == ("cam-1", "exact")
    m = small_gaz.lookup("High Street, Camden")[0]
    assert m.id == "cam-1" and m.match_type == "exact"
    m = small_gaz.lookup("High St, Lydd")[0]
    assert m.id == "kent-1" and m.match_type == "normalised"


def test_within_box_restricts_candidates(small_gaz: Gazetteer) -> None:
    x, y = to_bng(np.array([0.9110]), np.array([50.95]))
    box = (x[0] - 1000, y[0] - 1000, x[0] + 1000, y[0] + 1000)
    (m,) = small_gaz.lookup("High Street", within=box, limit=1)
    assert m.id == "kent-1"
    assert small_gaz.lookup("Fleet Street", within=box) == []


def test_area_names_match_as_areas(small_gaz: Gazetteer) -> None:
    m = small_gaz.lookup("Camden Town")[0]
    assert (m.id, m.match_type) == ("cam-2", "area")
    assert m.local_type == "Suburban Area"
    m = small_gaz.lookup("Nowhere Street, Lydd")[0]  # unknown street: the trailing area
    assert (m.id, m.match_type) == ("kent-3", "area") and m.score <= 0.5


def test_junction_of_two_streets(small_gaz: Gazetteer) -> None:
    (m,) = small_gaz.lookup("junction of Fleet St and Fetter Ln", force="city-of-london")
    assert m.local_type == "Junction" and m.id == "col-4|col-5"
    assert m.match_type == "normalised"
    lo, hi = sorted([-0.1065, -0.1078])
    assert lo <= m.lon <= hi


def test_nothing_found_is_empty(small_gaz: Gazetteer) -> None:
    assert small_gaz.lookup("Zzyzx Boulevard", force="city-of-london") == []
    assert small_gaz.lookup("") == []
    assert small_gaz.lookup("Dungeness Road", force="city-of-london") == []


def test_lookup_many_matches_lookup_and_keeps_order(small_gaz: Gazetteer) -> None:
    texts = ["On or near Fleet Street", "fleet st", "Zzyzx", "On or near Fleet Street",
             "Charterhuose Street", "Supermarket", ""]
    got = small_gaz.lookup_many(texts, force="city-of-london")
    assert len(got) == len(texts)
    assert got[0] == got[3]
    assert got[2] is None and got[6] is None
    for t, m in zip(texts, got, strict=True):
        if m is not None:
            assert m == small_gaz.lookup(t, force="city-of-london", limit=1)[0]
    assert got[0].match_type == "exact" and got[5].match_type == "ambiguous"


def test_reverse_gives_the_on_or_near_label(small_gaz: Gazetteer) -> None:
    r = small_gaz.reverse(-0.1066, 51.5142)
    assert isinstance(r, ReverseMatch)
    assert r.label == "On or near Fleet Street" and r.id == "col-4"
    assert 0 < r.distance_m < 20
    assert small_gaz.reverse(-3.0, 55.0, radius_m=500) is None
    assert set(r.to_dict()) == {"label", "name", "id", "lon", "lat", "x_bng", "y_bng",
                                "distance_m"}


def test_reverse_never_answers_with_an_area(small_gaz: Gazetteer) -> None:
    r = small_gaz.reverse(-0.1426, 51.5392)  # on the Camden Town area point
    assert r is not None and r.name == "High Street"


def test_nearest_public_points_vectorised(small_gaz: Gazetteer) -> None:
    lon = np.array([-0.1066, 0.9111, np.nan, -0.0906, -4.0])
    lat = np.array([51.5142, 50.9501, np.nan, 51.5156, 56.0])
    x, y = to_bng(lon, lat)
    r = small_gaz.nearest_public_points(x, y, force="city-of-london", max_distance_m=5000)
    assert set(r) == {"index", "id", "name", "x_bng", "y_bng", "lon", "lat", "distance_m"}
    assert list(r["id"]) == ["col-4", None, None, "col-1", None]
    assert list(r["index"][[1, 2, 4]]) == [-1, -1, -1]
    assert np.isnan(r["distance_m"][1]) and r["distance_m"][0] < 20
    everywhere = small_gaz.nearest_public_points(x, y, max_distance_m=5000)
    assert everywhere["id"][1] == "kent-1"


def test_force_boundary_can_be_supplied(small_gaz: Gazetteer) -> None:
    import shapely

    x, y = to_bng(np.array([-0.1430]), np.array([51.5390]))
    gaz = Gazetteer.load(small_gaz.path)  # a separate instance: its own caches
    gaz.set_force_boundary("metropolitan", shapely.box(x[0] - 500, y[0] - 500, x[0] + 500,
                                                        y[0] + 500))
    (m,) = gaz.lookup("High Street", force="metropolitan", limit=1)
    assert m.id == "cam-1" and m.match_type == "exact"


def test_fsspec_memory_url_round_trip(tmp_path: Path) -> None:
    import fsspec

    src = write_small_csv(tmp_path / "s.csv")
    fs = fsspec.filesystem("memory")
    fs.pipe("/src/small.csv", src.read_bytes())
    m = build_gazetteer(["memory://src/small.csv"], "memory://out/gaz")
    assert fs.exists("/out/gaz/manifest.json")
    gaz = Gazetteer.load("memory://out/gaz")
    assert gaz.checksum == m["checksum"] and len(gaz) == len(SMALL_FEATURES)
    assert gaz.lookup("Fleet Street")[0].id == "col-4"


def test_x_y_csv_with_crs(tmp_path: Path) -> None:
    p = tmp_path / "bng.csv"
    p.write_text("id,name,local_type,x,y,xmin,ymin,xmax,ymax\n"
                 "r1,Fleet Street,Named Road,531477,181200,531300,181150,531700,181250\n")
    with pytest.raises(GazetteerError, match="need a CRS"):
        build_gazetteer([str(p)], str(tmp_path / "g0"))
    build_gazetteer([str(p)], str(tmp_path / "g"), crs="EPSG:27700")
    m = Gazetteer.load(str(tmp_path / "g")).lookup("Fleet St")[0]
    assert (m.x_bng, m.y_bng) == (531477.0, 181200.0)
    assert m.extent == (531300.0, 181150.0, 531700.0, 181250.0)
    assert -0.12 < m.lon < -0.10 and 51.5 < m.lat < 51.52


def test_nearest_public_points_of_one_force_do_not_restrict_the_next(
        small_gaz: Gazetteer) -> None:
    # One gazetteer serves every force of a run, one after another: restricting to the City
    # must leave Kent's (and the whole country's) public points as they were.
    gaz = Gazetteer.load(small_gaz.path)  # a fresh instance: its own caches
    city_x, city_y = to_bng(np.array([-0.1066]), np.array([51.5142]))
    kent_x, kent_y = to_bng(np.array([0.9111]), np.array([50.9501]))
    assert gaz.nearest_public_points(city_x, city_y, force="city-of-london")["id"][0] == "col-4"
    assert gaz.nearest_public_points(kent_x, kent_y, force="kent")["id"][0] == "kent-1"
    assert gaz.nearest_public_points(kent_x, kent_y)["id"][0] == "kent-1"
    assert gaz.nearest_public_points(city_x, city_y, force="kent")["id"][0] != "col-4"
