"""Calibration: the evidence score of a forward answer mapped to the share of such answers that
are right, so that ``Match.score`` means what it says.

The search scores each candidate by how it matched (``gazetteer.scoring``: exact 1.0, a unique
slip 0.95, words after a name 0.75, an ambiguous place its share of the published crimes...).
Those evidence scores order candidates well but are not probabilities: answers scored 0.75
for words after a name were right 99.8% of the time, junctions that do not meet 96%, a
supermarket singled out by its street 30-65%. Each *evidence kind* (the answer's
``match_type`` and ``reason``, e.g. ``fuzzy/typo1``, ``ambiguous/generic``) is calibrated on
its own, by a monotone (isotonic) map from evidence score to share right fitted on labelled
answers, because one map over all kinds cannot be monotone: a 0.75 ``words_after`` answer is
righter than a 0.95 answer of some other kinds would be on average.

The fitted maps ship as data (``calibration.json`` beside this module), written by::

    .venv/bin/python benchmarks/gazetteer_quality.py --refit-calibration

which fits on the calibration split only (City of London police.uk, test months
2019-07..2020-02, the 30 seeds of FIT_SEEDS, the perturbation model's classes and ``detail``:
``evaluate.CALIBRATION_PERTURBATIONS``) and never on the held-out months or the held-out
perturbation classes that the benchmark then reports on.

The evidence score is the prior and the labelled answers move it: each bin's share right counts
PRIOR_ANSWERS pseudo-answers right at the bin's evidence score, so a kind seen a few times
(a supermarket named exactly where the gazetteer knows one: 4 answers) stays near its evidence
score, and a kind seen thousands of times gets its measured share. No kind borrows another's
map: a generic place answered exactly is not an exact street name, nor an ambiguous answer. A
kind with no labelled answers at all (``area`` answers: police.uk labels never name a town or
postcode district) keeps its evidence score.

No Beam, no Prefect; numpy only.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
from collections.abc import Sequence

import numpy as np

from crimegeo.gazetteer.model import GazetteerError, Match

__all__ = [
    "CALIBRATION_PATH",
    "FIT_MONTHS",
    "FIT_SEEDS",
    "MIN_BIN_ANSWERS",
    "NOT_EXACT_MAX",
    "PRIOR_ANSWERS",
    "SUGGESTION_KINDS",
    "SUGGESTION_MAX",
    "Calibration",
    "default_calibration",
    "evidence_kind",
    "fit_calibration",
    "isotonic",
]

#: The calibration split: test months of the City of London police.uk files the fit uses
#: (after the gazetteer months 2017-12..2019-06, before the held-out months 2020-03..11).
FIT_MONTHS = "2019-07..2020-02"
#: Perturbation seeds of the fit: 30, so that kinds seen about once in a thousand rows (a name
#: followed by words) get enough answers; never the held-out evaluation's seeds (7, 8, 9) or
#: the tests' (11).
FIT_SEEDS = (*range(1, 7), *range(21, 45))
#: Where the shipped calibration lives.
CALIBRATION_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "calibration.json")
#: Evidence scores are grouped into bins of at least this many answers before the isotonic fit
#: (a bin's share right is its point of the map), so one odd answer cannot make a step.
MIN_BIN_ANSWERS = 20
#: Pseudo-answers at the bin's own evidence score added to each bin's labelled answers.
PRIOR_ANSWERS = 10
#: Calibrated scores are rounded to this many decimals: the labelled answers behind a map number
#: hundreds to thousands, so a third decimal would claim more than was measured.
DECIMALS = 3


#: Only a name spelt exactly as a feature's scores 1.0; every other kind's map stops here,
#: however few of its labelled answers were wrong (a unique slip: 2 in 8,183).
NOT_EXACT_MAX = 0.999
#: Kinds that stay suggestions by design, whatever their share right in the fit split, and
#: the score their map never exceeds (below the default ``--min-geocode-score`` 0.8): a generic
#: place singled out by a street written after it (``singled_out``: the perturbation model
#: writes "Supermarket, Fleet Street" only for crimes at that supermarket, so its 100% there
#: says nothing of real texts, where "Tesco Express, 12 Fleet Street" was right 31% of the
#: time), and a junction whose partner meets several places of a type (``ambiguous/junction``:
#: right there means within 100 m of the crime, not which of the places).
SUGGESTION_MAX = 0.75
SUGGESTION_KINDS = ("exact/singled_out", "normalised/singled_out", "fuzzy/singled_out",
                    "ambiguous/singled_out", "ambiguous/junction")


def evidence_kind(match_type: str, reason: str) -> str:
    """The calibration group of an answer: ``"<match_type>/<reason or ->"``."""
    return f"{match_type}/{reason or '-'}"


def isotonic(y: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Non-decreasing least-squares fit of ``y`` (in the given order) with ``weight``: the pool
    adjacent violators algorithm (a few lines; not worth a scipy dependency for one fit)."""
    values: list[float] = []
    weights: list[float] = []
    sizes: list[int] = []
    for v, w in zip(np.asarray(y, float).tolist(), np.asarray(weight, float).tolist(),
                    strict=True):
        values.append(v)
        weights.append(w)
        sizes.append(1)
        while len(values) > 1 and values[-2] > values[-1]:  # pool the violating pair
            w2 = weights[-2] + weights[-1]
            v2 = (values[-2] * weights[-2] + values[-1] * weights[-1]) / w2
            n2 = sizes[-2] + sizes[-1]
            del values[-1], weights[-1], sizes[-1]
            values[-1], weights[-1], sizes[-1] = v2, w2, n2
    return np.repeat(values, sizes)


