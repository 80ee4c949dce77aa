"""Scores: what a forward answer's ``score`` means, and the constants that set it.

These are *evidence* scores: they rank candidates. :mod:`gazetteer.calibration` maps them, per
kind of answer, to the calibrated ``score`` (among answers scored about s, about s are right,
measured on held-out real labels by ``benchmarks/gazetteer_quality.py``; the reliability table
in ``docs/gazetteer.md``). Each way of matching has its own constant below, first set near the
share of such answers that were right on the calibration split (City of London, test months
2019-07..2020-02, seeds 1-3); it is also the calibration's prior for kinds seldom labelled.

Fuzzy candidates are ranked by a cost in keyboard slips (optimal string alignment distance, so a
swap of two letters is one slip) and by how the street type was written:

* ``type_dropped``: the name without its street type ("Queen Victoria" for Queen Victoria
  Street); ``type_changed``: another type ("Queen Victoria Road");
* ``typo``: one or two slips in the name ("Cheapsdie", "Houndsdicth"), possibly with the type
  dropped too;
* ``loose``: anything else rapidfuzz found similar (a word missing or extra, three slips).

An answer is ``unique`` when no other name in the area costs within FUZZY_UNIQUE_MARGIN of it:
"Watling" is as close to Watling Street as to Watling Court, so neither is confident.

No Beam, no Prefect; pure Python and numpy.
"""

from __future__ import annotations

from rapidfuzz.distance import OSA

from crimegeo.gazetteer.normalise import ROAD_TYPE_TOKENS

__all__ = [
    "FUZZY_SCORES",
    "GENERIC_MAX_SCORE",
    "JUNCTION_FALLBACK_FACTOR",
    "JUNCTION_MAX_M",
    "JUNCTION_SCORE_FACTOR",
    "LANDMARK_SLACK_M",
    "LONGER_NAME_SCORE",
    "POSTCODE_MISS_FACTOR",
    "ROAD_POINT_LINK_M",
    "SCORES",
    "NEAR_PART_MAX_SCORE",
    "SECOND_PART_FACTOR",
    "SOUNDS_LIKE_SCORE",
    "SINGLED_OUT_MAX_SCORE",
    "WORDS_AFTER_MAX",
    "WORDS_AFTER_SCORE",
    "fuzzy_grade",
]

#: Base scores by how a candidate matched (multiplied down for ambiguity or a missed hint).
SCORES = {
    "exact": 1.0,
    "normalised": 0.95,
    "alternative": 0.85,  # matched after dropping a road number or "The", or St read as Street
    "area_exact": 0.9,
    "area_normalised": 0.88,
    "fuzzy_max": 0.85,  # ceiling of a `loose` fuzzy answer (similarity 100 scores this)
    "area_fallback": 0.5,  # street not found, the trailing area was
    # an ambiguous answer scores its place's share of the contenders' published crimes (how
    # often police.uk put a crime there: measured, about how often it is the one meant),
    # times its own score (a generic type's is capped, see GENERIC_MAX_SCORE), never above this
    "ambiguous_max": 0.4,
}

