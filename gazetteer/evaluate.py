"""Quality of forward geocoding on real data, measured against police.uk's own map points.

Build a gazetteer from some months of a force's published police.uk files, take the labels of
later months, rewrite them the way people in force control rooms write locations (the
perturbation model below), geocode them restricted to the force, and compare with the published
points. No Beam, no Prefect. Used by ``python -m crimegeo.gazetteer evaluate`` and
``benchmarks/gazetteer_quality.py``.

Truth, per label, from all months (training and test):

* ``single``: the label was published at one map point only: right = within 25 m of it.
* ``street``: a named street published at several map points (police.uk has a point every
  100-300 m along long streets): right = within 25 m of one of that street's points ("placed on
  the street"); which of its points a crime was moved to cannot be known from the name.
* ``generic``: a police.uk place type ("Supermarket", "Parking Area"; the build's
  ``POLICE_PUBLIC_PLACES`` or a label with "/"): right = within 25 m of the crime's own point;
  the name alone rarely says which one, so a confident answer is usually a wrong one.

A label never published in the training months counts in its class like any other: it can
only be right by luck, and a confident answer to it is a confident wrong answer.

The perturbation model (:data:`PERTURBATIONS`, one class per row, drawn with equal weight):

``clean`` the label as published; ``no_prefix`` without "On or near"; ``case`` upper, lower or
title case; ``abbreviation`` one street type abbreviated as forces do, with or without a dot
(St, St., Str, Rd, Ln, La, Sq, Pl, Ave, Pass., Gdns, Ct, Cres, Hl omitted); ``typo1`` one
keyboard slip in the name (a letter dropped, doubled, two letters swapped, or a neighbouring
key hit); ``typo2`` two slips in the name; ``type_dropped`` the street type left off
("Queen Victoria"); ``postcode`` a City of London postcode district, sector or full postcode
appended ("Moorgate EC2", "Cheapside EC2V 6AA", "..., London EC4M"); ``shorthand`` police
shorthand before the name ("o/s", "r/o", "opp", "nr", "adj", "land adjacent to", "car park of",
with or without a house number "12", "1-3", "Flat 3, 41", "Unit 2"); ``town`` a trailing
", London" or ", City of London"; ``junction`` "junction of A and B" (and "A j/w B", "A/B",
"corner of A and B") where B is the named street with the nearest map point to the crime (the
corner's cross street) or, for :data:`JUNCTION_NOT_MEETING_SHARE` (5%) of rows, a street of
the neighbourhood 300 m-1 km away that does not meet A (a person naming the wrong cross
street: the answer falls back to the first street named, right only when that is A), either
street first. Until this model, one row in four named the one street of the City farthest from
the crime (nearly always the same street), which no one standing at a corner writes;
``premises`` a building or business before the street ("Moor House,
London Wall", "The Red Lion PH, 12 Fleet Street"), and for a supermarket the shop then the
street nearest the crime ("Tesco, Fleet Street"); ``combined`` two or three of the above at
once.

Held-out perturbations (:data:`HELD_OUT_PERTURBATIONS`, drawn with equal weight when the
evaluation is asked for them; no constant or rule was set on them, they judge whether the
parsing and scoring generalise): ``spacing`` two words run together, a long word split in two,
a hyphen between words ("Queenvictoria Street", "Bishops gate", "Queen-Victoria Street");
``punctuation`` an apostrophe dropped, added or curly, "St" as "St." or "Saint", a full stop
or a comma after the name, brackets or quotes round it; ``phonetic`` a sound-alike respelling
(ph/f, ck/k, c/k, ee/ea, ie/ei, ou/ow, a double consonant single or a single one doubled,
a final y/ie); ``note`` a word or note a control room adds after the name ("Cheapside area",
"Cheapside - shop doorway", "Cheapside (footway)", "Cheapside nr bus stop"); ``shortened``
the final street type abbreviated in forms the model's class does not use (upper case, a
full stop: "ST.", "LA", "SQ.", "Ter."), then half the time the town with no comma ("MOOR LA.
London"), added with the rules that read a final "La" as Lane and a "St" before a town as
Street; ``address_tail`` a postcode district, sector or full postcode then the town, with or
without a comma ("Cheapside EC2V 6AA London", "Cheapside EC2, LONDON"), added with the rule
that reads a postcode before a trailing town; ``slash_place`` the label and its cross street
joined by a slash with no spaces, a police.uk place type that has a slash of its own written
first ("BUS/COACH STATION/NUN COURT"; the model's junction class writes it second, in the
case it is published in), upper case half the time, added with the rule that splits a street
from such a place type; ``landmark`` a shop, café, bank or pub the model never names before
the street, with or without a comma, or after it ("Boots, Cheapside", "McDonalds Cheapside",
"CAFFE NERO - CHEAPSIDE", "Cheapside o/s Greggs"), the crime on the street, added with the
rules that a place type before a street is the one ON it and that words no name has before a
known name are not part of it; ``short_slips`` two slips in a name whose longest word has five
to seven letters, one of them a sound-alike respelling or both with the name in upper case,
added with the rule that reads two slips in such a name when one name is that close.

The calibration (``benchmarks/gazetteer_quality.py --refit-calibration``) is fitted on the
model's classes and one more, ``detail`` (:data:`CALIBRATION_PERTURBATIONS`): a plain word or
two a control room adds after the name ("Cheapside pavement", "Cheapside side entrance"),
words the held-out ``note`` class never uses, and never in its bracket, dash or slash forms.
The model's classes alone give almost no answers of that kind (3 in 3 seeds), so its score
stayed near the evidence score, below the default threshold, although such answers are
nearly always right. ``detail`` is not one of the model's classes: the figures on them do not
include it.

A junction row is right when the answer is right for A's class, or when the answer is a
junction within :data:`JUNCTION_TOLERANCE_M` of the crime's point.

Measures (the goals of issue 16): single-point labels placed within 25 m; streets with several
map points placed on the street; generic labels given a confident answer (rows rewritten as a
junction left out: a partner street that meets one place of the type may single it out);
confident answers
(score >= the default ``--min-geocode-score``, not ambiguous) that are right; per perturbation
class; and the reliability table (score band -> share right) that says whether ``score`` is
calibrated.
"""

from __future__ import annotations

