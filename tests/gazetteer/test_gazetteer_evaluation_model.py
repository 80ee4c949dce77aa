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
