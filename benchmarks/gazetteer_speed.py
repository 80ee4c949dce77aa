"""Speed and memory of the gazetteer on a generated gazetteer the size of OS Open Names.

Generates 3 million features as OS Open Names tiles (headerless 34-column CSV, BNG): about 55%
postcodes, 35% road names built from a vocabulary so that common names repeat across the
country as in the real data ("High Street"), and settlements, public places and natural features.
Then measures, as medians of several repeats: build time, load time and resident memory (each in
a fresh process), exact / fuzzy lookups per second in batch (``lookup_many``), single and
vectorised reverse lookups per second.

Run::

    /tmp/trial/bin/python benchmarks/gazetteer_speed.py [--features 3000000] [--repeats 3]
        [--workdir /tmp/gazetteer-bench]

Goals on a 2-core machine: build < 60 s, load < 3 s, exact >= 100,000/s, fuzzy >= 5,000/s,
resident memory < 2 GB.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import time

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from crimegeo.gazetteer.sources import OS_OPEN_NAMES_COLUMNS  # noqa: E402

STEMS_A = [
    "High",
    "Church",
    "Station",
    "Mill",
    "Park",
    "Victoria",
    "Albert",
    "King",
    "Queen",
    "New",
    "Green",
    "School",
    "Manor",
    "Chapel",
    "Bridge",
    "Grange",
    "Springfield",
    "Windsor",
    "Hill",
    "Orchard",
    "Meadow",
    "Oak",
    "Elm",
    "Ash",
    "Beech",
    "Willow",
    "Cedar",
    "Birch",
    "Holly",
    "Rose",
    "Heather",
    "Clifton",
    "Stanley",
    "Grove",
    "York",
    "Lancaster",
    "Gordon",
    "Princess",
    "Alexandra",
    "Richmond",
    "Cromwell",
    "Nelson",
    "Wellington",
    "Marlborough",
    "George",
    "Market",
    "North",
    "South",
    "East",
    "West",
    "Upper",
    "Lower",
    "Little",
    "Great",
    "Old",
    "Long",
    "Broad",
    "Castle",
    "Abbey",
    "Priory",
    "Vicarage",
    "Rectory",
    "Farm",
    "Wood",
    "Forest",
    "Field",
    "Brook",
    "Lake",
    "Pond",
    "River",
    "Canal",
    "Quarry",
    "Saint",
    "Mary's",
    "Saint",
    "John's",
    "Saint",
    "Peter's",
    "All",
    "Saints",
    "Trinity",
    "Moor",
    "Heath",
    "Common",
]
TYPES = [
    "Street",
    "Road",
    "Lane",
    "Avenue",
    "Close",
    "Drive",
    "Way",
    "Gardens",
    "Crescent",
    "Place",
    "Court",
    "Terrace",
    "Grove",
    "Walk",
    "Row",
    "Square",
    "Hill",
    "Rise",
    "View",
    "Mews",
    "Park",
]
SYLL = [
    "ash",
    "bar",
    "bel",
    "bor",
    "bro",
    "cal",
    "car",
    "dal",
    "den",
    "don",
    "fal",
    "fen",
    "gar",
    "ham",
    "har",
    "hol",
    "ing",
    "kel",
    "ken",
    "lan",
    "ley",
    "lin",
    "mar",
    "mer",
    "mor",
    "nor",
    "ock",
    "pen",
    "ran",
    "ros",
    "sel",
    "son",
    "sta",
    "ter",
    "tho",
    "ton",
    "ver",
    "wel",
    "wick",
    "win",
    "wor",
]


def _words(rng: np.random.Generator, n: int, parts: tuple[int, int]) -> list[str]:
    k = rng.integers(parts[0], parts[1] + 1, size=n)
    syl = np.array(SYLL)
    out = []
    for i in range(n):
        out.append("".join(syl[rng.integers(0, len(syl), size=k[i])]).capitalize())
    return out


def generate(out_dir: str, n: int, seed: int = 1) -> dict:
    """Write ``n`` OS-Open-Names-shaped features as 20 tiles into ``out_dir``."""
    rng = np.random.default_rng(seed)
    os.makedirs(out_dir, exist_ok=True)
    n_post = int(n * 0.55)
    n_road = int(n * 0.35)
    n_place = n - n_post - n_road
    # Points: clustered around 400 "towns" across Great Britain, like real settlement.
    towns_x = rng.uniform(150_000, 650_000, 400)
    towns_y = rng.uniform(20_000, 1_000_000, 400)
    town = rng.integers(0, 400, n)
    x = np.round(towns_x[town] + rng.normal(0, 6000, n)).clip(1000, 699_000)
    y = np.round(towns_y[town] + rng.normal(0, 6000, n)).clip(1000, 1_249_000)
    # Road names: a few thousand common "Stem Type" names plus many rarer invented ones.
    common = [f"{a} {t}" for a in STEMS_A for t in TYPES]
    rare_stems = _words(rng, 60_000, (2, 3))
    road_names = np.empty(n_road, dtype=object)
    is_common = rng.random(n_road) < 0.4
    road_names[is_common] = np.array(common, dtype=object)[
        rng.integers(0, len(common), is_common.sum())
    ]
    rare_idx = rng.integers(0, len(rare_stems), (~is_common).sum())
    rare_type = rng.integers(0, len(TYPES), (~is_common).sum())
    road_names[~is_common] = [
        f"{rare_stems[i]} {TYPES[t]}"
        for i, t in zip(rare_idx.tolist(), rare_type.tolist(), strict=True)
    ]
    letters = np.array(list("ABCDEFGHJKLMNPRSTUWY"))
    pc_area = letters[rng.integers(0, 20, (n_post, 2))]
    pc_d = rng.integers(1, 99, n_post)
    pc_s = rng.integers(0, 10, n_post)
    pc_u = letters[rng.integers(0, 20, (n_post, 2))]
    postcodes = [
        f"{a[0]}{a[1]}{d} {s}{u[0]}{u[1]}"
        for a, d, s, u in zip(pc_area, pc_d.tolist(), pc_s.tolist(), pc_u, strict=True)
    ]
    place_names = _words(rng, n_place, (2, 4))
    place_types = np.array(
        [
            "Village",
            "Hamlet",
            "Suburban Area",
            "Other Settlement",
            "Primary Education",
            "Railway Station",
            "Hill Or Mountain",
            "Inland Water",
            "Woodland Or Forest",
            "Hospital",
        ]
    )[rng.integers(0, 10, n_place)]
    os_type = {
        "Village": "populatedPlace",
        "Hamlet": "populatedPlace",
        "Suburban Area": "populatedPlace",
        "Other Settlement": "populatedPlace",
        "Primary Education": "other",
        "Railway Station": "transportNetwork",
        "Hill Or Mountain": "landform",
        "Inland Water": "hydrography",
        "Woodland Or Forest": "landcover",
        "Hospital": "other",
    }
    names = np.concatenate(
        [np.array(postcodes, dtype=object), road_names, np.array(place_names, dtype=object)]
    )
    # Make postcodes unique as in the real data.
    names[:n_post] = [
        f"{p}{i % 7 if i >= 1 else ''}" if False else p for i, p in enumerate(names[:n_post])
    ]
    local = np.concatenate(
        [
            np.full(n_post, "Postcode", dtype=object),
            np.where(rng.random(n_road) < 0.1, "Section Of Named Road", "Named Road").astype(
                object
            ),
            place_types.astype(object),
        ]
    )
    typ = np.concatenate(
        [
            np.full(n_post, "other", dtype=object),
            np.full(n_road, "transportNetwork", dtype=object),
            np.array([os_type[t] for t in place_types], dtype=object),
        ]
    )
    ids = np.array([f"osgb{4_000_000_000_000 + i}" for i in range(n)], dtype=object)
    half = rng.uniform(20, 400, n)
    has_mbr = local != "Postcode"
    xmin = np.where(has_mbr, x - half, np.nan)
    xmax = np.where(has_mbr, x + half, np.nan)
    ymin = np.where(has_mbr, y - half / 2, np.nan)
    ymax = np.where(has_mbr, y + half / 2, np.nan)
    districts = np.array([f"District {i}" for i in range(400)], dtype=object)
    cols = dict.fromkeys(OS_OPEN_NAMES_COLUMNS)
    cols.update(
        ID=ids,
        NAMES_URI=np.char.add("http://data.ordnancesurvey.co.uk/id/", ids.astype(str)).astype(
            object
        ),
        NAME1=names,
        TYPE=typ,
        LOCAL_TYPE=local,
        GEOMETRY_X=x.astype(np.int64),
        GEOMETRY_Y=y.astype(np.int64),
        MBR_XMIN=xmin,
        MBR_YMIN=ymin,
        MBR_XMAX=xmax,
        MBR_YMAX=ymax,
        DISTRICT_BOROUGH=districts[town],
        COUNTY_UNITARY=districts[town // 10],
        REGION=np.full(n, "Region", dtype=object),
        COUNTRY=np.full(n, "England", dtype=object),
    )
    perm = rng.permutation(n)
    table = pa.table(
        {
            k: (pa.array(v[perm]) if v is not None else pa.nulls(n, pa.string()))
            for k, v in cols.items()
        }
    )
    tiles = 20
    step = (n + tiles - 1) // tiles
    opts = pacsv.WriteOptions(include_header=False, quoting_style="needed")
    for i in range(tiles):
        pacsv.write_csv(
            table.slice(i * step, step), os.path.join(out_dir, f"T{i:02d}.csv"), write_options=opts
        )
    return {"features": n, "postcodes": n_post, "roads": n_road, "places": n_place}


_CHILD = r"""
import json, os, sys, time
sys.path.insert(0, sys.argv[2])
def status(field):
    # VmRSS: resident now; VmHWM: this process's peak (ru_maxrss can carry the parent's peak)
    for line in open("/proc/self/status"):
        if line.startswith(field):
            return int(line.split()[1]) / 1024