import os
import random
import re
import tempfile
import time
from collections import defaultdict

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from crimegeo.gazetteer.build import build_gazetteer
from crimegeo.gazetteer.core import Gazetteer
from crimegeo.gazetteer.geo import resolve_force, to_bng
from crimegeo.gazetteer.model import GazetteerError
from crimegeo.gazetteer.normalise import ROAD_TYPE_TOKENS, normalise_name
from crimegeo.gazetteer.sources import _police_type

__all__ = [
    "CONFIDENT_SCORE",
    "public",
    "junction_distances",
    "JUNCTION_TOLERANCE_M",
    "JUNCTION_NOT_MEETING_SHARE",
    "PERTURBATIONS",
    "HELD_OUT_PERTURBATIONS",
    "CALIBRATION_PERTURBATIONS",
    "RELIABILITY_BANDS",
    "RIGHT_WITHIN_M",
    "calibration_error",
    "labelled_answers",
    "monthly_files",
    "reliability_by_kind",
    "evaluate_os_open_names",
    "evaluate_police_uk",
    "format_report",
    "perturb",
    "reliability_table",
]

#: An answer is right when it lies this close to the truth (see the module docstring).
RIGHT_WITHIN_M = 25.0
#: A junction answer is right when it lies this close to the crime's own point.
JUNCTION_TOLERANCE_M = 100.0
#: Share of junction rewrites whose partner street does not meet the crime's street (a person
#: naming the wrong cross street of the neighbourhood). No force publishes its junction texts
#: with truth to measure this against: it is a stated assumption, kept small because a
#: junction is written by someone standing at it. The other junction rows name the street
#: whose map point is nearest the crime's point (the corner's cross street).
JUNCTION_NOT_MEETING_SHARE = 0.05
#: A partner that does not meet is a named street whose nearest map point lies this far from
#: the crime's point (metres; beyond the junction distance, within a walk), drawn at random.
JUNCTION_NOT_MEETING_M = (300.0, 1000.0)
#: The partner draw has its own random stream (seed + this), so that changing the junction
#: model leaves every other row's rewriting as it was.
JUNCTION_PARTNER_SEED_OFFSET = 7919
#: The default ``--min-geocode-score`` of the pipeline: answers at or above it are "confident".
CONFIDENT_SCORE = 0.8
#: Score bands of the reliability table (lower bounds; the last band includes 1.0).
RELIABILITY_BANDS = (0.0, 0.2, 0.4, 0.6, 0.7, 0.8, 0.9, 0.95, 0.98)

PERTURBATIONS = ("clean", "no_prefix", "case", "abbreviation", "typo1", "typo2",
                 "type_dropped", "postcode", "shorthand", "town", "junction", "premises",
                 "combined")
_COMBINABLE = ("case", "abbreviation", "typo1", "postcode", "shorthand", "town", "no_prefix")
#: The classes the score calibration is fitted on: the model's, and ``detail`` (see the
#: module docstring), never a held-out class.
CALIBRATION_PERTURBATIONS = (*PERTURBATIONS, "detail")
#: ``detail``: words after the name, in none of the held-out ``note`` class's words or forms.
_DETAILS = [" pavement", " alleyway", " stairwell", " side entrance", " loading bay",
            " taxi rank", " cycle lane", " east side", " west end", " phone box"]

_ABBREVIATIONS = {
    "Street": ["St", "St.", "Str", "ST"], "Road": ["Rd", "Rd.", "RD"], "Lane": ["Ln", "La", "Ln."],
    "Square": ["Sq", "Sq."], "Place": ["Pl", "Pl."], "Avenue": ["Ave", "Av"],
    "Passage": ["Pass.", "Pas", "Psge"], "Gardens": ["Gdns"], "Court": ["Ct", "Crt"],
    "Crescent": ["Cres"], "Buildings": ["Bldgs"], "Terrace": ["Terr", "Tce"],
}
_SHORTHAND = ["o/s", "O/S", "outside", "r/o", "R/O", "rear of", "opp", "opp.", "opposite",
              "nr", "NR", "adj", "adj.", "adjacent to", "land adjacent to", "land adj",
              "car park of", "car park at", "in front of", "OUTSIDE"]
_HOUSE = ["12", "1-3", "41a", "Flat 3, 41", "Unit 2", "Unit 2,", "2-4", "Flat 7 18", "100"]
_TOWNS = [", London", ", City of London", ", LONDON", " London", ", City Of London"]
_POSTCODE_DISTRICTS = ["EC1A", "EC1M", "EC1V", "EC2A", "EC2M", "EC2N", "EC2R", "EC2V", "EC2Y",
                       "EC3A", "EC3M", "EC3N", "EC3R", "EC3V", "EC4A", "EC4M", "EC4N", "EC4R",
                       "EC4V", "EC4Y"]
_BRANDS = ["Tesco", "Sainsburys", "Co-op", "Waitrose", "M&S"]
_PREMISES = ["Moor House", "The Red Lion PH", "Costa Coffee", "Unit 4 Riverside House",
             "Flat 2 Kings Court", "Barclays Bank", "Pret A Manger", "Block B", "Tesco Express"]
_KEYBOARD = ["qwertyuiop", "asdfghjkl", "zxcvbnm"]
#: Classes that write two streets: a junction answer within JUNCTION_TOLERANCE_M is right,
#: and a generic label singled out by its partner is not counted as made confident.
JUNCTION_KINDS = ("junction", "slash_place")
#: Perturbation classes never used to set a constant or a rule (see the module docstring).
HELD_OUT_PERTURBATIONS = ("spacing", "punctuation", "phonetic", "note", "shortened",
                          "address_tail", "slash_place", "landmark", "short_slips")
#: ``landmark``: a shop, café, bank or pub the model's ``premises`` class never names, before
#: the street with or without a comma, or after it ("Boots, Cheapside", "McDonalds Cheapside",
#: "Cheapside o/s Greggs"); the crime is on the street.
_LANDMARKS = ["Boots", "McDonalds", "Greggs", "Starbucks", "Pret", "Tesco Metro",
              "Sainsburys Local", "Wetherspoons", "Nandos", "HSBC", "Lloyds Bank", "Caffe Nero",
              "Itsu", "Leon", "Post Office"]
