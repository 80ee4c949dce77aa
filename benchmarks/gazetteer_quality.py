"""Geocoding quality on real data: the City of London police.uk evaluation of issue 16.

Builds a gazetteer from the City of London Police's published police.uk files of the earlier
months (each distinct "On or near X" label with its point becomes a feature), rewrites the labels
of later months the way force exports write locations (the perturbation model documented in
``gazetteer/evaluate.py``: case, abbreviations, one and two keyboard slips, street type dropped,
postcodes appended, police shorthand and house numbers, trailing town, junctions, combinations),
geocodes them restricted to the force, and prints for each seed the four measures of issue 16,
per label class and perturbation class, then their mean over the seeds and the reliability table
(score band -> share right) pooled over the seeds. Then the same kind of rewriting on the roads,
villages and hamlets of the real OS Open Names tiles (with their real postcode districts and
settlements), the same evaluation on a second force's real labels (Merseyside's shoplifting
rows, re-exported in one file: never used to set a constant), and the measurement behind the
junction distance.

The gazetteer's score constants are set on the calibration split (test months
2019-07..2020-02, seeds 1, 2, 3); the default run is the held-out split (test months
2020-03..2020-11, seeds 7, 8, 9), which was only run to report. Run::

    .venv/bin/python benchmarks/gazetteer_quality.py                      # held-out
    .venv/bin/python benchmarks/gazetteer_quality.py --test 2019-07..2020-02 --seeds 1 2 3
    .venv/bin/python benchmarks/gazetteer_quality.py --json
    .venv/bin/python benchmarks/gazetteer_quality.py --refit-calibration   # then the held-out

``--refit-calibration`` first fits the score calibration (``gazetteer/calibration.json``, see
``gazetteer/calibration.py``) on the calibration split only (test months ``--fit-test``, seeds
``--fit-seeds``: by default 2019-07..2020-02 and 30 seeds, none of the held-out ones; the
perturbation model's classes), writes it, and then runs the held-out
evaluation with it: the reliability tables printed after are on months, seeds and (for the
held-out classes) perturbations the fit never saw.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from crimegeo.gazetteer.calibration import (  # noqa: E402
    CALIBRATION_PATH,
    FIT_MONTHS,
    FIT_SEEDS,
    default_calibration,
    fit_calibration,
)
from crimegeo.gazetteer.evaluate import (  # noqa: E402
    CALIBRATION_PERTURBATIONS,
    HELD_OUT_PERTURBATIONS,
    PERTURBATIONS,
    calibration_error,
    evaluate_os_open_names,
    evaluate_police_uk,
    format_report,
    junction_distances,
    labelled_answers,
    monthly_files,
    public,
    reliability_by_kind,
    reliability_table,
)

DEFAULT_DATA = os.path.join(os.path.dirname(ROOT), "shared", "data", "police-uk",
                            "city-of-london")
OS_DATA = os.path.join(os.path.dirname(ROOT), "shared", "data", "os-open-names")
#: A second force's real labels, never used to set a constant: Merseyside's shoplifting rows,
#: 13 months in one re-exported file (a sparse gazetteer: one crime type, eight months).
SECOND_FORCE = os.path.join(os.path.dirname(ROOT), "shared", "data", "police-uk",
                            "merseyside", "merseyside_shoplifting.csv")
SECOND_FORCE_SPLIT = {"force": "merseyside", "train": "2019-05..2019-12",
                      "test": "2020-01..2020-05"}
MEASURES = ("single_point_within_25m", "single_point_within_25m_one_reading",
            "single_point_label_unseen", "single_point_within_25m_seen_one_reading",
            "street_placed_on_street", "generic_confident", "confident_right",
            "share_confident", "several_readings_left_open")


def main() -> None:
    """Run the evaluation for each seed and print its figures, their mean and the pooled
    reliability table."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default=DEFAULT_DATA)
    ap.add_argument("--train", default="2017-12..2019-06")
    ap.add_argument("--test", default="2020-03..2020-11")
    ap.add_argument("--seeds", type=int, nargs="+", default=[7, 8, 9])
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--quiet", action="store_true", help="Only the summary, not each seed.")
    ap.add_argument("--refit-calibration", action="store_true",
                    help=f"Fit the score calibration on --fit-test/--fit-seeds, write it to "
                         f"{os.path.relpath(CALIBRATION_PATH, ROOT)}, then evaluate.")
    ap.add_argument("--fit-test", default=FIT_MONTHS)
    ap.add_argument("--fit-seeds", type=int, nargs="+", default=list(FIT_SEEDS))
    args = ap.parse_args()
    if not os.path.isdir(args.data):
        sys.exit(f"real data not found: {args.data} (see ../shared/data/README.md)")
    if args.refit_calibration:
        refit_calibration(args)
    reports = [evaluate_police_uk(args.data, train=args.train, test=args.test, seed=s)
               for s in args.seeds]
    answers = labelled_answers(reports)
    pooled = reliability_table(answers["score"], answers["right"])
    if args.json:
        print(json.dumps({"reports": [public(r) for r in reports], "reliability": pooled},
                         indent=2))
        return
    if not args.quiet:
        for r in reports:
            print(format_report(r))
            print()
    print(f"mean over seeds {args.seeds} (test months {reports[0]['test_months']}):")
    for k in MEASURES:
        vals = [r[k] for r in reports]
        if any(v is None for v in vals):
            continue
        print(f"  {k:<42} " + "  ".join(f"{v:.4f}" for v in vals)
              + f"   mean {np.mean(vals):.4f}")
    print_by_class(reports, headline=False)
    print_reliability("the model's classes", answers)
    held_out = [evaluate_police_uk(args.data, train=args.train, test=args.test, seed=s,
                                   perturbations=HELD_OUT_PERTURBATIONS) for s in args.seeds]
    print(f"held-out perturbation classes {', '.join(HELD_OUT_PERTURBATIONS)} (never tuned "
          f"on), seeds {args.seeds}, mean:")
    print_by_class(held_out)
    print_reliability("held-out classes", labelled_answers(held_out))
    if os.path.isfile(SECOND_FORCE):
        print_second_force(args.seeds)
    if os.path.isdir(OS_DATA):
        os_report = evaluate_os_open_names(OS_DATA, seeds=tuple(args.seeds))
        print(f"OS Open Names tiles ({os_report['features']:,} features; "
              f"{os_report['names_queried']} roads and settlements, {os_report['queries']:,} "
              "rewritten names; rows, located, right, confident, confident right):")
        for k, v in {"all": os_report["all"], **os_report["by_perturbation"]}.items():
            print(f"  {k:<14} {v['rows']:>6,}  {v['located']:.1%}  {v['right']:.1%}  "
                  f"{v['confident']:.1%}  {v['confident_right']:.1%}")
    print("junction distance measurement (JUNCTION_MAX_M), gazetteer of the training months:")
    print("  " + json.dumps(junction_distances(_training_gazetteer(args.data, args.train))))


