"""Geocoding forms that neither the perturbation model nor its held-out classes write.

A third check beside ``benchmarks/gazetteer_quality.py``, written after that evaluation's
classes were fixed: the City of London's real single-map-point labels of the calibration months
(2019-07..2020-02; only labels the gazetteer of 2017-12..2019-06 has, no place types, no
slashes), each rewritten in one form drawn at random:

* ``truncated``: one to three letters cut off the end, as a fixed-width field does;
* ``no_space``: the first space dropped ("LudgateHill");
* ``trailing_comma``: lower case with a comma after;
* ``no_dot``: "No. 15 " before the name;
* ``bracket_number``: a number in brackets after it ("Cheapside (12)");
* ``caps_st``: upper case with "ST." for Street;
* ``doubled``: one letter doubled;
* ``last_dropped``: the last letter dropped;
* ``quoted``: in double quotes;
* ``dash_note``: " - " and a note ("rear", "o/s shop", "CCTV");
* ``at``: "at " before the name;
* ``city``: ", EC2", ", City", ", LONDON EC" after it.

Prints, per form and in all, the share placed within 25 m of the label's point (located, not
ambiguous) and the number of confident answers (score >= 0.8) that are wrong. Run::

    .venv/bin/python benchmarks/gazetteer_forms.py [--seeds 5 6 7]
"""

from __future__ import annotations

import argparse
import collections
import os
import random
import sys
import tempfile

import numpy as np
import pyarrow.csv as pacsv

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from crimegeo.gazetteer import Gazetteer, build_gazetteer  # noqa: E402
from crimegeo.gazetteer.evaluate import CONFIDENT_SCORE, RIGHT_WITHIN_M  # noqa: E402
from crimegeo.gazetteer.geo import to_bng  # noqa: E402
from crimegeo.gazetteer.sources import _police_type  # noqa: E402

DATA = os.path.join(os.path.dirname(ROOT), "shared", "data", "police-uk", "city-of-london")
TRAIN, TEST = ("2017-12", "2019-06"), ("2019-07", "2020-02")
NOTES = ("rear", "footway", "o/s shop", "nr ATM", "CCTV")
TOWNS = ("EC2", "City", "City of London, London", "LONDON EC")


def _rows(files: list[str]) -> list[tuple[str, float, float]]:
    out = []
    for f in files:
        t = pacsv.read_csv(f)
        out += [(label, lon, lat) for label, lon, lat in zip(
            t["Location"].to_pylist(), t["Longitude"].to_pylist(), t["Latitude"].to_pylist(),
            strict=True) if label and label != "No Location" and lon is not None]
    return out


def _forms(rng: random.Random) -> dict:
    def doubled(n: str) -> str:
        i = rng.randrange(1, len(n))
        return n[:i] + n[i] + n[i:] if n[i].isalpha() else n

    return {
        "truncated": lambda n: n[:max(6, len(n) - rng.randint(1, 3))],
        "no_space": lambda n: n.replace(" ", "", 1),
        "trailing_comma": lambda n: n.lower() + ",",
        "no_dot": lambda n: f"No. {rng.randint(1, 200)} {n}",
        "bracket_number": lambda n: f"{n} ({rng.randint(1, 200)})",
        "caps_st": lambda n: n.upper().replace("STREET", "ST."),
        "doubled": doubled,
        "last_dropped": lambda n: n[:-1],
        "quoted": lambda n: f'"{n}"',
        "dash_note": lambda n: f"{n} - {rng.choice(NOTES)}",
        "at": lambda n: f"at {n}",
        "city": lambda n: f"{n}, {rng.choice(TOWNS)}",
    }


def main() -> None:
    """Build the gazetteer of the training months, rewrite the test labels, print figures."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default=DATA)
    ap.add_argument("--seeds", type=int, nargs="+", default=[5, 6, 7])
    ap.add_argument("--misses", type=int, default=0, help="print up to this many misses a seed")
    args = ap.parse_args()
    if not os.path.isdir(args.data):
        sys.exit(f"real data not found: {args.data} (see ../shared/data/README.md)")
    files = sorted(os.path.join(args.data, f) for f in os.listdir(args.data)
                   if f.endswith(".csv"))

    def months(span: tuple[str, str]) -> list[str]:
        return [f for f in files if span[0] <= os.path.basename(f)[:7] <= span[1]]

    train, test = _rows(months(TRAIN)), _rows(months(TEST))
    points: dict[str, set] = collections.defaultdict(set)
    for label, lon, lat in train + test:
        points[label].add((round(lon, 6), round(lat, 6)))
    known = {label for label, _, _ in train}
    rows = [(label[11:] if label.startswith("On or near ") else label, lon, lat)
            for label, lon, lat in test
            if label in known and len(points[label]) == 1 and "/" not in label]
    rows = [r for r in rows if _police_type(r[0]) != "Public Place"]
    with tempfile.TemporaryDirectory(prefix="gazetteer-forms-") as folder:
        build_gazetteer(months(TRAIN), os.path.join(folder, "gaz"))
        gaz = Gazetteer.load(os.path.join(folder, "gaz"))
        tx, ty = to_bng(np.array([r[1] for r in rows]), np.array([r[2] for r in rows]))
        for seed in args.seeds:
            rng = random.Random(seed)
            forms = _forms(rng)
            kinds = [rng.choice(list(forms)) for _ in rows]
            texts = [forms[k](name) for k, (name, _, _) in zip(kinds, rows, strict=True)]
            found = gaz.lookup_many(texts, force="city-of-london")
            tally: dict[str, list[int]] = collections.defaultdict(lambda: [0, 0, 0])
            misses = []
            for i, m in enumerate(found):
                placed = m is not None and m.match_type != "ambiguous"
                right = placed and np.hypot(m.x_bng - tx[i], m.y_bng - ty[i]) <= RIGHT_WITHIN_M
                counts = tally[kinds[i]]
                counts[0] += 1
                counts[1] += bool(right)
                counts[2] += bool(placed and m.score >= CONFIDENT_SCORE and not right)
                if not right:
                    answer = None if m is None else (m.name, m.match_type, m.reason, m.score)
                    misses.append(f"    {kinds[i]}: {texts[i]!r} ({rows[i][0]}) -> {answer}")
            total = [sum(c[j] for c in tally.values()) for j in range(3)]
            print(f"seed {seed}: {total[0]:,} labels, within 25 m {total[1] / total[0]:.2%}, "
                  f"confident and wrong {total[2]}")
            for kind in forms:
                n, right, wrong = tally[kind]
                if n:
                    print(f"  {kind:<16} {n:>6,}  {right / n:7.2%}  {wrong}")
            for miss in misses[:args.misses]:
                print(miss)


if __name__ == "__main__":
    main()
