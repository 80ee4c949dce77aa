"""Anonymise located records for the public dataset.

Each located record is moved to the nearest public map point of its force and labelled
"On or near <name>", as police.uk does; a record with no map point within 20 km, or with no
location, is published without one. The public table carries no exact coordinate, no location
text, no source row and no force reference: its id is keyed (`standards.public_ids`), its
outcome one of police.uk's outcome categories, its context only where the input profile
declares it publishable, its area code only a GSS-shaped code. Pure array work (no Beam).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import shapely

from crimegeo.standards import reasons
from crimegeo.standards.coordinates import to_bng
from crimegeo.standards.locations import location_ids
from crimegeo.standards.outcomes import public_outcomes
from crimegeo.standards.profiles import PublicRules
from crimegeo.standards.public_ids import PublicIdKey, public_ids
from crimegeo.standards.schema import PUBLIC_FIELD_NAMES, PUBLIC_SCHEMA
from crimegeo.transforms.locate import append_reason
from crimegeo.transforms.outputs import wkb_points

#: police.uk publishes a crime with no location when its nearest map point is further.
MAX_PUBLIC_POINT_DISTANCE_M = 20_000.0
#: An ONS GSS code (`E01000001`): the only shape of area code the public record carries.
GSS_CODE_PATTERN = r"^[EWSN][0-9]{8}$"
#: An ONS LSOA name (`City of London 001F`): the only shape of area name it carries.
LSOA_NAME_PATTERN = r"^\p{L}[\p{L} ,.'&()-]* [0-9]{3}[A-Z]$"


class PublicPoints(Protocol):
    """What anonymising needs from a gazetteer (see `gazetteer.Gazetteer`)."""

    def nearest_public_points(self, x_bng: np.ndarray, y_bng: np.ndarray, *,
                              force: str | None = None, max_distance_m: float = ...,
                              names: bool = ...) -> dict[str, Any]: ...

    def public_labels(self, rows: np.ndarray) -> pa.Array: ...


def merge_small_points(point_ids: np.ndarray, point_x: np.ndarray, point_y: np.ndarray,
                       min_count: int) -> np.ndarray:
    """Indices of the point each record ends at after merging points used by < k records.

    `point_ids` holds each record's map point id (None when it has none). Records at a point
    used fewer than `min_count` times move to the nearest point used at least that often; with
    no such point they are left with none (-1). Returns, per record, the index of the record
    whose point it now takes (itself when unchanged), or -1.
    """
    n = len(point_ids)
    target = np.where(point_ids != None, np.arange(n), -1)  # noqa: E711
    if min_count <= 1 or n == 0:
        return target
    has = point_ids != None  # noqa: E711
    ids = point_ids[has].astype(str)
    unique, first, counts = np.unique(ids, return_index=True, return_counts=True)
    big = counts >= min_count
    rows_with_point = np.flatnonzero(has)
    small_records = has.copy()
    small_records[rows_with_point] = ~np.isin(ids, unique[big])
    if not small_records.any():
        return target
    if not big.any():
        target[small_records] = -1
        return target
    representatives = rows_with_point[first[big]]
    tree = shapely.STRtree(shapely.points(point_x[representatives], point_y[representatives]))
    small_rows = np.flatnonzero(small_records)
    nearest = tree.nearest(shapely.points(point_x[small_rows], point_y[small_rows]))
    target[small_rows] = representatives[nearest]
    return target


def anonymise(records: pa.Table, points: PublicPoints | None,
              max_distance_m: float = MAX_PUBLIC_POINT_DISTANCE_M,
              min_count: int = 1) -> pa.Table:
    """Fill `public_label`, `public_lon`, `public_lat`; flag records left without a point.

    `records` should hold a whole force's month, so that `min_count` (k) counts every record
    published at a map point.
    """
    n = records.num_rows
    point_rows = np.full(n, -1, dtype=np.int64)  # each record's map point (gazetteer row)
    public_lon = np.full(n, np.nan)
    public_lat = np.full(n, np.nan)
    public_x = np.full(n, np.nan)
    public_y = np.full(n, np.nan)
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
                                                 max_distance_m=max_distance_m, names=False)
            point_rows[rows] = found["index"]
            for target, key in ((public_lon, "lon"), (public_lat, "lat"),
                                (public_x, "x_bng"), (public_y, "y_bng")):
                target[rows] = np.asarray(found[key], dtype=np.float64)
    if min_count > 1:
        for force in sorted(set(forces.tolist()) - {None}):
            rows = np.flatnonzero(forces == force)
            ids = np.where(point_rows[rows] >= 0, point_rows[rows], None).astype(object)
            moved_to = merge_small_points(ids, public_x[rows], public_y[rows], min_count)
            source = np.where(moved_to >= 0, rows[np.maximum(moved_to, 0)], -1)
            keep = source >= 0
            for array in (point_rows, public_lon, public_lat, public_x, public_y):
                array[rows[keep]] = array[source[keep]]
                array[rows[~keep]] = -1 if array.dtype == np.int64 else np.nan
    labels = (points.public_labels(point_rows) if points is not None
              else pa.nulls(n, pa.string()))
    no_point = located & np.isnan(public_lon)
    # Without any points the reason is the run's, not the record's distance from one.
    result = append_reason(records, no_point, reasons.NO_PUBLIC_POINT if points is not None
                           else reasons.NO_MAP_POINTS)
    for name, values in (("public_label", labels),
                         ("public_lon", pa.array(public_lon, mask=np.isnan(public_lon))),
                         ("public_lat", pa.array(public_lat, mask=np.isnan(public_lat)))):
        index = result.schema.get_field_index(name)
        result = result.set_column(index, result.schema.field(name), values)
    return result


#: The rules of a batch of unknown origin: every id keyed, no free text.
SAFEST_RULES = PublicRules()


def flag_unpublished_outcomes(records: pa.Table, rules: PublicRules = SAFEST_RULES
                              ) -> pa.Table:
    """Add `OUTCOME_NOT_PUBLISHED` to records whose supplied outcome is none of police.uk's
    outcome categories (nor mapped onto one by the profile): the public record will carry
    no outcome, and the force's feedback counts why."""
    supplied = records["outcome"]
    mapped = public_outcomes(supplied, rules.outcome_mapping)
    withheld = np.asarray(pc.and_(pc.is_valid(supplied), pc.is_null(mapped)), dtype=bool)
    return append_reason(records, withheld, reasons.OUTCOME_NOT_PUBLISHED)