_LANDMARK_FORMS = ["{lm}, {name}", "outside {lm}, {name}", "{lm} {name}", "{LM} - {NAME}",
                   "{name} o/s {lm}", "{lm}, {house}{name}", "opp {lm} {name}"]
#: ``short_slips``: two slips in a name whose longest word has five to seven letters, in
#: forms the model's ``typo2`` does not write: one sound-alike respelling of one letter
#: (a doubled or single consonant, ck/k, ee/ea, ie/ei, ou/ow) and one keyboard slip, or two
#: slips and upper case.
#: ``shortened``: street type abbreviations not in the model's list (upper case, a full stop),
#: then half the time the town with no comma ("MOOR LA. London", "Fleet ST. LONDON").
_SHORTENED = {
    "Street": ["ST.", "Str.", "st"], "Lane": ["LA", "La.", "LN"], "Road": ["rd", "RD."],
    "Square": ["SQ.", "sq"], "Place": ["PL", "pl."], "Avenue": ["AVE.", "Av."],
    "Gardens": ["Gdns.", "GDNS"], "Court": ["CT.", "Ct."], "Crescent": ["Cres.", "CRES"],
    "Buildings": ["Bldgs.", "BLDGS"], "Terrace": ["TERR", "Ter."], "Passage": ["PASS", "Psge."],
}
_TOWNS_NO_COMMA = [" London", " LONDON", " City of London", " london"]
_SOUND_ALIKE = [("ph", "f"), ("f", "ph"), ("ck", "k"), ("c", "k"), ("ee", "ea"), ("ea", "ee"),
                ("ie", "ei"), ("ei", "ie"), ("ou", "ow"), ("ow", "ou"), ("y", "ie"),
                ("ll", "l"), ("tt", "t"), ("ss", "s"), ("rr", "r"), ("nn", "n"), ("l", "ll"),
                ("t", "tt"), ("s", "ss"), ("r", "rr"), ("n", "nn"), ("er", "a")]
_ONE_EDIT_SOUND_ALIKE = [(a, b) for a, b in _SOUND_ALIKE
                         if (a, b) not in (("ph", "f"), ("f", "ph"), ("y", "ie"), ("er", "a"))]
_NOTES = [" area", " - shop doorway", " (footway)", " nr bus stop", " - rear", " footpath",
          " (public highway)", " / street", " - outside"]


def _neighbour_key(c: str, rng: random.Random) -> str:
    low = c.lower()
    for row in _KEYBOARD:
        i = row.find(low)
        if i >= 0:
            near = [row[j] for j in (i - 1, i + 1) if 0 <= j < len(row)]
            out = rng.choice(near)
            return out.upper() if c.isupper() else out
    return c


def _slip(name: str, rng: random.Random) -> str:
    """One keyboard slip inside a word of 4+ letters (never its first letter)."""
    words = [(m.start(), m.end()) for m in re.finditer(r"[A-Za-z]{4,}", name)]
    if not words:
        return name
    s, e = rng.choice(words)
    i = rng.randrange(s + 1, e - 1)
    op = rng.choice(["delete", "swap", "replace", "double"])
    if op == "delete":
        return name[:i] + name[i + 1:]
    if op == "swap":
        return name[:i] + name[i + 1] + name[i] + name[i + 2:]
    if op == "double":
        return name[:i] + name[i] + name[i:]
    return name[:i] + _neighbour_key(name[i], rng) + name[i + 1:]


def _abbreviate(name: str, rng: random.Random) -> str | None:
    subs = [w for w in _ABBREVIATIONS if re.search(rf"\b{w}\b", name)]
    if not subs:
        return None
    w = rng.choice(subs)
    return re.sub(rf"\b{w}\b", rng.choice(_ABBREVIATIONS[w]), name, count=1)


def drop_street_type(name: str) -> str | None:
    """The name without its street type ("Albert Drive" -> "Albert"), None if it has none."""
    words = name.split()
    if len(words) >= 2 and words[-1].lower() in ROAD_TYPE_TOKENS:
        return " ".join(words[:-1])
    return None


def _postcode(rng: random.Random) -> str:
    d = rng.choice(_POSTCODE_DISTRICTS)
    inward = (f"{rng.randint(1, 9)}{rng.choice('ABDEFGHJLNPQRSTUWXYZ')}"
              f"{rng.choice('ABDEFHJLNPRTUW')}")
    return rng.choice([" " + d[:3], " " + d, f" {d} {inward}", f", {d} {inward}",
                       f", London {d}", f" {d}{inward}"])


def perturb(label: str, rng: random.Random, kind: str | None = None,
            partner: str | None = None, known: frozenset[str] = frozenset()) -> tuple[str, str]:
    """One rewritten police.uk label and the perturbation class applied (see the module
    docstring). ``partner`` is the other street of a ``junction`` perturbation; ``known`` the
    canonical keys of all labels: a street type is never dropped when that leaves the name of
    another street ("Lime Street Passage" -> "Lime Street" names a different street)."""
    kind = kind or rng.choice(PERTURBATIONS)
    prefix, name = ("On or near ", label[11:]) if label.startswith("On or near ") else ("", label)
    if kind == "combined":
        kinds = rng.sample(_COMBINABLE, rng.choice([2, 3]))
        text = name
        parts = []
        for k in kinds:
            new, done = _apply(k, text, rng, None)
            if done != "clean":
                text = new
                parts.append(k)
        has_prefix = "shorthand" not in parts and "no_prefix" not in parts
        return (prefix if has_prefix else "") + text, "combined" if parts else "clean"
    text, done = _apply(kind, name, rng, partner)
    if done == "type_dropped" and normalise_name(text) in known:
        text, done = name, "clean"
    if done in ("shorthand", "no_prefix", "junction", "slash_place"):
        return text, done
    if done == "case" and prefix:
        f = rng.choice([str.upper, str.lower, str.title])
        return f(prefix) + text, done
    return prefix + text, done


