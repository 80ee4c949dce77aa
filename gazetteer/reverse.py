"""Reverse geocoding: the nearest public map point (named road or public place) to a point, as
police.uk labels it ("On or near <name>"), one at a time or vectorised for the anonymiser.
Part of :class:`gazetteer.core.Gazetteer`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from crimegeo.gazetteer.build import KIND_PLACE, KIND_ROAD
from crimegeo.gazetteer.geo import to_bng
from crimegeo.gazetteer.model import ReverseMatch

PUBLIC_KINDS = (KIND_ROAD, KIND_PLACE)


class Reverse:
    """Point -> nearest public map point."""

    def _public_tree(self, force: str | None) -> tuple[Any, np.ndarray]:
        hit = self._trees.get(force)
        if hit is not None:
            return hit
        # A k-d tree of points: nearest-point queries run about 20 times faster than a
        # shapely STRtree of point geometries (measured: 100k queries in 0.05 s vs 1.0 s).
        # pykdtree rather than scipy's cKDTree: the same answers on a national month, 2.7
        # times faster to build and query, and it imports in 1 ms where scipy.spatial took
        # 0.2 s of every run's start-up.
        from pykdtree.kdtree import KDTree

        if self._public_mask is None:  # the same for every force: computed once
            self._public_mask = np.isin(self.kind, PUBLIC_KINDS)
        public = self._public_mask
        if force is not None:  # a new array: the cached mask must stay whole
            public = public & self._area(force, None).row_mask  # type: ignore[operator]
        rows = np.flatnonzero(public)
        tree = KDTree(np.column_stack([self.x[rows], self.y[rows]])) if len(rows) else None
        self._trees[force] = (tree, rows)
        return tree, rows

    def nearest_public_points(
        self,
        x_bng: np.ndarray,
        y_bng: np.ndarray,
        *,
        force: str | None = None,
        max_distance_m: float = 20000.0,
        names: bool = True,
    ) -> dict[str, np.ndarray]:
        """For each BNG point the nearest public map point (named road or public place; not
        postcodes, areas or natural features), within ``force``'s area when given.

        Returns arrays ``index`` (row, -1 when none within ``max_distance_m``), ``id``, ``name``
        (object, None where none), ``x_bng``, ``y_bng``, ``lon``, ``lat``, ``distance_m`` (NaN).
        ``names=False`` leaves out ``id`` and ``name`` (see :meth:`public_labels`).
        """
        xs = np.asarray(x_bng, dtype=np.float64)
        ys = np.asarray(y_bng, dtype=np.float64)
        n = len(xs)
        index = np.full(n, -1, dtype=np.int64)
        dist = np.full(n, np.nan)
        tree, rows = self._public_tree(force)
        valid = np.flatnonzero(~(np.isnan(xs) | np.isnan(ys)))
        if len(valid) and len(rows):
            d, ti = tree.query(np.column_stack([xs[valid], ys[valid]]), k=1,
                               distance_upper_bound=max_distance_m)
            hit = np.isfinite(d) & (d <= max_distance_m)  # none within reach: inf, index n
            index[valid[hit]] = rows[ti[hit].astype(np.int64)]
            dist[valid[hit]] = d[hit]
        found = index >= 0
        fr = index[found]

        def pick(arr: np.ndarray) -> np.ndarray:
            out = np.full(n, np.nan)
            out[found] = arr[fr]
            return out

        result = {"index": index, "x_bng": pick(self.x), "y_bng": pick(self.y),
                  "lon": pick(self.lon), "lat": pick(self.lat), "distance_m": dist}
        if names:
            result["id"] = np.full(n, None, dtype=object)
            result["name"] = np.full(n, None, dtype=object)
            if len(fr):
                result["id"][found] = self._ids.take(pa.array(fr)).to_numpy(
                    zero_copy_only=False)
                result["name"][found] = self._names.take(pa.array(fr)).to_numpy(
                    zero_copy_only=False)
        return result

    def public_labels(self, rows: np.ndarray) -> pa.Array:
        """police.uk's label of each map point row, "On or near <name>" (null where -1)."""
        rows = np.asarray(rows, dtype=np.int64)
        names = self._names.take(pa.array(rows, mask=rows < 0))
        return pc.binary_join_element_wise("On or near ", names, "")

    def reverse(self, lon: float, lat: float, *, radius_m: float = 1000.0) -> ReverseMatch | None:
        """Nearest named road or public place within ``radius_m`` of (lon, lat), as police.uk
        labels it ("On or near <name>"); None when there is none."""
        x, y = to_bng(np.array([lon], float), np.array([lat], float))
        if np.isnan(x[0]):
            return None
        r = self.nearest_public_points(x, y, max_distance_m=radius_m)
        if r["index"][0] < 0:
            return None
        name = r["name"][0]
        return ReverseMatch(
            label=f"On or near {name}", name=name, id=r["id"][0],
            lon=float(r["lon"][0]), lat=float(r["lat"][0]),
            x_bng=float(r["x_bng"][0]), y_bng=float(r["y_bng"][0]),
            distance_m=float(r["distance_m"][0]),
        )