def print_second_force(seeds: list[int]) -> None:
    """The same evaluation on the second force's labels: the model's classes and the held-out
    ones, mean over the seeds."""
    import tempfile

    split = SECOND_FORCE_SPLIT
    with tempfile.TemporaryDirectory(prefix="gazetteer-quality-second-force-") as folder:
        monthly_files(SECOND_FORCE, folder)
        for title, perturbations in (("the model's classes", PERTURBATIONS),
                                     ("held-out classes", HELD_OUT_PERTURBATIONS)):
            reports = [evaluate_police_uk(folder, seed=s, perturbations=perturbations, **split)
                       for s in seeds]
            print(f"second force: {split['force']} (shoplifting only; gazetteer of "
                  f"{split['train']}, labels of {split['test']}, {reports[0]['test_rows']:,} "
                  f"rows), {title}, seeds {seeds}, mean:")
            for k in MEASURES:
                vals = [r[k] for r in reports]
                if all(v is not None for v in vals):
                    print(f"  {k:<42} {np.mean(vals):.4f}")


def refit_calibration(args: argparse.Namespace) -> None:
    """Fit the calibration on the calibration split and write it where the gazetteer reads it."""
    reports = [evaluate_police_uk(args.data, train=args.train, test=args.fit_test, seed=s,
                                  perturbations=CALIBRATION_PERTURBATIONS) for s in args.fit_seeds]
    a = labelled_answers(reports)
    about = {
        "command": "benchmarks/gazetteer_quality.py --refit-calibration"
                   + (f" --fit-test {args.fit_test}" if args.fit_test != FIT_MONTHS else "")
                   + (f" --fit-seeds {' '.join(map(str, args.fit_seeds))}"
                      if args.fit_seeds != list(FIT_SEEDS) else ""),
        "data": "police.uk City of London (../shared/data/police-uk/city-of-london)",
        "gazetteer_months": args.train,
        "fitted_on_months": args.fit_test,
        "seeds": args.fit_seeds,
        "perturbations": list(CALIBRATION_PERTURBATIONS),
        "right": "within 25 m of the label's map point (any of a street's points; a junction "
                 "within 100 m of the crime); see gazetteer/evaluate.py",
    }
    table = fit_calibration(a["evidence"], a["match_type"], a["reason"], a["right"],
                            about=about)
    with open(CALIBRATION_PATH, "w", encoding="utf-8") as f:
        json.dump(table, f, indent=1)
        f.write("\n")
    default_calibration.cache_clear()
    print(f"calibration fitted on {table['answers']:,} answers ({args.fit_test}, seeds "
          f"{args.fit_seeds}): {len(table['kinds'])} kinds, written to {CALIBRATION_PATH}")


