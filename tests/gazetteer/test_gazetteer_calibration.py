"""Calibrated scores (issue 16): the isotonic map per evidence kind, the shipped table, and
reliability on held-out real months."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from crimegeo.gazetteer import Gazetteer
from crimegeo.gazetteer.calibration import (
    FIT_SEEDS,
    Calibration,
    default_calibration,
    fit_calibration,
    isotonic,
)

FORCE = "city-of-london"
CONFIDENT = 0.8  # the pipeline's default --min-geocode-score


def test_isotonic_pools_adjacent_violators() -> None:
    fitted = isotonic(np.array([0.1, 0.5, 0.3, 0.9]), np.array([1.0, 1.0, 3.0, 1.0]))
    assert fitted.tolist() == pytest.approx([0.1, 0.35, 0.35, 0.9])
    assert (np.diff(fitted) >= 0).all()


def test_fit_maps_each_kind_by_its_own_answers() -> None:
    rng = np.random.default_rng(3)
    # words after a name: evidence 0.75, right 99%; a loose match: evidence 0.6-0.75, right
    # more often the higher it scores; a generic exact answer seen 4 times
    raw = np.concatenate([np.full(400, 0.75), rng.uniform(0.6, 0.75, 400), np.full(4, 0.3)])
    mts = ["fuzzy"] * 800 + ["exact"] * 4
    reasons = ["words_after"] * 400 + ["loose"] * 400 + ["generic"] * 4
    right = np.concatenate([rng.random(400) < 0.99, rng.random(400) < (raw[400:800] - 0.5) * 4,
                            [True, True, True, False]])
    cal = Calibration(fit_calibration(raw, mts, reasons, right))
    words = cal.scores(np.array([0.75]), ["fuzzy"], ["words_after"])[0]
    assert words > 0.95  # its measured share, not its evidence score
    loose = cal.scores(np.linspace(0.6, 0.75, 7), ["fuzzy"] * 7, ["loose"] * 7)
    assert (np.diff(loose) >= 0).all() and loose[-1] > loose[0] + 0.2
    generic = cal.scores(np.array([0.3]), ["exact"], ["generic"])[0]
    assert 0.3 < generic < 0.5  # 4 answers move the evidence score only a little
    # a kind never labelled keeps its evidence score; no answer stays no answer
    assert cal.scores(np.array([0.9, np.nan]), ["area", "exact"], ["", ""]).tolist()[0] == 0.9
    assert np.isnan(cal.scores(np.array([np.nan]), ["exact"], [""])[0])


def test_shipped_table_says_what_it_was_fitted_on() -> None:
    about = default_calibration().table["about"]
    assert about["fitted_on_months"] == "2019-07..2020-02" and about["seeds"] == list(FIT_SEEDS)
    assert not {7, 8, 9, 11} & set(about["seeds"])  # the held-out evaluation's and tests' seeds
    assert "spacing" not in about["perturbations"]  # the held-out classes never fitted
    # a generic place type or a junction that does not meet is never confident on its own
    cal = default_calibration()
    for mt, reason, evidence in (("exact", "generic", 0.3), ("normalised", "junction_not_met",
                                                              0.76), ("exact", "singled_out", 0.4)):
        assert cal.scores(np.array([evidence]), [mt], [reason])[0] < CONFIDENT


def test_scores_are_calibrated_on_held_out_months(col_files: list[str]) -> None:
    from crimegeo.gazetteer.evaluate import (
        calibration_error,
        evaluate_police_uk,
        labelled_answers,
    )

    folder = str(Path(col_files[0]).parent)
    r = evaluate_police_uk(folder, test="2020-09..2020-11", seed=11)
    a = labelled_answers([r])
    calibrated, evidence = (calibration_error(a[k], a["right"]) for k in ("score", "evidence"))
    assert calibrated < 0.03 and calibrated < evidence / 3
    assert r["confident_right"] >= 0.98


def test_slash_junction_without_spaces(col_gaz: Gazetteer) -> None:
    m = col_gaz.lookup("Cornhill/Bishopsgate", force=FORCE)[0]
    assert (m.local_type, m.reason) == ("Junction", "junction") and m.score >= CONFIDENT
    m = col_gaz.lookup("Cornhill/Strand", force=FORCE)[0]  # both known, they do not meet
    assert (m.name, m.reason) == ("Cornhill", "junction_not_met") and m.score < CONFIDENT
    for text in ("Bus/Coach Station", "Bus/Coach Staton"):  # a place type, not two streets
        m = col_gaz.lookup(text, force=FORCE)[0]
        assert (m.name, m.reason) == ("Bus/Coach Station", "generic"), text
