"""Quality of forward geocoding on real data, measured against police.uk's own map points.

Build a gazetteer from some months of a force's published police.uk files, take the labels of
other months, perturb them the way force data is written (case, abbreviations, typos, a missing
"On or near"), geocode them restricted to the force, and compare with the published points:
share located, share within 25 m, median error, and how honestly ambiguous labels (one label,
several distinct places, such as "Supermarket") are reported as ambiguous.

Used by ``python -m crimegeo.gazetteer evaluate`` and ``benchmarks/gazetteer_quality.py``.
No Beam, no Prefect.
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

__all__ = ["PERTURBATIONS", "evaluate_police_uk", "format_report", "perturb"]

_ABBREV = [(r"\bStreet\b", "St"), (r"\bRoad\b", "Rd"), (r"\bLane\b", "Ln"), (r"\bSquare\b", "Sq"),
           (r"\bPlace\b", "Pl"), (r"\bAvenue\b", "Ave"), (r"\bCourt\b", "Ct"),
           (r"\bGardens\b", "Gdns"), (r"\bSt\b(?= [A-Z])", "Saint"), (r"\bCrescent\b", "Cres")]
PERTURBATIONS = ("none", "case", "abbreviation", "typo")


def perturb(label: str, rng: random.Random) -> tuple[str, str]:
    """One perturbed spelling of a police.uk label and what was done to it."""
    text = label
    done = []
    if rng.random() < 0.5:
        text = re.sub(r"^On or near ", "", text)
        done.append("no-prefix")
    kind = rng.choice(PERTURBATIONS)
    if kind == "case":
        text = rng.choice([str.upper, str.lower, str.title])(text)
    elif kind == "abbreviation":
        subs = [(a, b) for a, b in _ABBREV if re.search(a, text)]
        if subs:
            a, b = rng.choice(subs)
            text = re.sub(a, b, text, count=1)
        else:
            kind = "none"
    elif kind == "typo":
        name_start = 11 if text.startswith("On or near ") else 0
        words = [(m.start(), m.end()) for m in re.finditer(r"[A-Za-z]{5,}", text)
                 if m.start() >= name_start]
        if words:
            s, e = rng.choice(words)
            i = rng.randrange(s + 1, e - 1)
            op = rng.choice(["delete", "swap", "replace"])
            if op == "delete":
                text = text[:i] + text[i + 1:]
            elif op == "swap":
                text = text[:i] + text[i + 1] + text[i] + text[i + 2:]
            else:
                text = text[:i] + rng.choice("aeioutrnsl") + text[i + 1:]
        else:
            kind = "none"
    done.append(kind)
    return text, "+".join(done)


def _months(spec: str) -> tuple[str, str]:
    first, _, last = spec.partition("..")
    return first, last or first


def _read(files: list[str]) -> pa.Table:
    cols = ["Longitude", "Latitude", "Location", "Falls within"]
    parts = [pacsv.read_csv(f, convert_options=pacsv.ConvertOptions(include_columns=cols))
             for f in files]
    return pa.concat_tables(parts)


def _places(x: np.ndarray, y: np.ndarray, gap_m: float = 300.0) -> int:
    """Number of distinct places among points (single linkage at ``gap_m``)."""
    n = len(x)
    labels = np.arange(n)
    d = np.hypot(x[:, None] - x[None, :], y[:, None] - y[None, :]) <= gap_m
    while True:
        new = np.where(d, labels[None, :], n).min(axis=1)
        new = new[new]
        if (new == labels).all():
            return len(np.unique(labels))
        labels = new


def evaluate_police_uk(
    folder: str,
    *,
    train: str = "2017-12..2019-06",
    test: str = "2019-07..2020-11",
    force: str | None = None,
    seed: int = 7,
    gazetteer_dir: str | None = None,
) -> dict:
    """Run the evaluation on a folder of one force's police.uk monthly files; return figures."""
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
    t = _read(test_files)
    label = t.column("Location").to_pylist()
    lon = t.column("Longitude").to_numpy(zero_copy_only=False)
    lat = t.column("Latitude").to_numpy(zero_copy_only=False)
    keep = [i for i, s in enumerate(label) if s and s != "No Location" and not np.isnan(lon[i])]
    label = [label[i] for i in keep]
    x, y = to_bng(lon[keep], lat[keep])
    if force is None:
        falls = t.column("Falls within").to_pylist()
        force = resolve_force(falls[keep[0]]) if keep else None
    # Ground truth of ambiguity: a label published at several distinct places (all months).
    allt = _read(train_files + test_files)
    pts: dict[str, set] = defaultdict(set)
    for s, a, b in zip(allt.column("Location").to_pylist(),
                       allt.column("Longitude").to_numpy(zero_copy_only=False),
                       allt.column("Latitude").to_numpy(zero_copy_only=False), strict=True):
        if s and not np.isnan(a):
            pts[s].add((a, b))
    multi = {}
    for s, p in pts.items():
        arr = np.array(sorted(p))
        px, py = to_bng(arr[:, 0], arr[:, 1])
        multi[s] = _places(px, py) > 1
    rng = random.Random(seed)
    queries, kinds = zip(*(perturb(s, rng) for s in label), strict=True)
    t1 = time.perf_counter()
    found = gaz.lookup_many(list(queries), force=force)
    lookup_s = time.perf_counter() - t1
    n = len(label)
    located = np.array([m is not None and m.match_type != "ambiguous" for m in found])
    honest = np.array([m is None or m.match_type == "ambiguous" for m in found])
    mx = np.array([m.x_bng if m is not None else np.nan for m in found])
    my = np.array([m.y_bng if m is not None else np.nan for m in found])
    err = np.hypot(mx - x, my - y)
    is_multi = np.array([multi.get(s, False) for s in label])
    single = ~is_multi
    by_kind = {}
    for k in sorted(set(kinds)):
        sel = np.array([q == k for q in kinds]) & single
        if sel.any():
            by_kind[k] = {
                "rows": int(sel.sum()),
                "located": round(float(located[sel].mean()), 4),
                "within_25m": round(float((located & (err <= 25))[sel].mean()), 4),
            }
    types = defaultdict(int)
    for m in found:
        types[m.match_type if m else "none"] += 1
    def month(f: str) -> str:
        return os.path.basename(f)[:7]

    report = {
        "data": folder,
        "force": force,
        "train_months": f"{month(train_files[0])}..{month(train_files[-1])}",
        "test_months": f"{month(test_files[0])}..{month(test_files[-1])}",
        "gazetteer_features": len(gaz),
        "build_seconds": round(build_s, 3),
        "test_rows": n,
        "distinct_queries": len(set(queries)),
        "lookup_seconds": round(lookup_s, 3),
        "share_located": round(float(located.mean()), 4),
        "share_within_25m": round(float((located & (err <= 25)).mean()), 4),
        "median_error_m": round(float(np.nanmedian(err[located])), 2) if located.any() else None,
        "single_place_rows": int(single.sum()),
        "single_place_located": round(float(located[single].mean()), 4),
        "single_place_within_25m": round(float((located & (err <= 25))[single].mean()), 4),
        "ambiguous_label_rows": int(is_multi.sum()),
        "ambiguous_reported_ambiguous": round(float(honest[is_multi].mean()), 4)
        if is_multi.any() else None,
        "single_place_reported_ambiguous": round(float(
            np.array([m is not None and m.match_type == "ambiguous" for m in found])[single].mean()
        ), 4),
        "match_types": dict(types),
        "by_perturbation_single_place": by_kind,
    }
    if tmp is not None:
        tmp.cleanup()
    return report