def _respace(name: str, rng: random.Random) -> str | None:
    words = name.split()
    joins = [i for i in range(len(words) - 1) if words[i].isalpha() and words[i + 1].isalpha()]
    long_words = [i for i, w in enumerate(words) if w.isalpha() and len(w) >= 7]
    forms = (["join"] * bool(joins) + ["hyphen"] * bool(joins) + ["split"] * bool(long_words))
    if not forms:
        return None
    form = rng.choice(forms)
    if form == "split":
        i = rng.choice(long_words)
        at = rng.randrange(3, len(words[i]) - 2)
        words[i] = words[i][:at] + " " + words[i][at:].lower()
        return " ".join(words)
    i = rng.choice(joins)
    glue = "-" if form == "hyphen" else ""
    joined = words[i] + glue + (words[i + 1] if glue else words[i + 1].lower())
    return " ".join([*words[:i], joined, *words[i + 2:]])


def _repunctuate(name: str, rng: random.Random) -> str:
    forms = ["stop", "comma", "brackets", "quotes"]
    if "'" in name:
        forms += ["no_apostrophe", "curly"]
    elif re.search(r"[a-z]s\b", name):
        forms.append("add_apostrophe")
    if re.search(r"\bSt\b", name):
        forms += ["saint", "st_dot"]
    form = rng.choice(forms)
    if form == "no_apostrophe":
        return name.replace("'", "")
    if form == "curly":
        return name.replace("'", "\u2019")
    if form == "add_apostrophe":
        return re.sub(r"([a-z])s\b", r"\1's", name, count=1)
    if form == "saint":
        return re.sub(r"\bSt\b", "Saint", name, count=1)
    if form == "st_dot":
        return re.sub(r"\bSt\b", "St.", name, count=1)
    if form == "comma":  # a stray comma after the name, as a spreadsheet export leaves it
        return name + ","
    if form == "brackets":
        return f"({name})"
    if form == "quotes":
        return f'"{name}"'
    return name + "."


def _sound_alike(name: str, rng: random.Random) -> str | None:
    """One sound-alike respelling inside a word of the name (never its first letter)."""
    options = []
    for old, new in _SOUND_ALIKE:
        for m in re.finditer(re.escape(old), name):
            if m.start() > 0 and name[m.start() - 1].isalpha():
                options.append((m.start(), old, new))
    if not options:
        return None
    at, old, new = rng.choice(options)
    return name[:at] + new + name[at + len(old):]


def _apply(kind: str, name: str, rng: random.Random, partner: str | None) -> tuple[str, str]:
    if kind == "clean":
        return name, "clean"
    if kind == "no_prefix":
        return name, "no_prefix"
    if kind == "case":
        return rng.choice([str.upper, str.lower, str.title])(name), "case"
    if kind == "abbreviation":
        new = _abbreviate(name, rng)
        return (new, kind) if new else (name, "clean")
    if kind == "typo1":
        new = _slip(name, rng)
        return (new, kind) if new != name else (name, "clean")
    if kind == "typo2":
        new = _slip(_slip(name, rng), rng)
        return (new, kind) if new != name else (name, "clean")
    if kind == "type_dropped":
        new = drop_street_type(name)
        return (new, kind) if new else (name, "clean")
    if kind == "postcode":
        return name + _postcode(rng), kind
    if kind == "shorthand":
        if name == "Supermarket" and rng.random() < 0.5:
            name = rng.choice(_BRANDS)
        house = rng.choice(_HOUSE) + " " if rng.random() < 0.5 else ""
        if house and rng.random() < 0.5:
            return house + name, kind
        return f"{rng.choice(_SHORTHAND)} {house}{name}", kind
    if kind == "town":
        return name + rng.choice(_TOWNS), kind
    if kind == "premises":
        if partner and name in ("Supermarket",):  # the shop, then the street it is on
            return f"{rng.choice(_BRANDS + ['Supermarket'])}, {partner}", kind
        house = rng.choice(_HOUSE) + " " if rng.random() < 0.5 else ""
        return f"{rng.choice(_PREMISES)}, {house}{name}", kind
    if kind == "spacing":
        new = _respace(name, rng)
        return (new, kind) if new else (name, "clean")
    if kind == "punctuation":
        return _repunctuate(name, rng), kind
    if kind == "phonetic":
        new = _sound_alike(name, rng)
        return (new, kind) if new else (name, "clean")
    if kind == "note":
        return name + rng.choice(_NOTES), kind
    if kind == "detail":
        return name + rng.choice(_DETAILS), kind
    if kind == "slash_place" and partner:  # "BUS/COACH STATION/NUN COURT"
        text = f"{name}/{partner}" if "/" in name or rng.random() < 0.5 else f"{partner}/{name}"
        return (text.upper() if rng.random() < 0.5 else text), kind
    if kind == "address_tail":  # a postcode, then the town: the model writes them the other way
        pc = _postcode(rng).strip(" ,").split(",")[0].replace("London ", "")
        tail = f" {pc}{rng.choice(_TOWNS_NO_COMMA + [', London', ', LONDON'])}"
        return name + (tail.upper() if rng.random() < 0.25 else tail), kind
    if kind == "shortened":
        types = [w for w in _SHORTENED if re.search(rf"\b{w}$", name)]
        if not types:
            return name, "clean"
        w = rng.choice(types)
        new = name[: -len(w)] + rng.choice(_SHORTENED[w])
        return new + (rng.choice(_TOWNS_NO_COMMA) if rng.random() < 0.5 else ""), kind
    if kind == "landmark":
        form = rng.choice(_LANDMARK_FORMS)
        lm = rng.choice(_LANDMARKS)
        house = rng.choice(_HOUSE) + " " if rng.random() < 0.5 else ""
        return form.format(lm=lm, LM=lm.upper(), name=name, NAME=name.upper(),
                           house=house), kind
    if kind == "short_slips":
        longest = max((len(w) for w in re.findall(r"[A-Za-z]+", name)), default=0)
        if not 5 <= longest <= 7:
            return name, "clean"
        options = [(m.start(), a, b) for a, b in _ONE_EDIT_SOUND_ALIKE
                   for m in re.finditer(re.escape(a), name)
                   if m.start() > 0 and name[m.start() - 1].isalpha()]
        if options and rng.random() < 0.5:
            at, a, b = rng.choice(options)
            new = _slip(name[:at] + b + name[at + len(a):], rng)
        else:
            new = _slip(_slip(name, rng), rng).upper()
        return (new, kind) if new.lower() != name.lower() else (name, "clean")
    if kind == "junction" and partner:
        form = rng.choice(["junction of {a} and {b}", "{a} j/w {b}", "{a}/{b}",
                           "corner of {a} and {b}", "jct {a} & {b}", "{a} junction with {b}",
                           "J/O {a} and {b}"])
        # either street first: a force writes "A j/w B" as readily as "B j/w A", and when the
        # two do not meet, which of them is the wrong one cannot be read from the text
        first, second = (name, partner) if rng.random() < 0.5 else (partner, name)
        return form.format(a=first, b=second), kind
    return name, "clean"