t = time.perf_counter()
from crimegeo.gazetteer import Gazetteer
g = Gazetteer.load(sys.argv[1])
n = len(g)
load = time.perf_counter() - t
out = {"load_s": load, "rss_after_load_mb": status("VmRSS")}
if len(sys.argv) > 3:
    import numpy as np
    q = json.load(open(sys.argv[3]))
    g.lookup_many(q["exact"][:20000]); g.lookup_many(q["fuzzy"][:2000], force="metropolitan")
    x, y = np.array(q["x"]), np.array(q["y"])
    g.nearest_public_points(x, y)
    out["rss_after_queries_mb"] = status("VmRSS")
    out["peak_rss_mb"] = status("VmHWM")
print(json.dumps(out))
"""


def _typo(s: str, rng: random.Random) -> str:
    words = [w for w in s.split() if len(w) >= 5]
    if not words:
        return s.lower()
    w = rng.choice(words)
    i = rng.randrange(1, len(w) - 1)
    w2 = w[:i] + w[i + 1 :] if rng.random() < 0.5 else w[:i] + w[i + 1] + w[i] + w[i + 2 :]
    return s.replace(w, w2, 1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--features", type=int, default=3_000_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--build-repeats", type=int, default=2)
    ap.add_argument("--workdir", default="/tmp/gazetteer-bench")
    ap.add_argument("--keep", action="store_true", help="keep the generated data and artifact")
    args = ap.parse_args()
    from crimegeo.gazetteer import Gazetteer, build_gazetteer
    from crimegeo.gazetteer.geo import force_box_bng

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    src = os.path.join(args.workdir, "src")
    gaz_dir = os.path.join(args.workdir, "gaz")
    results: dict = {"features": args.features, "cpus": os.cpu_count()}
    t = time.perf_counter()
    if not os.path.exists(os.path.join(src, "T00.csv")):
        results["generated"] = generate(src, args.features)
    results["generate_s"] = round(time.perf_counter() - t, 1)
    print(f"generated {args.features:,} features in {results['generate_s']} s", flush=True)

    builds = []
    for _ in range(args.build_repeats):
        t = time.perf_counter()
        m = build_gazetteer([src], gaz_dir, format="os-open-names")
        builds.append(time.perf_counter() - t)
        print(f"  build {builds[-1]:.1f} s  ({m['timings']})", flush=True)
    results["build_s_median"] = round(statistics.median(builds), 2)
    results["build_s_all"] = [round(b, 2) for b in builds]
    results["artifact_mb"] = round(sum(v["bytes"] for v in m["files"].values()) / 1e6, 1)

    gaz = Gazetteer.load(gaz_dir)
    rng = random.Random(3)
    names = gaz.features.column("name")
    n = len(gaz)
    sample_rows = [rng.randrange(n) for _ in range(100_000)]
    exact = names.take(pa.array(sample_rows)).to_pylist()
    kinds = gaz.kind
    counts = np.diff(gaz._key_ptr)[np.asarray(gaz._row_key)]
    unique_rows = np.flatnonzero(counts == 1)
    exact_unique = names.take(
        pa.array(unique_rows[np.random.default_rng(4).integers(0, len(unique_rows), 100_000)])
    ).to_pylist()
    road_rows = np.flatnonzero(kinds == 0)
    met = force_box_bng("metropolitan")
    all_met = np.flatnonzero(
        (gaz.x >= met[0]) & (gaz.x <= met[2]) & (gaz.y >= met[1]) & (gaz.y <= met[3])
    )
    exact_met = names.take(
        pa.array(
            np.random.default_rng(8).choice(all_met, min(100_000, len(all_met)), replace=False)
        )
    ).to_pylist()
    in_met = road_rows[
        (gaz.x[road_rows] >= met[0])
        & (gaz.x[road_rows] <= met[2])
        & (gaz.y[road_rows] >= met[1])
        & (gaz.y[road_rows] <= met[3])
    ]
    fuzzy_src_rows = [int(in_met[rng.randrange(len(in_met))]) for _ in range(10_000)]
    fuzzy = [_typo(s, rng) for s in names.take(pa.array(fuzzy_src_rows)).to_pylist()]
    fuzzy_all_rows = [int(road_rows[rng.randrange(len(road_rows))]) for _ in range(5_000)]
    fuzzy_all = [_typo(s, rng) for s in names.take(pa.array(fuzzy_all_rows)).to_pylist()]
    px = np.random.default_rng(5).uniform(200_000, 600_000, 200_000)
    py = np.random.default_rng(6).uniform(100_000, 900_000, 200_000)
    qfile = os.path.join(args.workdir, "queries.json")
    with open(qfile, "w") as f:
        json.dump(
            {"exact": exact, "fuzzy": fuzzy, "x": px[:50_000].tolist(), "y": py[:50_000].tolist()},
            f,
        )

    loads = []
    for i in range(args.repeats):
        r = subprocess.run(
            [sys.executable, "-c", _CHILD, gaz_dir, root] + ([qfile] if i == 0 else []),
            capture_output=True,
            text=True,
            check=True,
        )
        loads.append(json.loads(r.stdout))
    results["load_s_median"] = round(statistics.median(x["load_s"] for x in loads), 3)
    results["rss_after_load_mb"] = round(
        statistics.median(x["rss_after_load_mb"] for x in loads), 1
    )
    results["rss_after_queries_mb"] = round(loads[0]["rss_after_queries_mb"], 1)
    results["peak_rss_mb"] = round(loads[0]["peak_rss_mb"], 1)

    def rate(fn, count: int) -> float:
        runs = []
        for _ in range(args.repeats):
            g = Gazetteer.load(gaz_dir)  # fresh caches each repeat
            fn(g)  # warm area masks / trees, as a long-running worker would be
            g2 = g
            t = time.perf_counter()
            fn(g2)
            runs.append(count / (time.perf_counter() - t))
        return round(statistics.median(runs))

    def cold_rate(fn, count: int) -> float:
        runs = []
        for _ in range(args.repeats):
            g = Gazetteer.load(gaz_dir)
            fn_warm = g._area
            fn_warm(None, None)
            t = time.perf_counter()
            fn(g)
            runs.append(count / (time.perf_counter() - t))
        return round(statistics.median(runs))

    from crimegeo.gazetteer.core import _block_hashes
    from crimegeo.gazetteer.normalise import normalise_name, parse_query

    def clear() -> None:
        normalise_name.cache_clear()
        parse_query.cache_clear()
        _block_hashes.cache_clear()

    results["distinct_queries"] = {
        "exact_unique_names": len(set(exact_unique)),
        "exact_any_feature_name": len(set(exact)),
        "exact_force_names": len(set(exact_met)),
        "fuzzy_force": len(set(fuzzy)),
        "fuzzy_national": len(set(fuzzy_all)),
    }
    results["exact_per_s_batch_unique_names"] = cold_rate(
        lambda g: (clear(), g.lookup_many(exact_unique)), len(exact_unique)
    )
    results["exact_per_s_batch_any_feature_name"] = cold_rate(
        lambda g: (clear(), g.lookup_many(exact)), len(exact)
    )
    results["exact_per_s_batch_force_names"] = rate(
        lambda g: (clear(), g.lookup_many(exact_met, force="metropolitan")), len(exact_met)
    )
    results["fuzzy_per_s_batch_force"] = rate(
        lambda g: (clear(), g.lookup_many(fuzzy, force="metropolitan")), len(fuzzy)
    )
    results["fuzzy_per_s_batch_national"] = cold_rate(
        lambda g: (clear(), g.lookup_many(fuzzy_all)), len(fuzzy_all)
    )
    results["fuzzy_located_share_force"] = round(
        sum(m is not None for m in Gazetteer.load(gaz_dir).lookup_many(fuzzy, force="metropolitan"))
        / len(fuzzy),
        3,
    )
    lon, lat = gaz.lon[sample_rows[:5000]], gaz.lat[sample_rows[:5000]]
    results["reverse_per_s_single"] = rate(
        lambda g: [g.reverse(a, b) for a, b in zip(lon.tolist(), lat.tolist(), strict=True)],
        len(lon),
    )
    results["nearest_public_points_per_s_vectorised"] = rate(
        lambda g: g.nearest_public_points(px, py), len(px)
    )
    t = time.perf_counter()
    Gazetteer.load(gaz_dir)._public_tree(None)
    results["first_reverse_tree_build_s"] = round(time.perf_counter() - t, 2)
    print(json.dumps(results, indent=2))
    if not args.keep:
        shutil.rmtree(args.workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