#: Score of a unique fuzzy answer by its grade (see the module docstring). Measured share
#: right on the calibration split (3 seeds): type_dropped 834 answers 100%, typo1 2,172
#: 99.9%, typo2 382 100%, type_changed 8 answers 25%; set a little below, since real exports
#: name streets a gazetteer lacks more often than the perturbation model does.
FUZZY_SCORES: dict[str, float] = {
    "type_dropped": 0.95,
    "type_changed": 0.5,
    "typo1": 0.95,
    "typo2": 0.9,
    "typo1_type_dropped": 0.9,
    "typo2_type_dropped": 0.8,
    "typo2_short": 0.6,
}
#: A `loose` fuzzy answer, or one with a competitor, never scores above this: below the
#: default threshold, it is a suggestion for the force, not a location (measured: 289 loose
#: answers, 89% right: too few to be confident at 98%).
FUZZY_LOOSE_MAX = 0.75
#: The known name followed by words no name has ("Bell Inn Yard area", "Cheapside footway",
#: "Sun Street Passage (public highway)"): the name answers, ``reason="words_after"``, with
#: this score. Not calibrated (no such class in the model the constants were set on): a
#: suggestion, below the default threshold.
WORDS_AFTER_SCORE = FUZZY_LOOSE_MAX
#: A known name followed by one street type, nothing between ("Fleet Street Hill"): the text
#: names a longer street the gazetteer lacks, so the known name is a guess. Answered with
#: ``reason="longer_name"`` and this evidence score (as a changed street type, which is
#: also another street's name); calibrated by its own answers.
LONGER_NAME_SCORE = 0.5
#: At most this many trailing words are dropped to find the name.
WORDS_AFTER_MAX = 3
#: A text of at least this many words may be a sentence naming a street inside it ("caller
#: at 12 Bartholmew Lane reports ..."): its street is looked for among its words.
SENTENCE_MIN_WORDS = 5
#: A name this many slips closer than every other name in the area is unique.
FUZZY_UNIQUE_MARGIN = 1
#: Shortest name (letters, street type left out) for which one slip, and two slips, are read
#: as typos: shorter names are one or two slips from many others.
TYPO_MIN_LETTERS = {1: 4, 2: 8}
#: Two slips in a shorter name (five to seven letters, street type left out: "Piutry" for
#: Poultry) are read, as their own grade ``typo2_short``, only when that name is the one
#: name of the area so close (a rival within the same cost makes it ambiguous): a person
#: reading "Piutry" in the City thinks of Poultry; and only when both begin with the same
#: letter. Costlier than every other graded slip, so a closer name always wins; its score is
#: its own calibrated share right.
TYPO2_SHORT_MIN_LETTERS = 5

#: A generic place type ("Supermarket": one label, many places) never scores above this on its
#: own; only a junction partner that singles one place out can make it confident.
GENERIC_MAX_SCORE = 0.3
#: Candidates outside the postcode district written in the text are multiplied by this, when
#: some candidate is inside it (a hint that cannot place anything never sinks a match).
POSTCODE_MISS_FACTOR = 0.8

#: Two streets meet when a map point or extent of one lies within this many metres of one of
#: the other's. Measured on the City of London gazetteer of 2017-12..2019-06 (printed by
#: ``benchmarks/gazetteer_quality.py``, :func:`gazetteer.evaluate.junction_distances`): the
#: nearest map point of another street lies within 55 m of a street's map point at the median,
#: within 162 m for 90% of them and 200 m for 91%, while only 2.9% of all pairs of City
#: streets have points within 200 m (4.5% within 250 m, 6.2% within 300 m).
JUNCTION_MAX_M = 200.0
#: A junction answer scores the weaker of its two streets' scores times this.
JUNCTION_SCORE_FACTOR = 0.95
#: When the two streets named do not meet, the first street answers, its score times this and
#: ``reason="junction_not_met"``: below the default threshold, a suggestion. Measured: 316 such
#: answers on the calibration split, 94% on the first street; but the perturbation model always
#: names the right street first, and a real "junction" of streets that do not meet has one of
#: the two wrong, which one unknown.
JUNCTION_FALLBACK_FACTOR = 0.8

#: A place of a generic type written before a street ("Tesco, Cheapside") is the one ON that
#: street: the street is its nearest named street, or no more than this many metres farther
#: than its nearest (a shop on a corner fronts two streets). Otherwise the street answers.
LANDMARK_SLACK_M = 25.0