def _months(spec: str) -> tuple[str, str]:
    first, _, last = spec.partition("..")
    return first, last or first


def _read(files: list[str]) -> pa.Table:
    cols = ["Month", "Longitude", "Latitude", "Location", "Falls within"]
    parts = [pacsv.read_csv(f, convert_options=pacsv.ConvertOptions(include_columns=cols))
             for f in files]
    return pa.concat_tables(parts)


#: police.uk's column names as a re-export may spell them ("falls_within", "Falls.within").
_POLICE_UK_COLUMNS = ("Month", "Longitude", "Latitude", "Location", "Falls within")
#: ...and those kept when present: the LSOA's name carries the point's district ("Sefton
#: 012A"), which a gazetteer built from the files uses for area hints ("..., Liverpool").
_POLICE_UK_OPTIONAL = ("LSOA code", "LSOA name", "Crime type")


def monthly_files(path: str, out_dir: str) -> list[str]:
    """Write a police.uk file that holds several months, possibly re-exported (snake_case or
    dotted headers, extra index columns, "NA" for empty: the Merseyside sample), as one
    police.uk-shaped CSV per month named ``YYYY-MM-<name>.csv`` in ``out_dir``, the layout
    :func:`evaluate_police_uk` reads; returns their paths."""
    table = pacsv.read_csv(path, convert_options=pacsv.ConvertOptions(
        null_values=["", "NA"], strings_can_be_null=True))
    spelt = {re.sub(r"[^a-z]", "", c.lower()): c for c in table.column_names}
    missing = [c for c in _POLICE_UK_COLUMNS if re.sub(r"[^a-z]", "", c.lower()) not in spelt]
    if missing:
        raise GazetteerError(f"{path}: not a police.uk file (no column for {missing})")
    wanted = [*_POLICE_UK_COLUMNS, *(c for c in _POLICE_UK_OPTIONAL
                                     if re.sub(r"[^a-z]", "", c.lower()) in spelt)]
    table = table.select([spelt[re.sub(r"[^a-z]", "", c.lower())] for c in wanted]
                         ).rename_columns(wanted)
    os.makedirs(out_dir, exist_ok=True)
    name = os.path.splitext(os.path.basename(path))[0]
    months = table.column("Month").to_numpy(zero_copy_only=False)
    out = []
    for month in sorted(set(months.tolist()) - {None}):
        target = os.path.join(out_dir, f"{month}-{name}.csv")
        pacsv.write_csv(table.filter(pa.array(months == month)), target)
        out.append(target)
    return out


def reliability_table(scores: np.ndarray, right: np.ndarray,
                      bands: tuple[float, ...] = RELIABILITY_BANDS) -> list[dict]:
    """Score band -> number of answers, mean score and share right (NaN scores left out)."""
    out = []
    edges = list(bands) + [1.0000001]
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        sel = (scores >= lo) & (scores < hi)
        n = int(sel.sum())
        out.append({"band": f"{lo:.2f}-{min(hi, 1.0):.2f}", "answers": n,
                    "mean_score": round(float(scores[sel].mean()), 3) if n else None,
                    "share_right": round(float(right[sel].mean()), 4) if n else None})
    return out


def calibration_error(scores: np.ndarray, right: np.ndarray,
                      bands: tuple[float, ...] = RELIABILITY_BANDS) -> float | None:
    """Expected calibration error: over the score bands, the answers-weighted mean of
    |mean score - share right| (0 is perfectly calibrated; NaN scores left out)."""
    table = reliability_table(scores, right, bands)
    n = sum(b["answers"] for b in table)
    if not n:
        return None
    return round(sum(b["answers"] * abs(b["mean_score"] - b["share_right"])
                     for b in table if b["answers"]) / n, 4)


def labelled_answers(reports: list[dict]) -> dict[str, np.ndarray]:
    """Every answered row of some :func:`evaluate_police_uk` reports as columns: ``evidence``
    (the uncalibrated score), ``score`` (calibrated), ``match_type``, ``reason``, ``right``."""
    found = [(m, bool(ok)) for r in reports for m, ok in zip(r["_found"], r["_right"],
                                                              strict=True) if m is not None]
    return {
        "evidence": np.array([m.evidence_score if m.evidence_score is not None else m.score
                              for m, _ in found], float),
        "score": np.array([m.score for m, _ in found], float),
        "match_type": np.array([m.match_type for m, _ in found], dtype=object),
        "reason": np.array([m.reason for m, _ in found], dtype=object),
        "right": np.array([ok for _, ok in found], bool),
    }


def reliability_by_kind(answers: dict[str, np.ndarray]) -> dict[str, dict]:
    """Per evidence kind (match type / reason): answers, mean calibrated score, share right."""
    kinds = np.array([f"{m}/{r or '-'}" for m, r in zip(answers["match_type"],
                                                         answers["reason"], strict=True)])
    out = {}
    for k in sorted(set(kinds.tolist()), key=lambda k: -(kinds == k).sum()):
        sel = kinds == k
        out[k] = {"answers": int(sel.sum()),
                  "mean_evidence": round(float(answers["evidence"][sel].mean()), 3),
                  "mean_score": round(float(answers["score"][sel].mean()), 3),
                  "share_right": round(float(answers["right"][sel].mean()), 4)}
    return out


