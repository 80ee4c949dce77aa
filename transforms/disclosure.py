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

Computed from the run's own public tables (only their point and crime type columns cross a
Beam boundary), per force. Pure array work (no Beam).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from crimegeo.standards.coordinates import to_bng
from crimegeo.transforms.anonymise import merge_small_points

#: The k of `--min-public-count` whose effect the report shows.
K_VALUES = (2, 3, 5, 8)
#: Above this share of a force's located public records alone in their (map point, crime
#: type) cell, the report warns and recommends a k.
WARN_UNIQUE_SHARE = 0.2
#: The public columns the report needs.
DISCLOSURE_COLUMNS = ("public_lon", "public_lat", "crime_type")
OK, WARNING, WITHHELD = "ok", "warning", "withheld"


def disclosure_part(public: pa.Table) -> pa.Table:
    """The few columns of a batch's public table the disclosure report reads."""
    return public.select(list(DISCLOSURE_COLUMNS))


def _floats(column: Any) -> np.ndarray:
    return np.asarray(pc.fill_null(column, np.nan).to_numpy(zero_copy_only=False),
                      dtype=np.float64)


def _cells(points: np.ndarray, types: np.ndarray) -> np.ndarray:
    """How many records each (point, crime type) cell holds."""
    if not len(points):
        return np.zeros(0, np.int64)
    cells = points.astype(np.int64) * (int(types.max()) + 1) + types
    return np.unique(cells, return_counts=True)[1]


def _unique_cell_records(points: np.ndarray, types: np.ndarray) -> int:
    """How many records are alone in their (point, crime type) cell (one per such cell)."""
    return int((_cells(points, types) == 1).sum())


def _share(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


def force_disclosure(parts: Iterable[pa.Table]) -> dict:
    """One force's month of public records (tables of `DISCLOSURE_COLUMNS`), as counts."""
    tables = [part for part in parts if part.num_rows]
    table = (pa.concat_tables(tables) if tables
             else pa.table({name: pa.array([], pa.float64() if name != "crime_type"
                                            else pa.string()) for name in DISCLOSURE_COLUMNS}))
    lon, lat = _floats(table["public_lon"]), _floats(table["public_lat"])
    located = ~(np.isnan(lon) | np.isnan(lat))
    n, n_located = table.num_rows, int(located.sum())
    lon, lat = lon[located], lat[located]
    types = pc.dictionary_encode(table["crime_type"].filter(pa.array(located)))
    types = np.asarray(types.combine_chunks().indices if isinstance(types, pa.ChunkedArray)
                       else types.indices, dtype=np.int64)
    if n_located:
        _, point, point_counts = np.unique(np.stack([lon, lat], axis=1), axis=0,
                                           return_inverse=True, return_counts=True)
        point = point.reshape(-1)
    else:
        point, point_counts = np.zeros(0, np.int64), np.zeros(0, np.int64)
    at_point = point_counts[point] if n_located else np.zeros(0, np.int64)
    unique = _unique_cell_records(point, types)
    x, y = to_bng(lon, lat) if n_located else (np.zeros(0), np.zeros(0))
    effect = {}
    for k in K_VALUES:
        target = merge_small_points(point.astype(object), np.asarray(x), np.asarray(y), k)
        moved = (target >= 0) & (target != np.arange(n_located))
        lost = target < 0
        distance = np.hypot(np.asarray(x)[target[moved]] - np.asarray(x)[moved],
                            np.asarray(y)[target[moved]] - np.asarray(y)[moved])
        kept = ~lost
        unique_after = _unique_cell_records(point[target[kept]], types[kept])
        effect[str(k)] = {
            "records_would_move": int(moved.sum()),
            "records_would_lose_location": int(lost.sum()),
            "mean_move_m": round(float(distance.mean()), 1) if len(distance) else None,
            "max_move_m": round(float(distance.max()), 1) if len(distance) else None,
            "unique_share_after": _share(unique_after, n_located),
        }
    return {
        "records": n,
        "records_without_location": n - n_located,
        "map_points": len(point_counts),
        "records_at_points_under_k": {str(k): int((at_point < k).sum()) for k in K_VALUES},
        "cells": len(_cells(point, types)),
        "unique_cells": unique,
        "unique_share": _share(unique, n_located),
        "min_public_count_effect": effect,
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
