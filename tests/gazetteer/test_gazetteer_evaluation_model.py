"""The evaluation's perturbation model (gazetteer/evaluate.py) on real City of London months:
that it rewrites labels the way people write them, so the figures it gives can be trusted."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from crimegeo.gazetteer.evaluate import JUNCTION_NOT_MEETING_SHARE, evaluate_police_uk


def _junction_reasons(folder: str, share: float) -> np.ndarray:
    r = evaluate_police_uk(folder, test="2020-09..2020-11", seed=11,
                           perturbations=("junction",), junction_not_meeting=share)
    found = [m for m, k in zip(r["_found"], r["_kind"], strict=True) if k == "junction"]
    assert len(found) > 1000
    return np.array([m.reason if m is not None else None for m in found], dtype=object)


def test_junction_rewrites_name_streets_that_meet(col_files: list[str]) -> None:
    """A junction is written by someone standing at it: the partner is the corner's cross
    street, which the gazetteer finds meeting the crime's street; only the model's small
    stated share names a street of the neighbourhood that does not meet it."""
    folder = str(Path(col_files[0]).parent)
    assert JUNCTION_NOT_MEETING_SHARE <= 0.1
    reasons = _junction_reasons(folder, JUNCTION_NOT_MEETING_SHARE)
    assert np.mean(reasons == "junction") >= 0.85
    not_met = np.mean(reasons == "junction_not_met")
    assert JUNCTION_NOT_MEETING_SHARE / 2 <= not_met <= JUNCTION_NOT_MEETING_SHARE + 0.05
    # with no wrong partners, nearly every rewrite is a junction the gazetteer places
    assert np.mean(_junction_reasons(folder, 0.0) == "junction") >= 0.93


def test_held_out_landmark_and_short_slip_rewrites(col_files: list[str]) -> None:
    """The two held-out classes of the fifth pass write what they say: a landmark the
    model's premises class never names beside the label's name, and two slips in a name
    whose longest word has five to seven letters."""
    import random

    from crimegeo.gazetteer.evaluate import _LANDMARKS, perturb

    rng = random.Random(3)
    for label in ("On or near Cheapside", "On or near Poultry", "On or near Bell Inn Yard"):
        text, kind = perturb(label, rng, "landmark")
        assert kind == "landmark" and label[11:].lower() in text.lower()
        assert any(lm.lower() in text.lower() for lm in _LANDMARKS)
    for _ in range(20):
        text, kind = perturb("On or near Poultry", rng, "short_slips")
        assert kind == "short_slips" and text.lower() != "on or near poultry"
    assert perturb("On or near Bishopsgate", rng, "short_slips")[1] == "clean"  # 11 letters


def test_the_calibration_only_detail_class_shares_nothing_with_the_held_out_notes() -> None:
    """The class added to fit the calibration of words after a name writes a plain note
    after it, in none of the held-out `note` class's words and none of its bracket, dash
    or slash forms, and is not one of the model's classes (whose figures it must not
    change)."""
    import random

    from crimegeo.gazetteer.evaluate import (
        _DETAILS,
        _NOTES,
        CALIBRATION_PERTURBATIONS,
        HELD_OUT_PERTURBATIONS,
        PERTURBATIONS,
        perturb,
    )

    assert "detail" in CALIBRATION_PERTURBATIONS and "detail" not in PERTURBATIONS
    assert not set(CALIBRATION_PERTURBATIONS) & set(HELD_OUT_PERTURBATIONS)
    note_words = {word for note in _NOTES for word in note.split()}
    for detail in _DETAILS:
        assert not set(detail.split()) & note_words, detail
        assert not set(detail) & set("()-/"), detail
    rng = random.Random(5)
    for _ in range(20):
        text, kind = perturb("On or near Cheapside", rng, "detail")
        assert kind == "detail" and text.startswith("On or near Cheapside ")
        assert text[len("On or near Cheapside"):] in _DETAILS


def test_a_re_exported_file_of_many_months_is_split_for_the_evaluation(tmp_path: Path) -> None:
    """The second force's real labels (Merseyside, 13 months in one re-exported file with
    snake_case headers and "NA") become one police.uk-shaped file per month, every row kept,
    and the evaluation runs on them as on the City's months."""
    import pyarrow.csv as pacsv
    import pytest
    from gazetteer_testdata import DATA

    from crimegeo.gazetteer.evaluate import monthly_files
    source = DATA / "police-uk" / "merseyside" / "merseyside_shoplifting.csv"
    if not source.exists():
        pytest.skip(f"real Merseyside sample not found: {source}")
    files = monthly_files(str(source), str(tmp_path))
    assert [Path(f).name[:7] for f in files] == [f"2019-{m:02d}" for m in range(5, 13)] + [
        f"2020-{m:02d}" for m in range(1, 6)]
    tables = [pacsv.read_csv(f) for f in files]
    assert sum(t.num_rows for t in tables) == pacsv.read_csv(source).num_rows
    assert tables[0].column_names == ["Month", "Longitude", "Latitude", "Location",
                                      "Falls within", "LSOA code", "LSOA name", "Crime type"]
    # the LSOA's name gives a gazetteer built from the files each point's district
    from crimegeo.gazetteer import Gazetteer, build_gazetteer
    build_gazetteer(files[:8], str(tmp_path / "gaz"))
    gaz = Gazetteer.load(str(tmp_path / "gaz"))
    assert {"Liverpool", "Sefton", "Wirral"} <= set(gaz.features["district"].to_pylist())
    # ...which tells Liverpool's Bold Street from Southport's (Sefton) by the town written
    assert gaz.lookup("Bold Street", force="merseyside")[0].match_type == "ambiguous"
    for town in ("Liverpool", "Sefton"):
        m = gaz.lookup(f"Bold Street, {town}", force="merseyside")[0]
        assert (m.name, m.match_type != "ambiguous") == ("Bold Street", True), town
        assert gaz.show(m.id)[0]["district"] == town
    r = evaluate_police_uk(str(tmp_path), train="2019-05..2019-12", test="2020-01..2020-05",
                           force="merseyside", seed=7)
    assert r["test_rows"] > 2000 and r["single_point_within_25m_seen_one_reading"] > 0.95