def format_report(r: dict) -> str:
    """The evaluation figures as readable lines."""
    lines = [
        f"police.uk evaluation: {r['data']} (force {r['force']})",
        f"  gazetteer from {r['train_months']}: {r['gazetteer_features']:,} features, "
        f"built in {r['build_seconds']} s",
        f"  geocoded {r['test_rows']:,} perturbed labels of {r['test_months']} "
        f"({r['distinct_queries']:,} distinct) in {r['lookup_seconds']} s",
        f"  share located (not ambiguous)        {r['share_located']:.1%}",
        f"  share within 25 m of published point {r['share_within_25m']:.1%}",
        f"  median error of located              {r['median_error_m']} m",
        f"  single-place labels: located {r['single_place_located']:.1%}, within 25 m "
        f"{r['single_place_within_25m']:.1%}, wrongly called ambiguous "
        f"{r['single_place_reported_ambiguous']:.1%}",
        f"  ambiguous labels ({r['ambiguous_label_rows']:,} rows) reported ambiguous or not "
        f"located: {r['ambiguous_reported_ambiguous']:.1%}",
        f"  match types: {r['match_types']}",
    ]
    for k, v in r["by_perturbation_single_place"].items():
        lines.append(f"    {k:<28} rows {v['rows']:>6,}  located {v['located']:.1%}  "
                     f"within 25 m {v['within_25m']:.1%}")
    return "\n".join(lines)