def junction_distances(gaz: Gazetteer, thresholds: tuple[float, ...] = (100, 150, 200, 250,
                                                                     300)) -> dict:
    """The measurement behind ``JUNCTION_MAX_M``: for the named (not generic) features of a
    gazetteer, the distance from each to the nearest feature of another name (streets that
    meet or cross have close map points) against the distances of all pairs of names."""
    names = gaz.features.column("name").to_pylist()
    rows = np.flatnonzero([_police_type(n) != "Public Place" for n in names])
    keys = np.asarray(gaz._row_key)[rows]
    x, y = gaz.x[rows], gaz.y[rows]
    d = np.hypot(x[:, None] - x[None, :], y[:, None] - y[None, :])
    d[keys[:, None] == keys[None, :]] = np.inf
    nearest = d.min(axis=1)
    pairs = d[np.isfinite(d)]
    return {
        "nearest_other_street_m_p50_p90": [round(float(v)) for v in
                                           np.percentile(nearest, [50, 90])],
        "within": {int(t): {"nearest_other_street": round(float((nearest <= t).mean()), 3),
                            "all_street_pairs": round(float((pairs <= t).mean()), 4)}
                   for t in thresholds},
    }


def _share(mask: np.ndarray, sel: np.ndarray) -> float | None:
    return round(float(mask[sel].mean()), 4) if sel.any() else None


def evaluate_police_uk(
    folder: str,
    *,
    train: str = "2017-12..2019-06",
    test: str = "2019-07..2020-11",
    force: str | None = None,
    seed: int = 7,
    gazetteer_dir: str | None = None,
    perturbations: tuple[str, ...] = PERTURBATIONS,
    junction_not_meeting: float = JUNCTION_NOT_MEETING_SHARE,
) -> dict:
    """Run the evaluation on a folder of one force's police.uk monthly files; return figures.

    ``perturbations``: the classes drawn from (the model's, or HELD_OUT_PERTURBATIONS);
    ``junction_not_meeting``: the share of junction rows naming a street that does not meet
    the crime's street (see :data:`JUNCTION_NOT_MEETING_SHARE`)."""
    files = sorted(os.path.join(folder, f) for f in os.listdir(folder) if f.endswith(".csv"))

    def in_range(spec: str) -> list[str]:
        a, b = _months(spec)
        return [f for f in files if a <= os.path.basename(f)[:7] <= b]

    train_files, test_files = in_range(train), in_range(test)
    if not train_files or not test_files:
        raise GazetteerError(f"{folder}: no files for months {train} and/or {test}")
    tmp = tempfile.TemporaryDirectory() if gazetteer_dir is None else None
    out = gazetteer_dir or os.path.join(tmp.name, "gaz")  # type: ignore[union-attr]
    t0 = time.perf_counter()
    build_gazetteer(train_files, out)
    build_s = time.perf_counter() - t0
    gaz = Gazetteer.load(out)

    # Every published point of every label, all months; the training months' points apart.
    train_t = _read(train_files)
    allt = pa.concat_tables([train_t, _read(test_files)])
    a_label = allt.column("Location").to_pylist()
    a_lon = allt.column("Longitude").to_numpy(zero_copy_only=False)
    a_lat = allt.column("Latitude").to_numpy(zero_copy_only=False)
    ok = np.array([bool(s) and s != "No Location" for s in a_label]) & ~np.isnan(a_lon)
    ax, ay = to_bng(np.where(ok, a_lon, 0.0), np.where(ok, a_lat, 0.0))
    n_train = train_t.num_rows
    points: dict[str, set] = defaultdict(set)
    train_points: dict[str, set] = defaultdict(set)
    for i in np.flatnonzero(ok).tolist():
        p = (round(float(ax[i]), 1), round(float(ay[i]), 1))
        points[a_label[i]].add(p)
        if i < n_train:
            train_points[a_label[i]].add(p)
    label_pts = {s: np.array(sorted(p)) for s, p in points.items()}

    def label_class(s: str) -> str:
        name = s[11:] if s.startswith("On or near ") else s
        if _police_type(name) == "Public Place":
            return "generic"
        return "single" if len(points[s]) == 1 else "street"

    # Junction partners: the named street whose training map point is nearest to the crime.
    named = [s for s in train_points if label_class(s) != "generic"]
    n_xy = np.array([p for s in named for p in train_points[s]])
    n_lab = np.array([i for i, s in enumerate(named) for _ in train_points[s]])
    named_keys = [normalise_name(s) for s in named]
    known = frozenset(normalise_name(s) for s in points)
    # A street type left off can leave the stem of several streets ("Temple" for Temple
    # Avenue or Temple Lane): such a row has no one right answer; counted apart, as the
    # national benchmark counts it.
    streets_of_stem: dict[str, set[str]] = defaultdict(set)
    for key in known:
        stem = drop_street_type(key)
        if stem:
            streets_of_stem[stem].add(key)

    t = allt.slice(n_train)
    label = a_label[n_train:]
    keep = np.flatnonzero(ok[n_train:])
    if force is None:
        falls = t.column("Falls within").to_pylist()
        force = resolve_force(falls[keep[0]]) if len(keep) else None
    label = [label[i] for i in keep]
    x, y = ax[n_train:][keep], ay[n_train:][keep]
    rng = random.Random(seed)
    partner_rng = random.Random(seed + JUNCTION_PARTNER_SEED_OFFSET)
    queries, kinds, classes, several = [], [], [], []
    for s, px, py in zip(label, x.tolist(), y.tolist(), strict=True):
        kind = rng.choice(perturbations)
        partner = None
        if kind in ("junction", "premises", "slash_place") and len(n_xy):
            d = np.hypot(n_xy[:, 0] - px, n_xy[:, 1] - py)
            d[np.array([named_keys[j] == normalise_name(s) for j in n_lab])] = np.inf
            # the draw is kept for every junction and premises row, so that the other rows'
            # rewriting does not depend on the junction model
            not_meeting = kind == "junction" and rng.random() < junction_not_meeting
            j = int(np.argmin(d))
            if not_meeting:  # a street of the neighbourhood that is not the corner's
                near_by = np.flatnonzero((d >= JUNCTION_NOT_MEETING_M[0])
                                         & (d <= JUNCTION_NOT_MEETING_M[1]))
                j = int(partner_rng.choice(near_by.tolist())) if len(near_by) else j
            partner = named[n_lab[j]][11:]
        q, done = perturb(s, rng, kind, partner, known)
        queries.append(q)
        kinds.append(done)
        classes.append(label_class(s))
        several.append(done == "type_dropped"
                       and len(streets_of_stem.get(normalise_name(q), ())) > 1)
    t1 = time.perf_counter()
    found = gaz.lookup_many(queries, force=force)
    lookup_s = time.perf_counter() - t1
    n = len(label)
    kinds_a, classes_a, several_a = np.array(kinds), np.array(classes), np.array(several)
    answered = np.array([m is not None for m in found])
    ambiguous = np.array([m is not None and m.match_type == "ambiguous" for m in found])
    located = answered & ~ambiguous
    score = np.array([m.score if m is not None else np.nan for m in found])
    mx = np.array([m.x_bng if m is not None else np.nan for m in found])
    my = np.array([m.y_bng if m is not None else np.nan for m in found])
    err = np.hypot(mx - x, my - y)
    right = np.zeros(n, dtype=bool)
    for i, (s, c, m) in enumerate(zip(label, classes, found, strict=True)):
        if m is None:
            continue
        if c == "street":
            p = label_pts[s]
            good = bool((np.hypot(p[:, 0] - mx[i], p[:, 1] - my[i]) <= RIGHT_WITHIN_M).any())
        else:
            good = bool(err[i] <= RIGHT_WITHIN_M)
        if not good and kinds[i] in JUNCTION_KINDS and m.local_type == "Junction":
            good = bool(err[i] <= JUNCTION_TOLERANCE_M)
        right[i] = good
    confident = located & (score >= CONFIDENT_SCORE)
    seen = np.array([s in train_points for s in label])
    single, street, generic = (classes_a == c for c in ("single", "street", "generic"))

    def measures(sel: np.ndarray) -> dict:
        return {
            "rows": int(sel.sum()),
            "located": _share(located, sel),
            "right": _share(located & right, sel),
            "confident": _share(confident, sel),
            "confident_right": _share(right, sel & confident),
        }

    # calibration by how the answer was made: match type and reason -> share right
    by_how: dict[str, list] = defaultdict(list)
    for i, m in enumerate(found):
        if m is not None:
            by_how[f"{m.match_type}/{m.reason or '-'}"].append((m.score, right[i]))
    calibration = {k: {"answers": len(v), "mean_score": round(float(np.mean([a for a, _ in v])), 3),
                       "share_right": round(float(np.mean([b for _, b in v])), 4)}
                   for k, v in sorted(by_how.items())}
    types: dict[str, int] = defaultdict(int)
    for m in found:
        types[m.match_type if m else "none"] += 1

    def month(f: str) -> str:
        return os.path.basename(f)[:7]

    report = {
        "data": folder,
        "force": force,
        "seed": seed,
        "train_months": f"{month(train_files[0])}..{month(train_files[-1])}",
        "test_months": f"{month(test_files[0])}..{month(test_files[-1])}",
        "gazetteer_features": len(gaz),
        "build_seconds": round(build_s, 3),
        "test_rows": n,
        "rows_label_unseen_in_training": int((~seen).sum()),
        "distinct_queries": len(set(queries)),
        "lookup_seconds": round(lookup_s, 3),
        # the four measures of issue 16
        "single_point_within_25m": _share(located & right, single),
        # ...of the rows whose text has one reading, and how the others were answered
        "single_point_within_25m_one_reading": _share(located & right, single & ~several_a),
        "several_readings": int(several_a.sum()),
        # labels first published after the gazetteer months cap the single-point measure
        "single_point_label_unseen": _share(~seen, single),
        "single_point_within_25m_seen_one_reading": _share(located & right,
                                                           single & seen & ~several_a),
        "several_readings_left_open": _share(ambiguous | ~answered, several_a),
        "street_placed_on_street": _share(located & right, street),
        # a junction partner may single out one place of a generic type: not counted here
        "generic_confident": _share(confident, generic & ~np.isin(kinds_a, JUNCTION_KINDS)),
        "confident_right": _share(right, confident),
        "share_confident": _share(confident, np.ones(n, bool)),
        "share_located": _share(located, np.ones(n, bool)),
        "share_right": _share(located & right, np.ones(n, bool)),
        "median_error_m": round(float(np.nanmedian(err[located])), 2) if located.any() else None,
        # earlier figures' names, kept for comparison
        "single_place_located": _share(located, ~generic),
        "ambiguous_label_rows": int(generic.sum()),
        "ambiguous_reported_ambiguous": _share(~located, generic),
        "single_place_reported_ambiguous": _share(ambiguous, ~generic),
        "match_types": dict(types),
        "by_label_class": {c: measures(classes_a == c) for c in ("single", "street", "generic")},
        "by_perturbation": {k: measures(kinds_a == k) for k in ("clean", *perturbations)
                            if (kinds_a == k).any()},
        "reliability": reliability_table(score[answered], right[answered]),
        "calibration_by_match": calibration,
        "_score": score,
        "_right": right,
        "_class": classes_a,
        "_kind": kinds_a,
        "_label": label,
        "_seen": seen,
        "_query": queries,
        "_found": found,
        "_located": located,
        "_point": (x, y),
    }
    if tmp is not None:
        tmp.cleanup()
    return report


