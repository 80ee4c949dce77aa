"""Anonymise located records for the public dataset.

Each located record is moved to the nearest public map point of its force and labelled
"On or near <name>", as police.uk does; a record with no map point within 20 km, or with no
location, is published without one. The public table carries no exact coordinate, no location
text and no source row. Pure array work (no Beam).
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import shapely

from standards import reasons
from standards.schema import PUBLIC_FIELD_NAMES, PUBLIC_SCHEMA

#: police.uk publishes a crime with no location when its nearest map point is further.
MAX_PUBLIC_POINT_DISTANCE_M = 20_000.0


class PublicPoints(Protocol):
    """What anonymising needs from a gazetteer (see `gazetteer.Gazetteer`)."""

    def nearest_public_points(self, x_bng: np.ndarray, y_bng: np.ndarray, *,
                              force: str | None = None,
                              max_distance_m: float = ...) -> dict[str, Any]: ...


def anonymise(records: pa.Table, points: PublicPoints | None,
              max_distance_m: float = MAX_PUBLIC_POINT_DISTANCE_M) -> pa.Table:
    """Fill `public_label`, `public_lon`, `public_lat`; flag records left without a point."""
    n = records.num_rows
    labels = np.full(n, None, dtype=object)
    public_lon = np.full(n, np.nan)
    public_lat = np.full(n, np.nan)
    x = np.asarray(pc.fill_null(records["x_bng"], np.nan).to_numpy(zero_copy_only=False),
                   dtype=np.float64)
    y = np.asarray(pc.fill_null(records["y_bng"], np.nan).to_numpy(zero_copy_only=False),
                   dtype=np.float64)
    forces = np.asarray(records["force"].to_pylist(), dtype=object)
    located = ~np.isnan(x)
    if points is not None and located.any():
        for force in sorted(set(forces[located].tolist())):
            rows = np.flatnonzero(located & (forces == force))
            found = points.nearest_public_points(x[rows], y[rows], force=force,
                                                 max_distance_m=max_distance_m)
            index = np.asarray(found["index"])
            hit = index >= 0
            names = np.asarray(found["name"], dtype=object)
            labels[rows[hit]] = ["On or near " + str(name) for name in names[hit]]
            public_lon[rows[hit]] = np.asarray(found["lon"], dtype=np.float64)[hit]
            public_lat[rows[hit]] = np.asarray(found["lat"], dtype=np.float64)[hit]
    no_point = located & np.isnan(public_lon)
    result = records
    if no_point.any():
        lists = records["reasons"].to_pylist()
        for i in np.flatnonzero(no_point):
            lists[i] = [*lists[i], reasons.NO_PUBLIC_POINT]
        result = result.set_column(result.schema.get_field_index("reasons"),
                                   result.schema.field("reasons"),
                                   pa.array(lists, pa.list_(pa.string())))
    for name, values in (("public_label", pa.array(labels, pa.string())),
                         ("public_lon", pa.array(public_lon, mask=np.isnan(public_lon))),
                         ("public_lat", pa.array(public_lat, mask=np.isnan(public_lat)))):
        index = result.schema.get_field_index(name)
        result = result.set_column(index, result.schema.field(name), values)
    return result


def public_table(records: pa.Table) -> pa.Table:
    """The public projection of anonymised records: no exact point, text or source row."""
    lon = np.asarray(pc.fill_null(records["public_lon"], np.nan)
                     .to_numpy(zero_copy_only=False), dtype=np.float64)
    lat = np.asarray(pc.fill_null(records["public_lat"], np.nan)
                     .to_numpy(zero_copy_only=False), dtype=np.float64)
    geometry = np.full(len(lon), None, dtype=object)
    has = ~np.isnan(lon)
    if has.any():
        geometry[has] = shapely.to_wkb(shapely.points(lon[has], lat[has]))
    columns = {name: records[name] for name in PUBLIC_FIELD_NAMES}
    columns["geometry"] = pa.array(geometry, pa.binary())
    return pa.table(columns, schema=PUBLIC_SCHEMA)
