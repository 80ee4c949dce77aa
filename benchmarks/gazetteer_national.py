"""National scale: "street, town" queries against a gazetteer the size of OS Open Names, where
the same street names repeat in town after town (issue 16's last row).

Generates OS Open Names tiles (headerless 34-column CSV, British National Grid) for ``--towns``
towns across Great Britain, each a populated place with its own name, postcode district and
extent (a ``Town`` feature), grouped five to a district. Every town has its roads: names drawn
without repeats inside the town, about 40% from a common vocabulary ("High Street", "Church
Road", "Station Road": 84 stems x 21 types, so each common name exists in hundreds of towns)
and the rest invented; one road in ten has a second section nearby under the same name (a long
road). Villages, hamlets and other places, and postcodes (55% of all features, as in the real
data) fill the rest. Then builds the gazetteer, and geocodes ``--queries`` roads picked at
random, nationally (no force), written as "<street>, <town>":

* ``clean``: exactly that;
* per class of the perturbation model of ``gazetteer/evaluate.py`` applied to the street part
  (case, abbreviation, one slip, two slips, street type dropped, shorthand and house numbers)
  and of its held-out classes (spacing, punctuation, sound-alike, a note after the name).

Right: the answer lies within 25 m of the extent of a road of that name in that town (the
road, any of its sections). Prints the share right and confidently answered per class, build
seconds, lookups per second and the process's peak resident memory.

Run from the project root (3 M features need about 2 GB of memory and a few minutes on two
cores; the generated tiles and artifact go to ``--workdir``)::

    .venv/bin/python benchmarks/gazetteer_national.py                       # 3 M, 20 k queries
    .venv/bin/python benchmarks/gazetteer_national.py --features 600000     # a smaller scale
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import sys
import time

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from gazetteer_speed import STEMS_A, SYLL, TYPES  # noqa: E402

from crimegeo.gazetteer.evaluate import drop_street_type, perturb  # noqa: E402
from crimegeo.gazetteer.sources import OS_OPEN_NAMES_COLUMNS  # noqa: E402

#: Perturbation classes applied to the street part of "<street>, <town>".
CLASSES = ("clean", "case", "abbreviation", "typo1", "typo2", "type_dropped", "shorthand",
           "spacing", "punctuation", "phonetic", "note")
RIGHT_WITHIN_M = 25.0
CONFIDENT = 0.8
PLACE_TYPES = ("Village", "Hamlet", "Other Settlement", "Primary Education", "Railway Station",
               "Hill Or Mountain", "Inland Water", "Woodland Or Forest", "Hospital")
OS_TYPE = {"Town": "populatedPlace", "Village": "populatedPlace", "Hamlet": "populatedPlace",
           "Other Settlement": "populatedPlace", "Primary Education": "other",
           "Railway Station": "transportNetwork", "Hill Or Mountain": "landform",
           "Inland Water": "hydrography", "Woodland Or Forest": "landcover", "Hospital": "other"}


def _invented(rng: np.random.Generator, n: int, syllables: tuple[int, int],
              taken: set[str]) -> list[str]:
    """``n`` distinct invented names (not in ``taken``), from the syllables."""
    out: list[str] = []
    while len(out) < n:
        k = int(rng.integers(syllables[0], syllables[1] + 1))
        name = "".join(SYLL[i] for i in rng.integers(0, len(SYLL), k)).capitalize()
        if name not in taken:
            taken.add(name)
            out.append(name)
    return out


def generate(out_dir: str, n: int, towns: int, seed: int = 1) -> dict:
    """Write ``n`` features of ``towns`` towns as 20 OS Open Names tiles into ``out_dir``;
    returns counts."""
    rng = np.random.default_rng(seed)
    os.makedirs(out_dir, exist_ok=True)
    taken: set[str] = set(STEMS_A)
    town_names = _invented(rng, towns, (2, 3), taken)
    cx = rng.uniform(150_000, 650_000, towns)
    cy = rng.uniform(20_000, 1_000_000, towns)
    spread = rng.uniform(800, 3000, towns)  # metres: a market town to a city
    letters = "ABCDEFGHJKLMNPRSTUWY"
    districts_pc = [f"{letters[i % 20]}{letters[i // 20 % 20]}{i // 400 + 1}" for i in range(towns)]
    borough = [f"Borough of {town_names[(t // 5) * 5]}" for t in range(towns)]

    n_post = int(n * 0.55)
    n_road_total = int(n * 0.35)
    n_other = n - n_post - n_road_total - towns
    # Roads: a number per town in proportion to its spread squared; 10% get a second section.
    weight = spread ** 2 / (spread ** 2).sum()
    n_roads = int(n_road_total / 1.1)
    per_town = np.maximum(1, np.round(weight * n_roads).astype(int))
    common = [f"{a} {t}" for a in dict.fromkeys(STEMS_A) for t in TYPES]
    rare_stems = _invented(rng, 80_000, (2, 4), taken)
    rows: dict[str, list] = {k: [] for k in ("name", "local", "x", "y", "half", "town")}

    def add(name: str, local: str, x: float, y: float, half: float, town: int) -> None:
        for key, value in zip(rows, (name, local, x, y, half, town), strict=True):
            rows[key].append(value)

    for t in range(towns):
        k = int(per_town[t])
        n_common = min(int(k * 0.4), len(common))
        names = [common[i] for i in rng.choice(len(common), n_common, replace=False)]
        stems = rng.choice(len(rare_stems), k - n_common, replace=False)
        types = rng.integers(0, len(TYPES), k - n_common)
        names += [f"{rare_stems[s]} {TYPES[ty]}" for s, ty in zip(stems.tolist(), types.tolist(),
                                                                  strict=True)]
        xs = cx[t] + rng.normal(0, spread[t], k)
        ys = cy[t] + rng.normal(0, spread[t], k)
        halves = rng.uniform(20, 300, k)
        sections = rng.random(k) < 0.1
        for i, name in enumerate(names):
            add(name, "Named Road", xs[i], ys[i], halves[i], t)
            if sections[i]:  # a long road's next section, beside the first
                add(name, "Section Of Named Road", xs[i] + 2 * halves[i] + 50, ys[i],
                    halves[i], t)
        add(town_names[t], "Town", cx[t], cy[t], 3 * spread[t], t)
    n_other = max(0, n - n_post - len(rows["name"]))
    other_town = rng.integers(0, towns, n_other)
    other_names = _invented(rng, n_other, (2, 4), taken)
    other_types = np.array(PLACE_TYPES)[rng.integers(0, len(PLACE_TYPES), n_other)]
    for i in range(n_other):
        t = int(other_town[i])
        add(other_names[i], str(other_types[i]), cx[t] + rng.normal(0, 3 * spread[t]),
            cy[t] + rng.normal(0, 3 * spread[t]), float(rng.uniform(50, 800)), t)
    post_town = rng.integers(0, towns, n_post)
    units = rng.integers(0, 20 * 20 * 10, n_post)
    post_names = [f"{districts_pc[t]} {u // 400}{letters[u // 20 % 20]}{letters[u % 20]}"
                  for t, u in zip(post_town.tolist(), units.tolist(), strict=True)]
    for i in range(n_post):
        t = int(post_town[i])
        add(post_names[i], "Postcode", cx[t] + rng.normal(0, spread[t]),
            cy[t] + rng.normal(0, spread[t]), 0.0, t)

    total = len(rows["name"])
    town = np.array(rows["town"])
    x = np.round(np.clip(rows["x"], 1000, 699_000))
    y = np.round(np.clip(rows["y"], 1000, 1_249_000))
    half = np.array(rows["half"])
    local = np.array(rows["local"], dtype=object)
    has_mbr = local != "Postcode"
    ids = np.array([f"osgb{4_100_000_000_000 + i}" for i in range(total)], dtype=object)
    cols = dict.fromkeys(OS_OPEN_NAMES_COLUMNS)
    cols.update(
        ID=ids,
        NAMES_URI=np.array(["http://data.ordnancesurvey.co.uk/id/" + i for i in ids],
                           dtype=object),
        NAME1=np.array(rows["name"], dtype=object),
        TYPE=np.array([OS_TYPE.get(v, "transportNetwork" if "Road" in v else "other")
                       for v in local], dtype=object),
        LOCAL_TYPE=local,
        GEOMETRY_X=x.astype(np.int64), GEOMETRY_Y=y.astype(np.int64),
        MBR_XMIN=np.where(has_mbr, x - half, np.nan), MBR_YMIN=np.where(has_mbr, y - half / 2,
                                                                        np.nan),
        MBR_XMAX=np.where(has_mbr, x + half, np.nan), MBR_YMAX=np.where(has_mbr, y + half / 2,
                                                                        np.nan),
        POSTCODE_DISTRICT=np.array(districts_pc, dtype=object)[town],
        POPULATED_PLACE=np.array(town_names, dtype=object)[town],
        DISTRICT_BOROUGH=np.array(borough, dtype=object)[town],
        COUNTY_UNITARY=np.array([f"County {t // 50}" for t in range(towns)], dtype=object)[town],
        REGION=np.full(total, "Region", dtype=object),
        COUNTRY=np.full(total, "England", dtype=object),
    )
    perm = rng.permutation(total)
    table = pa.table({k: (pa.array(v[perm]) if v is not None else pa.nulls(total, pa.string()))
                      for k, v in cols.items()})
    step = (total + 19) // 20
    options = pacsv.WriteOptions(include_header=False, quoting_style="needed")
    for i in range(20):
        pacsv.write_csv(table.slice(i * step, step), os.path.join(out_dir, f"N{i:02d}.csv"),
                        write_options=options)
    return {"features": total, "towns": towns, "roads": int((local == "Named Road").sum()),
            "road_sections": int((local == "Section Of Named Road").sum()),
            "postcodes": n_post}


def peak_rss_mb() -> float:
    """This process's peak resident memory, MB."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    """Generate, build, query; print the figures."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--features", type=int, default=3_000_000)
    ap.add_argument("--towns", type=int, default=1500)
    ap.add_argument("--queries", type=int, default=20_000)
    ap.add_argument("--workdir", default="/tmp/gazetteer-national")
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--keep", action="store_true", help="keep the tiles and the artifact")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    from crimegeo.gazetteer import Gazetteer, build_gazetteer

    src = os.path.join(args.workdir, f"src-{args.features}-{args.towns}")
    gaz_dir = os.path.join(args.workdir, f"gaz-{args.features}-{args.towns}")
    report: dict = {"features_asked": args.features, "towns": args.towns}
    started = time.perf_counter()
    if not os.path.exists(os.path.join(src, "N00.csv")):
        report["generated"] = generate(src, args.features, args.towns)
    report["generate_s"] = round(time.perf_counter() - started, 1)
    started = time.perf_counter()
    build_gazetteer([src], gaz_dir, format="os-open-names")
    report["build_s"] = round(time.perf_counter() - started, 1)
    report["peak_rss_after_build_mb"] = round(peak_rss_mb())
    gaz = Gazetteer.load(gaz_dir)
    report["gazetteer_features"] = len(gaz)

    # The roads queried, and every feature of each (name, town) pair: the truth.
    table = gaz.features.select(["name", "local_type", "populated_place", "x", "y", "xmin",
                                 "ymin", "xmax", "ymax"])
    local = table.column("local_type").to_numpy(zero_copy_only=False)
    names = table.column("name").to_numpy(zero_copy_only=False)
    towns = table.column("populated_place").to_numpy(zero_copy_only=False)
    road = np.isin(local, ("Named Road", "Section Of Named Road"))
    extents: dict[tuple[str, str], list] = {}
    bounds = [table.column(c).to_numpy(zero_copy_only=False) for c in ("xmin", "ymin", "xmax",
                                                                       "ymax")]
    for row in np.flatnonzero(road).tolist():
        extents.setdefault((names[row], towns[row]), []).append(
            tuple(float(b[row]) for b in bounds))
    picked = np.random.default_rng(args.seed).choice(np.flatnonzero(local == "Named Road"),
                                                     args.queries, replace=False)
    # A street type left off can leave the stem of several streets of the town ("Albert, X"
    # where X has Albert Drive and Albert Gardens): no reader could say which, and the honest
    # answer is ambiguous. Such queries are counted apart, not as wrong answers.
    streets_of_stem: dict[tuple[str, str], set[str]] = {}
    for name, town in extents:
        stem = drop_street_type(name)
        if stem:
            streets_of_stem.setdefault((stem.lower(), town), set()).add(name)
    rng = random.Random(args.seed)
    texts, kinds, truth, several = [], [], [], []
    for i, row in enumerate(picked.tolist()):
        kind = CLASSES[i % len(CLASSES)]
        street = names[row]
        if kind != "clean":
            street, kind = perturb(street, rng, kind)
        texts.append(f"{street}, {towns[row]}")
        kinds.append(kind)
        several.append(kind == "type_dropped"
                       and len(streets_of_stem.get((street.lower(), towns[row]), ())) > 1)
        truth.append(extents[(names[row], towns[row])])
    started = time.perf_counter()
    found = gaz.lookup_many(texts)
    seconds = time.perf_counter() - started
    report["lookup_s"] = round(seconds, 2)
    report["lookups_per_s"] = round(len(texts) / seconds)
    report["peak_rss_mb"] = round(peak_rss_mb())

    def right(m, boxes: list) -> bool:  # noqa: ANN001
        if m is None or m.match_type == "ambiguous":
            return False
        for x0, y0, x1, y1 in boxes:
            dx = max(x0 - m.x_bng, 0.0, m.x_bng - x1)
            dy = max(y0 - m.y_bng, 0.0, m.y_bng - y1)
            if (dx * dx + dy * dy) ** 0.5 <= RIGHT_WITHIN_M:
                return True
        return False

    ok = np.array([right(m, b) for m, b in zip(found, truth, strict=True)])
    confident = np.array([m is not None and m.match_type != "ambiguous" and m.score >= CONFIDENT
                          for m in found])
    kinds_a = np.array(kinds)
    report["within_25m"] = round(float(ok.mean()), 4)
    report["clean_within_25m"] = round(float(ok[kinds_a == "clean"].mean()), 4)
    report["confident_right"] = round(float(ok[confident].mean()), 4) if confident.any() else None
    several_a = np.array(several)
    report["within_25m_one_reading"] = round(float(ok[~several_a].mean()), 4)
    report["several_readings"] = int(several_a.sum())
    ambiguous = np.array([m is not None and m.match_type == "ambiguous" for m in found])
    report["by_class"] = {k: {"queries": int((kinds_a == k).sum()),
                              "several_readings": int(((kinds_a == k) & several_a).sum()),
                              "within_25m_one_reading": round(float(
                                  ok[(kinds_a == k) & ~several_a].mean()), 4),
                              "several_reported_ambiguous": round(float(
                                  ambiguous[(kinds_a == k) & several_a].mean()), 4)
                              if ((kinds_a == k) & several_a).any() else None,
                              "within_25m": round(float(ok[kinds_a == k].mean()), 4),
                              "confident": round(float(confident[kinds_a == k].mean()), 4),
                              "confident_right": round(float(ok[(kinds_a == k) & confident]
                                                             .mean()), 4)
                              if ((kinds_a == k) & confident).any() else None}
                          for k in dict.fromkeys(kinds)}
    report["examples_wrong"] = [
        (t, None if m is None else (m.name, m.match_type, m.reason, m.score))
        for t, m, good in list(zip(texts, found, ok, strict=True))[:4000] if not good][:12]
    if not args.keep:
        shutil.rmtree(gaz_dir, ignore_errors=True)
    if args.json:
        print(json.dumps(report, indent=2))
        return
    print(f"national scale: {report['gazetteer_features']:,} features, {args.towns:,} towns; "
          f"built in {report['build_s']} s; peak resident memory {report['peak_rss_mb']:,} MB")
    print(f"  {len(texts):,} '<street>, <town>' queries, nationally: {report['lookups_per_s']:,} "
          f"/s; within 25 m {report['within_25m']:.1%} (clean {report['clean_within_25m']:.1%});"
          f" confident answers right {report['confident_right']:.1%}")
    print(f"  the {len(texts) - report['several_readings']:,} queries with one reading (not a "
          f"dropped type that leaves several streets' stem): within 25 m "
          f"{report['within_25m_one_reading']:.1%}")
    print("  class              queries  within 25 m  confident  confident right"
          "  several readings  within 25 m of the rest  several answered ambiguous")
    for k, v in report["by_class"].items():
        cr = "-" if v["confident_right"] is None else f"{v['confident_right']:.1%}"
        sa = ("-" if v["several_reported_ambiguous"] is None
              else f"{v['several_reported_ambiguous']:.1%}")
        print(f"  {k:<18} {v['queries']:>7,}  {v['within_25m']:>10.1%}  {v['confident']:>9.1%}"
              f"  {cr:>14}  {v['several_readings']:>16,}  {v['within_25m_one_reading']:>22.1%}"
              f"  {sa:>26}")
    print("  some wrong answers:")
    for t, m in report["examples_wrong"]:
        print(f"    {t!r} -> {m}")


if __name__ == "__main__":
    main()