def _matching(values: pa.ChunkedArray | pa.Array, pattern: str) -> pa.Array:
    """`values` where they match `pattern`, null elsewhere."""
    return pc.if_else(pc.fill_null(pc.match_substring_regex(values, pattern), False),
                      values, pa.scalar(None, pa.string()))


def public_table(records: pa.Table, area_layers: Sequence[Any] = (),
                 rules: PublicRules = SAFEST_RULES, key: PublicIdKey | None = None
                 ) -> pa.Table:
    """The public projection of anonymised records: no exact point, text or source row, and
    no force reference or unvetted free text.

    `rules` are the input profile's (`ForceProfile.public_rules`): the kind of its ids, its
    publishable columns and outcome labels; the default publishes no free text and keys
    every id. `key` is the operator's public id key: without one, a batch of force
    references raises `PublicIdKeyError` rather than publish them. With area layers, area
    codes are those of the public point (as police.uk gives the LSOA of the moved point),
    never of the exact one. `location_id` is derived from the public point and its label
    alone (`standards.locations`), so it is stable across reruns and rebuilds.
    """
    lon = np.asarray(pc.fill_null(records["public_lon"], np.nan)
                     .to_numpy(zero_copy_only=False), dtype=np.float64)
    lat = np.asarray(pc.fill_null(records["public_lat"], np.nan)
                     .to_numpy(zero_copy_only=False), dtype=np.float64)
    columns = {name: records[name] for name in PUBLIC_FIELD_NAMES
               if name in records.schema.names and name != "location_id"}
    columns["location_id"] = location_ids(lon, lat, records["public_label"])
    columns["persistent_id"] = public_ids(records["crime_id"], records["force"], rules.id_kind,
                                          key)
    columns["outcome"] = public_outcomes(records["outcome"], rules.outcome_mapping)
    if "context" not in rules.publishable:
        columns["context"] = pa.nulls(records.num_rows, pa.string())
    extra_fields = []
    if area_layers:
        x, y = to_bng(lon, lat)
        for layer in area_layers:
            codes, names = layer.assign(x, y)
            columns[layer.code_column] = pa.array(codes, pa.string())
            columns[layer.name_column] = pa.array(names, pa.string())
            if layer.code_column not in PUBLIC_FIELD_NAMES:
                extra_fields += [pa.field(layer.code_column, pa.string()),
                                 pa.field(layer.name_column, pa.string())]
    # A supplied area code or name is text from the force: only statistical area codes and
    # names pass, and a name only beside its code.
    columns["lsoa_code"] = _matching(columns["lsoa_code"], GSS_CODE_PATTERN)
    columns["lsoa_name"] = pc.if_else(pc.is_valid(columns["lsoa_code"]),
                                      _matching(columns["lsoa_name"], LSOA_NAME_PATTERN),
                                      pa.scalar(None, pa.string()))
    columns["geometry"] = wkb_points(lon, lat)
    schema = PUBLIC_SCHEMA
    for extra in extra_fields:
        schema = schema.insert(schema.get_field_index("geometry"), extra)
    return pa.table({name: columns[name] for name in schema.names}, schema=schema)
