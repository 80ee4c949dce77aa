"""Re-locating real records from their labels alone: the City of London evaluation.

Builds a gazetteer from the City of London Police's police.uk files of 2017-12..2019-06, then
runs the monthly pipeline over later months with every coordinate removed, so each record must
be re-located from its "On or near ..." label, and compares the result with the published
point. Prints, per month and overall: share re-located, share within 25 m of the published
point, median error, and how the LSOA assigned by --areas agrees with the published LSOA.

Run (from the project root, after `make install`)::

    .venv/bin/python benchmarks/relocate_city_of_london.py [--months 2019-07..2020-11]
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
import tempfile
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from crimegeo.gazetteer import build_gazetteer  # noqa: E402
from crimegeo.pipelines.monthly import run_month  # noqa: E402
from crimegeo.pipelines.settings import settings_from_options  # noqa: E402
from crimegeo.standards.coordinates import to_bng  # noqa: E402

DATA = ROOT.parent / "shared" / "data"


def months_between(span: str) -> list[str]:
    """'2019-07..2020-11' -> every month in between, inclusive."""
    first, last = span.split("..")
    year, month = (int(p) for p in first.split("-"))
    out = []
    while f"{year:04d}-{month:02d}" <= last:
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


def strip_coordinates(source: Path, target: Path) -> dict[int, tuple[float, float, str]]:
    """Copy a police.uk file with Longitude/Latitude blanked; return the truth by row."""
    truth = {}
    with open(source, encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(header)
        for number, row in enumerate(reader, start=1):
            if row[4] and row[5]:
                truth[number] = (float(row[4]), float(row[5]), row[7])
            row[4] = row[5] = ""
            writer.writerow(row)
    target.write_text(out.getvalue(), encoding="utf-8")
    return truth


def relocate_month(month: str, gazetteer: str, work: Path, areas: list[str]) -> dict:
    """Run one month with coordinates removed; measure against the published points."""
    source = DATA / "police-uk" / "city-of-london" / f"{month}-city-of-london-street.csv"
    inputs = work / "input" / month
    inputs.mkdir(parents=True, exist_ok=True)
    truth = strip_coordinates(source, inputs / source.name)
    run_month(settings_from_options({"input": str(work / "input"), "output": str(work / "out"),
                                     "gazetteer": gazetteer, "areas": areas}), month)
    records = pq.read_table(work / "out" / "restricted" / f"month={month}").to_pylist()
    rows = [r for r in records if r["source_row"] in truth]
    located = [r for r in rows if r["lon"] is not None]
    errors = []
    lsoa_pairs = []
    for r in located:
        lon, lat, published_lsoa = truth[r["source_row"]]
        x, y = to_bng([lon], [lat])
        errors.append(float(np.hypot(r["x_bng"] - x[0], r["y_bng"] - y[0])))
        if r.get("lsoa_code"):
            lsoa_pairs.append(r["lsoa_code"] == published_lsoa)
    errors_a = np.array(errors)
    return {"month": month, "rows": len(rows), "located": len(located),
            "within_25m": int((errors_a <= 25).sum()),
            "median_error_m": float(np.median(errors_a)) if len(errors_a) else None,
            "lsoa_assigned": len(lsoa_pairs), "lsoa_agree": int(sum(lsoa_pairs)),
            "errors": errors}


def main() -> None:
    """Build the gazetteer, run every month, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--train", default="2017-12..2019-06")
    parser.add_argument("--months", default="2019-07..2020-11")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if not (DATA / "police-uk" / "city-of-london").is_dir():
        sys.exit(f"real data not found under {DATA}")
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        train = [str(DATA / "police-uk" / "city-of-london" / f"{m}-city-of-london-street.csv")
                 for m in months_between(args.train)]
        build_gazetteer(train, str(work / "gazetteer"), format="police-uk")
        layer = DATA / "boundaries" / "london-lsoa-2021" / "london_lsoa.shp"
        results = [relocate_month(m, str(work / "gazetteer"), work, [str(layer)])
                   for m in months_between(args.months)]
    rows = sum(r["rows"] for r in results)
    located = sum(r["located"] for r in results)
    within = sum(r["within_25m"] for r in results)
    errors = np.concatenate([np.array(r["errors"]) for r in results if r["errors"]])
    assigned = sum(r["lsoa_assigned"] for r in results)
    agree = sum(r["lsoa_agree"] for r in results)
    summary = {"rows_with_published_point": rows, "relocated_share": located / rows,
               "within_25m_share": within / rows, "median_error_m": float(np.median(errors)),
               "lsoa_assigned_share": assigned / max(located, 1),
               "lsoa_agreement": agree / max(assigned, 1)}
    if args.json:
        print(json.dumps({"months": [{k: v for k, v in r.items() if k != "errors"}
                                     for r in results], "summary": summary}, indent=2))
        return
    print(f"{'month':8} {'rows':>6} {'located':>8} {'<=25 m':>7} {'median m':>9}")
    for r in results:
        print(f"{r['month']:8} {r['rows']:6d} {r['located']:8d} {r['within_25m']:7d} "
              f"{r['median_error_m'] or 0:9.1f}")
    print(f"\nrecords with a published point: {rows}")
    print(f"re-located from the label alone: {summary['relocated_share']:.1%}")
    print(f"within 25 m of the published point: {summary['within_25m_share']:.1%}")
    print(f"median error of re-located records: {summary['median_error_m']:.1f} m")
    print(f"LSOA assigned (2021 layer, partial coverage): {summary['lsoa_assigned_share']:.1%}"
          f"; agrees with the published LSOA: {summary['lsoa_agreement']:.1%}")


if __name__ == "__main__":
    main()
