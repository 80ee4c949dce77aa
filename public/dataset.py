"""The public dataset as the site and API read it: DuckDB over `public/` GeoParquet, read-only.

Only public parts are ever opened, and only those of each month's live generation (listed
through `store.current.live_files`, which resolves the month's pointer): a month being committed
is served whole, old or new, never a mix. Only the public columns named in `SERVED_COLUMNS`
are ever selected. The list of published parts is re-read at most every `refresh_seconds`, so
a month published (or rerun) while the server runs is served without a restart.
Each query names the files of one month, so DuckDB opens only that month's
parts and skips a part's row groups whose point statistics miss the query's box.
Must not import Beam, Prefect, `feeds` or `pipelines`.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

import duckdb
import fsspec
import numpy as np
import pyarrow as pa

from crimegeo.standards.months import is_month
from crimegeo.store.current import live_files, pointers
from crimegeo.store.layout import OutputLayout, force_of, month_of

#: The public dataset's crime-id column. Issue 20 renames it to `persistent_id`; switch here.
PUBLIC_ID_COLUMN = "persistent_id"
#: The output kind served: the anonymised public dataset, never restricted/rejected/feedback.
PUBLIC_KIND = "public"
#: police.uk's radius for `crimes-street` by point: one mile.
ONE_MILE_M = 1609.344
#: Metres per degree of latitude (and of longitude at the equator), for boxes and distances.
METRES_PER_DEGREE = 111_320.0

#: What a query returns: public fields only (`persistent_id` is `PUBLIC_ID_COLUMN`).
SERVED_COLUMNS = (
    "persistent_id", "month", "force", "crime_type", "outcome", "context", "location_status",
    "lsoa_code", "lsoa_name", "public_label", "public_lon", "public_lat", "location_id",
)


class DatasetError(RuntimeError):
    """The public dataset cannot be read (no output, unreadable part)."""


@dataclass(frozen=True)
class MonthParts:
    """The published part files of one month, the columns they hold, and per file its force
    and the lon/lat box of its public points (from the Parquet statistics; None when it has
    no located record), so a query opens only the files that can answer it."""

    month: str
    files: tuple[str, ...]
    columns: frozenset[str]
    forces: tuple[str, ...]
    boxes: tuple[tuple[float, float, float, float] | None, ...]

    def select(self, box: tuple[float, float, float, float] | None,
               force: str | None) -> list[str]:
        """The files that may hold records in `box` (lon/lat) of `force` (None: any)."""
        chosen = []
        for name, file_force, file_box in zip(self.files, self.forces, self.boxes,
                                              strict=True):
            if force is not None and file_force != force:
                continue
            if box is not None and (file_box is None or file_box[0] > box[2]
                                    or file_box[2] < box[0] or file_box[1] > box[3]
                                    or file_box[3] < box[1]):
                continue
            chosen.append(name)
        return chosen


def box_around(lon: float, lat: float, radius_m: float) -> tuple[float, float, float, float]:
    """The lon/lat box holding every point within `radius_m` of (lon, lat)."""
    dlat = radius_m / METRES_PER_DEGREE
    dlon = radius_m / (METRES_PER_DEGREE * max(math.cos(math.radians(lat)), 0.01))
    return lon - dlon, lat - dlat, lon + dlon, lat + dlat


#: Half the side of the box a map point is looked for in (degrees, about a centimetre).
_POINT_TOLERANCE = 1e-7


def point_box(lon: float, lat: float) -> tuple[float, float, float, float]:
    """The tiny lon/lat box a map point is looked for in."""
    return (lon - _POINT_TOLERANCE, lat - _POINT_TOLERANCE, lon + _POINT_TOLERANCE,
            lat + _POINT_TOLERANCE)


def point_where(lon: float, lat: float, location_id: int) -> tuple[str, list[object]]:
    """A `where` clause for the records at one map point, with its point, so that DuckDB skips
    the parts (and row groups) whose point statistics cannot hold it."""
    return ("public_lon BETWEEN ? AND ? AND public_lat BETWEEN ? AND ? AND location_id = ?",
            [lon - _POINT_TOLERANCE, lon + _POINT_TOLERANCE, lat - _POINT_TOLERANCE,
             lat + _POINT_TOLERANCE, int(location_id)])


class PublicDataset:
    """Query the public dataset of one output root (a local path or any fsspec URL)."""

    def __init__(self, output: str, *, refresh_seconds: float = 5.0,
                 area_columns: Sequence[str] = ()) -> None:
        """`area_columns` are extra public `<layer>_code`/`<layer>_name` columns to serve."""
        self.layout = OutputLayout(output)
        self.refresh_seconds = refresh_seconds
        self.area_columns = tuple(area_columns)
        self._fs, self._root = fsspec.core.url_to_fs(self.layout.kind(PUBLIC_KIND))
        protocol = self._fs.protocol if isinstance(self._fs.protocol, str) \
            else self._fs.protocol[0]
        self._local = protocol in ("file", "local")
        self._connection = duckdb.connect(config={"threads": 2})
        self._connection.execute("SET parquet_metadata_cache = true")
        if not self._local:  # DuckDB reads bucket files through the same fsspec filesystem
            self._connection.register_filesystem(self._fs)
        self._lock = threading.Lock()
        self._points: dict[MonthParts, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        self._months: dict[str, MonthParts] = {}
        self._listed_at = -math.inf

    # -- the catalogue of published months ---------------------------------------------------

    def _list(self) -> dict[str, list[str]]:
        """Each published month's live public parts. The months are those with a pointer
        plus those in place under the root's `public/`; `store.current.live_files` of one
        month then resolves its pointer. Not `live_files` of every month: that looks for
        in-place months under `restricted/`, `rejected/` and `feedback/` too, which a public
        server must not touch (it may hold no right to read them)."""
        months = set(pointers(self.layout.root))
        if self._fs.exists(self._root):  # `public/` of the root itself (in-place months)
            months.update(m for m in (month_of(p) for p in self._fs.ls(self._root,
                                                                         detail=False))
                          if m is not None)
        listed: dict[str, list[str]] = {}
        for month in sorted(m for m in months if is_month(m)):
            for url in live_files(self.layout.root, PUBLIC_KIND, month):
                if force_of(url.rsplit("/", 2)[-2]):
                    listed.setdefault(month, []).append(url)
        return listed

    def refresh(self, *, force: bool = False) -> None:
        """Re-list the published parts when `refresh_seconds` have passed (or `force`)."""
        now = time.monotonic()
        if not force and now - self._listed_at < self.refresh_seconds:
            return
        with self._lock:
            if not force and now - self._listed_at < self.refresh_seconds:
                return
            listed = self._list()
            months: dict[str, MonthParts] = {}
            for month, files in listed.items():
                files_t = tuple(sorted(files))
                old = self._months.get(month)
                if old is not None and old.files == files_t:
                    months[month] = old
                    continue
                months[month] = self._month_parts(month, files_t)
            self._months = months
            self._points = {k: v for k, v in self._points.items() if k in months.values()}
            self._listed_at = time.monotonic()

    def _month_parts(self, month: str, files: tuple[str, ...]) -> MonthParts:
        cursor = self._connection.cursor()
        columns = frozenset(r[0] for r in cursor.execute(
            "SELECT name FROM parquet_schema(?)", [list(files)]).fetchall()) | {"month",
                                                                                "force"}
        stats = cursor.execute(
            "SELECT file_name, path_in_schema, min(TRY_CAST(stats_min AS DOUBLE)), "
            "max(TRY_CAST(stats_max AS DOUBLE)) FROM parquet_metadata(?) "
            "WHERE path_in_schema IN ('public_lon', 'public_lat') GROUP BY ALL",
            [list(files)]).fetchall()
        ranges: dict[tuple[str, str], tuple[float, float]] = {
            (name, column): (low, high) for name, column, low, high in stats}
        boxes = []
        for name in files:
            lon = ranges.get((name, "public_lon"))
            lat = ranges.get((name, "public_lat"))
            boxes.append(None if lon is None or lat is None or None in (*lon, *lat)
                         else (lon[0], lat[0], lon[1], lat[1]))
        forces = tuple(force_of(name.rsplit("/", 1)[0]) or "" for name in files)
        return MonthParts(month, files, columns, forces, tuple(boxes))

    def months(self) -> list[str]:
        """Published months, oldest first."""
        self.refresh()
        return sorted(self._months)

    def latest_month(self) -> str | None:
        """The newest published month, or None when nothing is published."""
        months = self.months()
        return months[-1] if months else None

    def has_month(self, month: str) -> bool:
        """Whether `month` is published."""
        self.refresh()
        return month in self._months

    # -- queries -------------------------------------------------------------------------------

    def _select(self, parts: MonthParts) -> str:
        """The SELECT list for a month: served columns only; absent ones as NULL."""
        wanted = {"persistent_id": PUBLIC_ID_COLUMN}
        items = []
        for name in SERVED_COLUMNS + self.area_columns:
            source = wanted.get(name, name)
            if source in parts.columns:
                items.append(f'"{source}" AS "{name}"')
            else:
                kind = "BIGINT" if name == "location_id" else "DOUBLE" \
                    if name in ("public_lon", "public_lat") else "VARCHAR"
                items.append(f'NULL::{kind} AS "{name}"')
        return ", ".join(items)

    def query(self, month: str, where: str = "TRUE", params: Sequence[object] = (),
              *, select: str = "*", group_by: str = "", order: str = "",
              limit: int | None = None, box: tuple[float, float, float, float] | None = None,
              force: str | None = None) -> pa.Table:
        """Rows of `month` matching `where` (SQL over `SERVED_COLUMNS`, `?` placeholders).

        `where`, `select`, `group_by` and `order` are written by this package, never taken from
        a request: request values go in `params`. `box` (lon/lat) and `force`, when given,
        must hold every row `where` can match: only the files that overlap them are opened.
        An unpublished month gives no rows.
        """
        self.refresh()
        for attempt in (0, 1):
            parts = self._months.get(month)
            files = parts.select(box, force) if parts is not None else []
            if not files:
                return pa.table({name: pa.array([], pa.string()) for name in SERVED_COLUMNS})
            sql = (f"SELECT {select} FROM (SELECT {self._select(parts)} FROM read_parquet(?, "
                   f"hive_partitioning = true, union_by_name = true)) WHERE {where}"
                   + (f" GROUP BY {group_by}" if group_by else "")
                   + (f" ORDER BY {order}" if order else "")
                   + (f" LIMIT {int(limit)}" if limit is not None else ""))
            try:
                return self._connection.cursor().sql(
                    sql, params=[files, *params]).to_arrow_table()
            except duckdb.IOException as error:
                if attempt:  # a rerun swapped the month while we read it: list again, once
                    raise DatasetError(f"cannot read the public parts of {month}: {error}") \
                        from error
                self.refresh(force=True)
        raise AssertionError("unreachable")

    def count(self, month: str, where: str = "TRUE", params: Sequence[object] = (), *,
              box: tuple[float, float, float, float] | None = None,
              force: str | None = None) -> int:
        """How many rows of `month` match `where` (`box`, `force`: as for `query`)."""
        table = self.query(month, where, params, select="count(*) AS n", box=box, force=force)
        return int(table["n"][0].as_py()) if table.num_rows and "n" in table.column_names \
            else 0

    @staticmethod
    def within_radius(lon: float, lat: float, radius_m: float) -> tuple[str, list[object]]:
        """A `where` clause for points within `radius_m` of a point (box, then haversine)."""
        xmin, ymin, xmax, ymax = box_around(lon, lat, radius_m)
        where = ("public_lon BETWEEN ? AND ? AND public_lat BETWEEN ? AND ? AND "
                 "2 * 6371008.8 * asin(sqrt(pow(sin(radians(public_lat - ?) / 2), 2) + "
                 "cos(radians(?)) * cos(radians(public_lat)) * "
                 "pow(sin(radians(public_lon - ?) / 2), 2))) <= ?")
        return where, [xmin, xmax, ymin, ymax, lat, lat, lon, radius_m]

    @staticmethod
    def within_box(box: tuple[float, float, float, float]) -> tuple[str, list[object]]:
        """A `where` clause for points in a lon/lat box (min_lon, min_lat, max_lon, max_lat)."""
        return ("public_lon BETWEEN ? AND ? AND public_lat BETWEEN ? AND ?",
                [box[0], box[2], box[1], box[3]])

    def nearest_point(self, month: str, lon: float, lat: float,
                      max_radius_m: float = ONE_MILE_M) -> int | None:
        """The `location_id` of the published map point nearest a point (within one mile)."""
        where, params = self.within_radius(lon, lat, max_radius_m)
        # A mile holds a few hundred points at most: rank them here.
        rows = self.query(month, where + " AND location_id IS NOT NULL", params,
                          box=box_around(lon, lat, max_radius_m))
        if rows.num_rows == 0:
            return None
        scale = math.cos(math.radians(lat)) ** 2
        best, best_d = None, math.inf
        for lid, plon, plat in zip(rows["location_id"].to_pylist(),
                                   rows["public_lon"].to_pylist(),
                                   rows["public_lat"].to_pylist(), strict=True):
            d = (plon - lon) ** 2 * scale + (plat - lat) ** 2
            if d < best_d or (d == best_d and lid < best):
                best, best_d = lid, d
        return best

    def find_persistent_id(self, persistent_id: str) -> pa.Table:
        """The rows (any month, newest first) whose public crime id is `persistent_id`."""
        for month in reversed(self.months()):
            rows = self.query(month, "persistent_id = ?", [persistent_id])
            if rows.num_rows:
                return rows
        return self.query("", "FALSE")

    def _point_index(self, month: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The month's map points: sorted `location_id`s and their lon and lat (built once per
        month's set of parts: a few MB for a national month)."""
        self.refresh()
        parts = self._months.get(month)
        if parts is None:
            return np.empty(0, np.int64), np.empty(0), np.empty(0)
        index = self._points.get(parts)
        if index is None:
            table = self.query(month, "location_id IS NOT NULL",
                               select="location_id, any_value(public_lon) AS lon, "
                                      "any_value(public_lat) AS lat",
                               group_by="location_id", order="location_id")
            index = tuple(np.asarray(table[c].to_numpy(zero_copy_only=False))
                          for c in ("location_id", "lon", "lat"))
            self._points[parts] = index
        return index

    def warm(self) -> None:
        """Build every month's point index, newest first (run in a background thread at start,
        so that the first look-ups by `location_id` do not pay for it)."""
        for month in reversed(self.months()):
            self._point_index(month)

    def locate_point(self, month: str, location_id: int) -> tuple[float, float] | None:
        """(lon, lat) of map point `location_id` in `month`, or None when it has no records."""
        ids, lon, lat = self._point_index(month)
        at = int(np.searchsorted(ids, location_id))
        if at < len(ids) and ids[at] == location_id:
            return float(lon[at]), float(lat[at])
        return None

    def at_point(self, month: str, location_id: int
                 ) -> tuple[str, list[object], tuple[float, float, float, float] | None]:
        """`where`, its parameters and the box for the records at map point `location_id`:
        by its point first, so only the parts whose point statistics hold it are read."""
        found = self.locate_point(month, location_id)
        if found is None:
            return "FALSE", [], None
        return (*point_where(found[0], found[1], location_id), point_box(*found))

    def point(self, location_id: int, month: str | None = None) -> dict | None:
        """One row's label, point, force and LSOA at map point `location_id` (the given month
        first, then the newest month that has it), or None."""
        months = self.months()
        order = ([month] if month in months else []) + [m for m in reversed(months)
                                                         if m != month]
        for m in order:
            if self.locate_point(m, location_id) is None:
                continue
            where, params, box = self.at_point(m, location_id)
            rows = self.query(m, where, params, limit=1, box=box)
            if rows.num_rows:
                return rows.to_pylist()[0]
        return None