def public(report: dict) -> dict:
    """The report without its per-row arrays (for JSON)."""
    return {k: v for k, v in report.items() if not k.startswith("_")}


def format_report(r: dict) -> str:
    """The evaluation figures as readable lines."""
    def pct(v: float | None) -> str:
        return "   -  " if v is None else f"{v:6.1%}"

    lines = [
        f"police.uk evaluation: {r['data']} (force {r['force']}, seed {r['seed']})",
        f"  gazetteer from {r['train_months']}: {r['gazetteer_features']:,} features, "
        f"built in {r['build_seconds']} s",
        f"  geocoded {r['test_rows']:,} rewritten labels of {r['test_months']} "
        f"({r['distinct_queries']:,} distinct; {r['rows_label_unseen_in_training']} rows of "
        f"labels never published in training) in {r['lookup_seconds']} s",
        f"  single-point labels placed within 25 m      {pct(r['single_point_within_25m'])}"
        "   (goal >= 97%)",
        f"  ... of the rows with one reading            "
        f"{pct(r['single_point_within_25m_one_reading'])}   ({r['several_readings']} rows "
        f"with a type left off name several streets; {pct(r['several_readings_left_open'])} "
        "of them left ambiguous or unlocated)",
        f"  streets with several points, on the street  {pct(r['street_placed_on_street'])}"
        "   (goal >= 96%)",
        f"  generic labels given a confident answer     {pct(r['generic_confident'])}"
        "   (goal <= 3%)",
        f"  confident answers (score >= {CONFIDENT_SCORE}) right       {pct(r['confident_right'])}"
        "   (goal >= 98%)",
        f"  share confident {pct(r['share_confident'])}, located {pct(r['share_located'])}, "
        f"right {pct(r['share_right'])}; match types {r['match_types']}",
        "  by label class / perturbation:      rows  located   right  confident  conf.right",
    ]
    for group in ("by_label_class", "by_perturbation"):
        for k, v in r[group].items():
            lines.append(f"    {k:<28} {v['rows']:>7,}  {pct(v['located'])}  {pct(v['right'])}"
                         f"     {pct(v['confident'])}      {pct(v['confident_right'])}")
    lines.append("  by match type / reason (answers, mean score, share right):")
    for k, v in r["calibration_by_match"].items():
        lines.append(f"    {k:<28} {v['answers']:>6,}  {v['mean_score']:>6}  "
                     f"{pct(v['share_right'])}")
    lines.append("  reliability (score band: answers, mean score, share right):")
    for b in r["reliability"]:
        lines.append(f"    {b['band']}  {b['answers']:>6,}  "
                     f"{'-' if b['mean_score'] is None else b['mean_score']:>6}  "
                     f"{pct(b['share_right'])}")
    return "\n".join(lines)