def _fit_one(raw: np.ndarray, right: np.ndarray) -> dict:
    """One monotone map: evidence-score bins (>= MIN_BIN_ANSWERS each) -> share right."""
    order = np.argsort(raw, kind="stable")
    raw, right = raw[order], right[order].astype(float)
    values, starts = np.unique(np.round(raw, 4), return_index=True)
    bounds = [*starts.tolist(), len(raw)]
    bins: list[tuple[int, int]] = []  # [start, end) of each bin, whole distinct values only
    lo = 0
    for end in bounds[1:]:
        if end - lo >= MIN_BIN_ANSWERS:
            bins.append((lo, end))
            lo = end
    if lo < len(raw):  # the remainder joins the last bin (or is the only one)
        bins = [*bins[:-1], (bins[-1][0], len(raw))] if bins else [(0, len(raw))]
    x = np.array([raw[a:b].mean() for a, b in bins])
    n = np.array([b - a for a, b in bins], dtype=float)
    hits = np.array([right[a:b].sum() for a, b in bins])
    share = (hits + PRIOR_ANSWERS * np.clip(x, 0.0, 1.0)) / (n + PRIOR_ANSWERS)
    p = isotonic(share, n + PRIOR_ANSWERS)
    if x[0] > 0:  # no evidence, no chance: the map falls to 0 below the scores it has seen
        x, p = np.concatenate([[0.0], x]), np.concatenate([[0.0], p])  # (the 2nd, 3rd... of
        # an ambiguous answer's contenders score below its first, and were never labelled)
    return {"raw": np.round(x, 4).tolist(), "p": np.round(p, DECIMALS).tolist(),
            "answers": int(len(raw)), "share_right": round(float(right.mean()), 4)}


def fit_calibration(raw: np.ndarray, match_types: Sequence[str], reasons: Sequence[str],
                    right: np.ndarray, *, about: dict | None = None) -> dict:
    """Fit the calibration table from labelled answers: each answer's evidence score, match type,
    reason, and whether it was right. Returns the JSON-able table :class:`Calibration` reads
    (``about`` is stored with it: what it was fitted on, the command)."""
    raw = np.asarray(raw, float)
    right = np.asarray(right, bool)
    mts = np.asarray(list(match_types), dtype=object)
    rsn = np.asarray([r or "" for r in reasons], dtype=object)
    kinds = np.array([evidence_kind(m, r) for m, r in zip(mts, rsn, strict=True)], dtype=object)

    fitted = {}
    for g in sorted(set(kinds.tolist())):
        sel = kinds == g
        fitted[g] = _fit_one(raw[sel], right[sel])
        ceiling = SUGGESTION_MAX if g in SUGGESTION_KINDS else (
            1.0 if g == "exact/-" else NOT_EXACT_MAX)
        fitted[g]["p"] = np.minimum(fitted[g]["p"], ceiling).tolist()
    return {
        "about": about or {},
        "min_bin_answers": MIN_BIN_ANSWERS,
        "prior_answers": PRIOR_ANSWERS,
        "not_exact_max": NOT_EXACT_MAX,
        "suggestion_max": {"score": SUGGESTION_MAX, "kinds": list(SUGGESTION_KINDS)},
        "answers": int(len(raw)),
        "kinds": fitted,
    }


