"""The disclosure report: how far a month's public records could single a person out.

The ICO's anonymisation code asks whether a "motivated intruder" (someone with local
knowledge, press reports or a court list, but no special access) could identify the person a
published record is about. A public record is a crime type at a public map point in a month,
so the risk is highest where a map point holds very few records, and above all where a
record is the only one of its crime type at its point that month: whoever knows of one
burglary in that street knows which record is theirs, and what became of it. Per force, the
report counts records at points holding fewer than k records, the unique (point, crime type,
month) cells, records published without a location, and what `--min-public-count k` would do
for k = 2, 3, 5, 8: how many records would move, how far on average, and the unique share
left. A force whose unique share is above `WARN_UNIQUE_SHARE` is warned about; above the
operator's `--max-unique-share` its public month is withheld.

Computed from the run's own public tables, per force. What crosses a Beam boundary is each
batch's distinct (point, crime type) cells with how many records each holds
(`disclosure_part`), not its records: a month's map points repeat, so the cells are a fraction
of the rows. Pure array work (no Beam).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import shapely

from crimegeo.standards.coordinates import to_bng

#: The k of `--min-public-count` whose effect the report shows.
K_VALUES = (2, 3, 5, 8)
#: Above this share of a force's located public records alone in their (map point, crime
#: type) cell, the report warns and recommends a k.
WARN_UNIQUE_SHARE = 0.2
#: The public columns the report needs.
DISCLOSURE_COLUMNS = ("public_lon", "public_lat", "crime_type")
#: A disclosure part's column of how many records each (point, crime type) row stands for.
RECORDS_COLUMN = "records"
OK, WARNING, WITHHELD = "ok", "warning", "withheld"


def disclosure_part(public: pa.Table) -> pa.Table:
    """A batch's public records as the disclosure report reads them: one row per distinct
    (point, crime type), with how many records it holds (`RECORDS_COLUMN`)."""
    keys = list(DISCLOSURE_COLUMNS)
    cells = public.select(keys).group_by(keys, use_threads=False).aggregate(
        [([], "count_all")])
    return cells.select([*keys, "count_all"]).rename_columns([*keys, RECORDS_COLUMN])


def _with_records(part: pa.Table) -> pa.Table:
    """A part as (`DISCLOSURE_COLUMNS`, `RECORDS_COLUMN`): a table of plain records (no
    counts column) counts one per row."""
    if RECORDS_COLUMN not in part.column_names:
        part = part.append_column(RECORDS_COLUMN, pa.array(np.ones(part.num_rows, np.int64)))
    return part.select([*DISCLOSURE_COLUMNS, RECORDS_COLUMN]).cast(pa.schema([
        ("public_lon", pa.float64()), ("public_lat", pa.float64()),
        ("crime_type", pa.string()), (RECORDS_COLUMN, pa.int64())]))


def _floats(column: Any) -> np.ndarray:
    return np.asarray(pc.fill_null(column, np.nan).to_numpy(zero_copy_only=False),
                      dtype=np.float64)


def _cells(points: np.ndarray, types: np.ndarray, records: np.ndarray) -> np.ndarray:
    """How many records each (point, crime type) cell holds, given rows of `records`
    records each (a cell may come in several rows: one per part)."""
    if not len(points):
        return np.zeros(0, np.int64)
    cells = points.astype(np.int64) * (int(types.max()) + 1) + types
    _, cell = np.unique(cells, return_inverse=True)
    return np.bincount(cell.reshape(-1), weights=records).astype(np.int64)


def _unique_cell_records(points: np.ndarray, types: np.ndarray, records: np.ndarray) -> int:
    """How many records are alone in their (point, crime type) cell (one per such cell)."""
    return int((_cells(points, types, records) == 1).sum())


def _share(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


def _point_keys(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """One int64 per (lon, lat) at 1e-7 degree (about 1 cm): equal points, equal keys; a 1-D
    key is unique-d by hashing, where pairs of floats would be sorted."""
    return (np.round((lat + 90.0) * 1e7).astype(np.int64) * 3_600_000_001
            + np.round((lon + 180.0) * 1e7).astype(np.int64))


def _nearest_holding(counts: np.ndarray, x: np.ndarray, y: np.ndarray) -> dict[int, np.ndarray]:
    """For each k of `K_VALUES`, each map point's nearest point holding at least k records:
    itself when it holds k, -1 when no point does.

    Shapely's STRtree (GEOS, one thread) rather than pykdtree: pykdtree runs every query on
    OpenMP threads, which on a busy machine wait for a core and then spin beside the work
    that follows; its four queries per force cost 1.1-1.4 s of a national month where these
    take 0.3-0.6 s (same answers on both bench months).
    """
    nearest = {k: np.arange(len(counts)) for k in K_VALUES}
    points = shapely.points(x, y)
    for k in K_VALUES:
        small = np.flatnonzero(counts < k)
        big = np.flatnonzero(counts >= k)
        if not len(small):
            continue
        if not len(big):
            nearest[k][small] = -1
            continue
        tree = shapely.STRtree(points[big])
        at, found = tree.query_nearest(points[small], all_matches=False)
        nearest[k][small[at]] = big[found]
    return nearest


def _merge_effect(k: int, point: np.ndarray, counts: np.ndarray, target: np.ndarray,
                  x: np.ndarray, y: np.ndarray, types: np.ndarray, records: np.ndarray,
                  n_located: int) -> dict:
    """What `--min-public-count k` would do, point by point: each point holding fewer than k
    records moves to `target`, the nearest point holding at least k (as
    `anonymise.merge_small_points` moves their records), or loses its location when none
    does (-1)."""
    small = counts < k
    lost_points = target < 0
    distance = np.zeros(len(counts))
    moved_points = small & ~lost_points
    to = target[moved_points]
    distance[moved_points] = np.hypot(x[to] - x[moved_points], y[to] - y[moved_points])
    moved_records = counts[moved_points]
    kept = ~lost_points[point]
    return {
        "records_would_move": int(moved_records.sum()),
        "records_would_lose_location": int(counts[lost_points].sum()),
        "mean_move_m": (round(float((distance[moved_points] * moved_records).sum()
                                    / moved_records.sum()), 1) if moved_records.sum()
                        else None),
        "max_move_m": (round(float(distance[moved_points].max()), 1) if moved_points.any()
                       else None),
        "unique_share_after": _share(_unique_cell_records(
            target[point[kept]], types[kept], records[kept]), n_located),
    }


def force_disclosure(parts: Iterable[pa.Table]) -> dict:
    """One force's month of public records, as counts. Parts are `disclosure_part`s, or
    tables of plain records (`DISCLOSURE_COLUMNS`, one record a row)."""
    tables = [_with_records(part) for part in parts if part.num_rows]
    table = (pa.concat_tables(tables) if tables
             else _with_records(pa.table({name: pa.array([], pa.float64() if name != "crime_type"
                                                         else pa.string())
                                          for name in DISCLOSURE_COLUMNS})))
    lon, lat = _floats(table["public_lon"]), _floats(table["public_lat"])
    records = np.asarray(table[RECORDS_COLUMN].to_numpy(), dtype=np.int64)
    located = ~(np.isnan(lon) | np.isnan(lat))
    n, n_located = int(records.sum()), int(records[located].sum())
    lon, lat, records = lon[located], lat[located], records[located]
    types = pc.dictionary_encode(table["crime_type"].filter(pa.array(located)))
    types = np.asarray(types.combine_chunks().indices if isinstance(types, pa.ChunkedArray)
                       else types.indices, dtype=np.int64)
    # Each row's point (an index into the distinct points), and each point's records.
    _, first, point = np.unique(_point_keys(lon, lat), return_index=True,
                                return_inverse=True)
    point = point.reshape(-1)
    counts = np.bincount(point, weights=records, minlength=len(first)).astype(np.int64)
    x, y = to_bng(lon[first], lat[first]) if len(first) else (np.zeros(0), np.zeros(0))
    at_point = counts[point]
    unique = _unique_cell_records(point, types, records)
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    nearest = _nearest_holding(counts, x, y)
    return {
        "records": n,
        "records_without_location": n - n_located,
        "map_points": len(counts),
        "records_at_points_under_k": {str(k): int(records[at_point < k].sum())
                                      for k in K_VALUES},
        "cells": len(_cells(point, types, records)),
        "unique_cells": unique,
        "unique_share": _share(unique, n_located),
        "min_public_count_effect": {
            str(k): _merge_effect(k, point, counts, nearest[k], x, y, types, records,
                                  n_located)
            for k in K_VALUES},
    }


def _recommendation(stats: dict, limit: float) -> dict | None:
    """The smallest k whose merge brings the unique share to `limit` or below, with its cost;
    None when none of `K_VALUES` does."""
    for k in K_VALUES:
        effect = stats["min_public_count_effect"][str(k)]
        if effect["unique_share_after"] <= limit:
            return {"min_public_count": k, **effect}
    return None


def _recommendation_text(found: dict) -> str:
    text = (f"--min-public-count {found['min_public_count']} brings the unique share to "
            f"{found['unique_share_after']:.0%}")
    if found["records_would_move"]:
        text += (f", moving {found['records_would_move']} records "
                 f"{found['mean_move_m']} m on average")
    if found["records_would_lose_location"]:
        text += (f", leaving {found['records_would_lose_location']} without a location (no "
                 "map point holds enough records to merge into)")
    return text


def month_disclosure(month: str, per_force: dict[str, dict],
                     max_unique_share: float | None) -> dict:
    """The month's disclosure report: each force's counts, its status (`ok`, `warning` or
    `withheld`) with why, and what it recommends."""
    forces: dict[str, dict] = {}
    withheld: dict[str, str] = {}
    for force, stats in sorted(per_force.items()):
        share = stats["unique_share"]
        limit = max_unique_share if max_unique_share is not None else WARN_UNIQUE_SHARE
        why = (f"{stats['unique_cells']} of "
               f"{stats['records'] - stats['records_without_location']} located public "
               f"records ({share:.0%}) are alone in their (map point, crime type) cell")
        if max_unique_share is not None and share > max_unique_share:
            status = WITHHELD
            withheld[force] = f"{why}, above --max-unique-share {max_unique_share}"
        elif share > WARN_UNIQUE_SHARE:
            status = WARNING
        else:
            status, why = OK, None
        entry = {**stats, "status": status, "why": why}
        if status != OK:
            found = _recommendation(stats, limit)
            entry["recommendation"] = (
                {**found, "text": _recommendation_text(found)}
                if found else {"text": f"no k up to {K_VALUES[-1]} brings the unique share "
                                       f"to {limit:.0%}: publish coarser points (a map "
                                       "points file with fewer, larger points) or withhold"})
        forces[force] = entry
    return {"month": month, "k_values": list(K_VALUES), "warn_unique_share": WARN_UNIQUE_SHARE,
            "max_unique_share": max_unique_share, "forces": forces, "withheld": withheld}
