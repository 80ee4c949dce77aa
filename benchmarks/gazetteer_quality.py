"""Geocoding quality on real data: the City of London police.uk evaluation.

Builds a gazetteer from the City of London Police's published police.uk files of 2017-12..2019-06
(each distinct "On or near X" label with its point becomes a feature), then geocodes the labels
of 2019-07..2020-11 perturbed the way force data is written (case, abbreviations, typos, a
missing "On or near"), restricted to the force, and prints: share located, share within 25 m of
the published point, median error, and how often ambiguous labels (one label at several distinct
places, such as "Supermarket") are honestly reported as ambiguous.

Run::

    /tmp/trial/bin/python benchmarks/gazetteer_quality.py [--seed 7] [--json]
        [--data ../shared/data/police-uk/city-of-london]

(the same as ``python -m crimegeo.gazetteer evaluate --data ...``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from crimegeo.gazetteer.evaluate import evaluate_police_uk, format_report  # noqa: E402

DEFAULT_DATA = os.path.join(os.path.dirname(ROOT), "shared", "data", "police-uk",
                            "city-of-london")


def main() -> None:
    """Run the evaluation and print its figures."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default=DEFAULT_DATA)
    ap.add_argument("--train", default="2017-12..2019-06")
    ap.add_argument("--test", default="2019-07..2020-11")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    if not os.path.isdir(args.data):
        sys.exit(f"real data not found: {args.data} (see ../shared/data/README.md)")
    seeds = [args.seed, args.seed + 1, args.seed + 2]
    reports = [evaluate_police_uk(args.data, train=args.train, test=args.test, seed=s)
               for s in seeds]
    if args.json:
        print(json.dumps(reports, indent=2))
        return
    print(format_report(reports[0]))
    keys = ("share_located", "share_within_25m", "median_error_m",
            "ambiguous_reported_ambiguous", "single_place_reported_ambiguous")
    print(f"\nacross seeds {seeds}:")
    for k in keys:
        print(f"  {k:<34} " + "  ".join(f"{r[k]}" for r in reports))


if __name__ == "__main__":
    main()