#: When the first comma part names nothing the gazetteer knows but a later one names a street
#: ("Tesco Express, 12 Fleet Street", "Moor House, London Wall"), that street answers, its
#: score times this, ``reason="later_part"``.
SECOND_PART_FACTOR = 0.95
#: A settlement written before a street ("Dungeness, Transformer Avenue") is that street's
#: town when the street lies within this of the settlement's point. Measured on the OS Open
#: Names tiles: the 35 named roads in a settlement lie 1,135 m from its point at the median,
#: 1,507 m at most; twice that allows for a larger place.
TOWN_STREET_MAX_M = 3000.0
#: A name that sounds as one name of the area and has its street type ("veil road": Vale
#: Road), when nothing is spelt closer: a suggestion (``reason="sounds_like"``), not
#: calibrated (the perturbation model has no such class).
SOUNDS_LIKE_SCORE = 0.6
#: Premises named by their kind and a street are the one place of that kind this near the
#: street, where every other is this many times as far: a hospital or a campus is large, and
#: its police.uk point need not lie on the street of its address ("Barts Hosp, West
#: Smithfield": 211 m, the next hospital over a mile).
PREMISES_NEAR_M = 400.0
PREMISES_APART = 3.0
#: A name of one word found inside a sentence, with no street type to mark it ("someone on
#: Huney with a dog"): a suggestion, not calibrated.
IN_SENTENCE_SCORE = 0.6
#: ...but when that part followed a locating word ("the shop nr Fleet St", "Bare Alley off
#: Farringdon Street"), the text says the place is near that street, not on it: the street
#: answers with ``reason="near"`` and at most this score, below the default threshold (a
#: suggestion; the perturbation model has no such class, so it is not calibrated).
NEAR_PART_MAX_SCORE = 0.6
#: A generic place singled out by the street written after it ("Tesco, Fleet Street": the one
#: supermarket within JUNCTION_MAX_M of Fleet Street) scores at most this: measured on the
#: calibration split, 114 such answers, 33% within 25 m of the crime (police.uk adds new
#: supermarket points; the one the street meets is often a neighbour of the right one).
SINGLED_OUT_MAX_SCORE = 0.4

#: Same-named road features without an extent (police.uk map points: one every 100-300 m along
#: a long street) are one place when single-linked within this distance. Measured: the largest
#: gap between neighbouring map points of one City of London street is 1,285 m (Victoria
#: Embankment); Bishopsgate's two points are 760 m apart. Roads with extents (OS) keep the
#: 600 m gap between extents; features in different named settlements are never one place.
ROAD_POINT_LINK_M = 1500.0

#: Cost of a `loose` candidate with similarity 100 (it grows by one per 10 points less): always
#: above every graded candidate's.
LOOSE_COST = 3.0
_GRADE_COST = {"type_dropped": 1, "type_changed": 2, "typo1": 1, "typo2": 2,
               "typo1_type_dropped": 2, "typo2_type_dropped": 3, "typo2_short": 2.5}


def _stem(tokens: list[str]) -> list[str]:
    """Tokens without a final street type (kept when the name is only a type)."""
    return tokens[:-1] if len(tokens) >= 2 and tokens[-1] in ROAD_TYPE_TOKENS else tokens


def fuzzy_grade(query: str, candidate: str, similarity: float) -> tuple[str, float]:
    """How a candidate key relates to a query key: a grade of FUZZY_SCORES or "loose", and a
    cost (lower is closer) used to rank candidates and test uniqueness."""
    qt, ct = query.split(), candidate.split()
    qs, cs = _stem(qt), _stem(ct)
    stem_q, stem_c = " ".join(qs), " ".join(cs)
    letters = len(stem_c.replace(" ", ""))
    dropped = qs == qt and cs != ct  # the query has no street type, the candidate has one
    if stem_q == stem_c and letters >= TYPO_MIN_LETTERS[1]:
        grade = "type_dropped" if dropped else "type_changed"
        return grade, float(_GRADE_COST[grade])
    d = OSA.distance(query, candidate)
    if d in (1, 2) and letters >= TYPO_MIN_LETTERS[d]:
        grade = f"typo{d}"
        return grade, float(_GRADE_COST[grade])
    if (d == 2 and letters >= TYPO2_SHORT_MIN_LETTERS and query[:1] == candidate[:1]
            # ...and a query as long as such a name: two slips in four letters are half the
            # word ("sea" is no "Stead", "Trek FX1" no "Trunk")
            and len(stem_q.replace(" ", "")) >= TYPO2_SHORT_MIN_LETTERS):
        # ...beginning with the same letter: a first letter is seldom mistyped, and two
        # changes to a short name beginning otherwise ("Berry" / "Parry", "Merton" /
        # "Eaton") make another street's name more often than a slip of this one
        return "typo2_short", float(_GRADE_COST["typo2_short"])
    if dropped:
        d = OSA.distance(stem_q, stem_c)
        if d in (1, 2) and letters >= TYPO_MIN_LETTERS[d]:
            grade = f"typo{d}_type_dropped"
            return grade, float(_GRADE_COST[grade])
    return "loose", LOOSE_COST + (100.0 - similarity) / 10.0