def print_reliability(title: str, answers: dict) -> None:
    """The reliability table (score band -> share right) with the expected calibration error,
    and share right per evidence kind, of some labelled answers."""
    err = calibration_error(answers["score"], answers["right"])
    raw_err = calibration_error(answers["evidence"], answers["right"])
    print(f"reliability, {title}, pooled over the seeds (band: answers, mean score, share "
          f"right); expected calibration error {err} (evidence scores before calibration: "
          f"{raw_err}):")
    for b in reliability_table(answers["score"], answers["right"]):
        share = "-" if b["share_right"] is None else f"{b['share_right']:.1%}"
        print(f"  {b['band']}  {b['answers']:>6,}  {b['mean_score']}  {share}")
    print("  by evidence kind (answers, mean evidence score, mean score, share right):")
    for k, v in reliability_by_kind(answers).items():
        print(f"    {k:<32} {v['answers']:>6,}  {v['mean_evidence']:>6}  {v['mean_score']:>6}"
              f"  {v['share_right']:.1%}")


def print_by_class(reports: list[dict], headline: bool = True) -> None:
    """The mean over seeds of the headline measures (with `headline`), and per perturbation
    class."""
    for k in MEASURES if headline else ():
        vals = [r[k] for r in reports]
        if all(v is not None for v in vals):
            print(f"  {k:<42} {np.mean(vals):.4f}")
    print("  perturbation class       rows  single-point within 25 m  right  confident right")
    for kind in reports[0]["by_perturbation"]:
        rows = sum(r["by_perturbation"][kind]["rows"] for r in reports)
        single = [r["_located"][(r["_kind"] == kind) & (r["_class"] == "single")]
                  & r["_right"][(r["_kind"] == kind) & (r["_class"] == "single")]
                  for r in reports]
        share = np.concatenate(single).mean() if sum(len(x) for x in single) else float("nan")
        right = np.mean([r["by_perturbation"][kind]["right"] for r in reports])
        conf = np.mean([r["by_perturbation"][kind]["confident_right"] or 0 for r in reports])
        print(f"  {kind:<20} {rows:>8,}  {share:>10.1%}  {right:>14.1%}  {conf:>10.1%}")


def _training_gazetteer(data: str, train: str):  # noqa: ANN202
    """The gazetteer of the training months, built in a temporary folder."""
    import tempfile

    from crimegeo.gazetteer import Gazetteer, build_gazetteer

    first, _, last = train.partition("..")
    files = sorted(os.path.join(data, f) for f in os.listdir(data)
                   if f.endswith(".csv") and first <= f[:7] <= (last or first))
    out = os.path.join(tempfile.mkdtemp(prefix="gazetteer-quality-"), "gaz")
    build_gazetteer(files, out)
    return Gazetteer.load(out)


if __name__ == "__main__":
    main()