#: Perturbation classes used on OS Open Names roads and settlements (no junctions: the tiles
#: hold too few meeting roads to name).
OS_PERTURBATIONS = ("clean", "case", "abbreviation", "typo1", "typo2", "type_dropped",
                    "postcode", "shorthand", "town", "combined")
#: OS local types whose names a force writes: roads and settlements.
OS_QUERY_TYPES = ("Named Road", "Section Of Named Road", "Numbered Road", "City", "Town",
                  "Village", "Hamlet", "Suburban Area", "Other Settlement")


def evaluate_os_open_names(folder: str, *, seeds: tuple[int, ...] = (7, 8, 9),
                           gazetteer_dir: str | None = None) -> dict:
    """Geocode the roads, villages and hamlets of real OS Open Names tiles, each name rewritten
    once per perturbation class and seed, against a gazetteer of the same tiles (a test of
    parsing, fuzzy matching and the postcode-district hint on real OS data, where postcode
    districts, settlements and road extents are known; not of unseen names).

    The postcode appended is the feature's own district (``TN29``) or a sector of it; the town is
    its populated place or district. Right: within 25 m of the feature's point or inside its
    extent, or the same name whose extent holds the feature (a road for one of its sections)."""
    tmp = tempfile.TemporaryDirectory() if gazetteer_dir is None else None
    out = gazetteer_dir or os.path.join(tmp.name, "gaz")  # type: ignore[union-attr]
    build_gazetteer([folder], out, format="os-open-names")
    gaz = Gazetteer.load(out)
    cols = gaz.features.select(["id", "name", "local_type", "postcode_district",
                                "populated_place", "district"]).to_pylist()
    rows = [i for i, r in enumerate(cols) if r["local_type"] in OS_QUERY_TYPES]
    queries, kinds, truth = [], [], []
    known = frozenset(normalise_name(r["name"]) for r in cols)
    for seed in seeds:
        rng = random.Random(seed)
        for i in rows:
            r = cols[i]
            for kind in OS_PERTURBATIONS:
                if kind == "postcode" and r["postcode_district"]:
                    pc_text = r["postcode_district"] + rng.choice(["", f" {rng.randint(1, 9)}"])
                    q, done = r["name"] + rng.choice([" ", ", "]) + pc_text, "postcode"
                elif kind == "town" and (r["populated_place"] or r["district"]):
                    q, done = f"{r['name']}, {r['populated_place'] or r['district']}", "town"
                elif kind in ("postcode", "town"):
                    continue
                else:
                    q, done = perturb(r["name"], rng, kind, None, known)
                queries.append(q)
                kinds.append(done)
                truth.append(i)
    found = gaz.lookup_many(queries)
    truth_a = np.array(truth)
    kinds_a = np.array(kinds)
    located = np.array([m is not None and m.match_type != "ambiguous" for m in found])
    score = np.array([m.score if m is not None else np.nan for m in found])
    right = np.zeros(len(found), dtype=bool)
    for j, (m, i) in enumerate(zip(found, truth, strict=True)):
        if m is None:
            continue
        x0, y0, x1, y1 = (float(v[i]) for v in (gaz.xmin, gaz.ymin, gaz.xmax, gaz.ymax))
        inside = (x0 - RIGHT_WITHIN_M <= m.x_bng <= x1 + RIGHT_WITHIN_M
                  and y0 - RIGHT_WITHIN_M <= m.y_bng <= y1 + RIGHT_WITHIN_M)
        near = np.hypot(m.x_bng - gaz.x[i], m.y_bng - gaz.y[i]) <= RIGHT_WITHIN_M
        # or the answer is the whole road a section belongs to: its extent holds the section
        ext = m.extent or (m.x_bng, m.y_bng, m.x_bng, m.y_bng)
        holds = (ext[0] - RIGHT_WITHIN_M <= gaz.x[i] <= ext[2] + RIGHT_WITHIN_M
                 and ext[1] - RIGHT_WITHIN_M <= gaz.y[i] <= ext[3] + RIGHT_WITHIN_M
                 and normalise_name(m.name) == normalise_name(cols[i]["name"]))
        right[j] = bool(inside or near or holds)
    confident = located & (score >= CONFIDENT_SCORE)

    def measures(sel: np.ndarray) -> dict:
        return {"rows": int(sel.sum()), "located": _share(located, sel),
                "right": _share(located & right, sel), "confident": _share(confident, sel),
                "confident_right": _share(right, sel & confident)}

    report = {
        "data": folder,
        "features": len(gaz),
        "names_queried": len(rows),
        "queries": len(queries),
        "seeds": list(seeds),
        "all": measures(np.ones(len(found), dtype=bool)),
        "by_perturbation": {k: measures(kinds_a == k) for k in OS_PERTURBATIONS
                            if (kinds_a == k).any()},
        "reliability": reliability_table(score[~np.isnan(score)], right[~np.isnan(score)]),
        "_truth": truth_a,
    }
    if tmp is not None:
        tmp.cleanup()
    return report