class Calibration:
    """A fitted calibration table: :meth:`scores` maps evidence scores to calibrated ones."""

    def __init__(self, table: dict) -> None:
        """Wrap a table written by :func:`fit_calibration`."""
        self.table = table
        self._maps = {k: (np.asarray(v["raw"], float), np.asarray(v["p"], float))
                      for k, v in table.get("kinds", {}).items()}
        self._memo: dict[tuple, float] = {}

    @classmethod
    def load(cls, path: str = CALIBRATION_PATH) -> Calibration:
        """Read a calibration table (default: the one shipped with the gazetteer)."""
        try:
            with open(path, encoding="utf-8") as f:
                return cls(json.load(f))
        except (OSError, ValueError) as e:
            raise GazetteerError(f"{path}: not a readable calibration table ({e})") from e

    def calibrated(self, match_type: str, reason: str) -> bool:
        """Whether answers of this kind have a fitted map (else their evidence score stands)."""
        return evidence_kind(match_type, reason) in self._maps

    def scores(self, raw: np.ndarray, match_types: Sequence, reasons: Sequence) -> np.ndarray:
        """Calibrated scores for evidence scores ``raw`` of answers of the given match types and
        reasons (NaN stays NaN: no answer)."""
        raw = np.asarray(raw, float)
        out = raw.copy()
        mts = np.asarray(match_types, dtype=object)
        rsn = np.asarray(reasons, dtype=object)
        answered = np.flatnonzero(~np.isnan(raw))
        # A handful of kinds in any batch: one map per distinct (match type, reason), each
        # applied to its rows at once, not a key built per row.
        for match_type in set(mts[answered].tolist()):
            of_type = answered[mts[answered] == match_type]
            for reason in set(rsn[of_type].tolist()):
                fitted = self._maps.get(evidence_kind(match_type, reason or ""))
                if fitted is not None:
                    sel = of_type[rsn[of_type] == reason]
                    out[sel] = np.round(np.interp(raw[sel], *fitted), DECIMALS)
        return out

    def matches(self, found: list[Match]) -> list[Match]:
        """Candidates (best first) with calibrated scores; ``evidence_score`` keeps the one they
        were ranked by (left None where calibration did not change it: an exact name's 1.0).
        A candidate never scores above the one before it."""
        out = []
        ceiling = 1.0
        for m in found:  # a few candidates per text, on the batch hot path: memoised scalars
            raw = m.evidence_score if m.evidence_score is not None else m.score
            s = min(self._calibrated(m.match_type, m.reason, raw), ceiling)
            ceiling = s
            # an answer calibration leaves as it was is kept as it is (no copy per exact name)
            out.append(m if s == m.score and m.evidence_score is None
                       else dataclasses.replace(m, score=s, evidence_score=raw))
        return out

    def sole(self, match_type: str, reason: str, raw: float) -> tuple[float, float | None]:
        """``(score, evidence_score)`` of a lone candidate of this kind scored ``raw`` by its
        evidence, as :meth:`matches` gives them (None: calibration leaves ``raw``); for
        answers built column-wise."""
        s = min(self._calibrated(match_type, reason, raw), 1.0)
        return (s, None) if s == raw else (s, raw)

    def _calibrated(self, match_type: str, reason: str, raw: float) -> float:
        """The calibrated score of one answer (memoised: few distinct kinds and scores)."""
        key = (match_type, reason, raw)
        s = self._memo.get(key)
        if s is None:
            fitted = self._maps.get(evidence_kind(match_type, reason))
            s = raw if fitted is None else round(float(np.interp(raw, *fitted)), DECIMALS)
            if len(self._memo) < 100_000:
                self._memo[key] = s
        return s


@functools.cache
def default_calibration() -> Calibration:
    """The calibration shipped with the gazetteer (read once per process)."""
    return Calibration.load()
