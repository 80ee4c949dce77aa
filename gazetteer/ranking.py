"""Ranking and scoring of candidates: rows of one name close together are one place (the
sections of a road, the map points along a street), hints (trailing area, postcode district,
a point nearby) reweigh places, and several equally good places with nothing to choose by are
all ``ambiguous``. Builds the :class:`Match` answers. Part of :class:`gazetteer.core.Gazetteer`.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from crimegeo.gazetteer.build import KIND_AREA, KIND_PLACE, KIND_POSTCODE, KIND_ROAD
from crimegeo.gazetteer.model import Match
from crimegeo.gazetteer.normalise import (
    ParsedQuery,
)
from crimegeo.gazetteer.scoring import (
    GENERIC_MAX_SCORE,
    POSTCODE_MISS_FACTOR,
    ROAD_POINT_LINK_M,
    SCORES,
)

#: Same-name rows closer than this (metres, single linkage) are one place, by kind.
CLUSTER_M = {KIND_ROAD: 600.0, KIND_PLACE: 120.0, KIND_AREA: 100.0, KIND_POSTCODE: 50.0}
CLUSTER_DEFAULT_M = 120.0
#: Up to this many rows are linked exactly (pairwise gaps); more are grouped on a grid.
CLUSTER_EXACT_MAX = 48
#: Which feature of a same-named group answers: road, then area, place, postcode, natural.
KIND_PRIORITY = np.array([0, 2, 1, 3, 4], dtype=np.int8)
#: Kinds answered with match_type "area": settlements, districts, postcodes.
AREA_LIKE = np.array([False, False, True, True, False])


class Ranking:
    """Places, hints, ambiguity and answers."""

    def _area_hint_ok(self, rows: np.ndarray, areas: tuple[str, ...]) -> np.ndarray:
        """True for rows that lie in a place named by the text's trailing area parts."""
        from crimegeo.gazetteer.normalise import normalise_name

        ok = np.zeros(len(rows), dtype=bool)
        cols = ("populated_place", "district", "county", "postcode_district")
        sub = self.features.select(list(cols)).take(pa.array(rows))
        wanted = set(areas)
        for c in cols:  # each distinct value normalised once: a town's rows share a few
            encoded = pc.dictionary_encode(sub.column(c))
            if isinstance(encoded, pa.ChunkedArray):
                encoded = encoded.combine_chunks()
            hits = np.array([normalise_name(v) in wanted for v in encoded.dictionary.to_pylist()]
                            + [False], dtype=bool)
            codes = np.asarray(pc.fill_null(encoded.indices, -1), dtype=np.int64)
            ok |= hits[codes]
        # A row that names its own settlement is in the place named only if that is it: the
        # box of a neighbouring town's extent is no reason to count it in.
        placed = np.asarray(sub.column("populated_place").is_valid(), dtype=bool)
        for a in areas:  # inside the extent of an area feature of that name
            arows = self._rows_for_key(a, self._area(None, None))
            arows = arows[np.isin(self.kind[arows], (KIND_AREA, KIND_POSTCODE))]
            for r in arows.tolist():
                if np.isnan(self.xmin[r]):
                    continue
                ok |= ~placed & ((self.x[rows] >= self.xmin[r]) & (self.x[rows] <= self.xmax[r])
                                 & (self.y[rows] >= self.ymin[r]) & (self.y[rows] <= self.ymax[r]))
        return ok

    def _clusters(self, rows: np.ndarray) -> np.ndarray:
        """Single-linkage cluster label per row: same name key and kind, near each other."""
        n = len(rows)
        if n == 1:
            return np.zeros(1, dtype=np.int64)
        keys = np.asarray(self._row_key[rows])
        kinds = self.kind[rows]
        thr = np.array([CLUSTER_M.get(int(k), CLUSTER_DEFAULT_M) for k in kinds])
        # Roads known only by points (police.uk map points along a street) link farther.
        point_only = ~(self.xmax[rows] > self.xmin[rows]) & ~(self.ymax[rows] > self.ymin[rows])
        thr = np.where((kinds == KIND_ROAD) & point_only, ROAD_POINT_LINK_M, thr)
        x, y = self.x[rows], self.y[rows]
        if n > CLUSTER_EXACT_MAX:  # very common names: a grid of the linkage distance
            cell = thr.max()
            gx = np.floor(x / cell).astype(np.int64)
            gy = np.floor(y / cell).astype(np.int64)
            code = (keys.astype(np.int64) << 32) | (gx << 16) | gy
            _, labels = np.unique(code, return_inverse=True)
            return labels.ravel()
        # Gap between extents (or points) decides linkage.
        x0 = np.where(np.isnan(self.xmin[rows]), x, self.xmin[rows])
        x1 = np.where(np.isnan(self.xmax[rows]), x, self.xmax[rows])
        y0 = np.where(np.isnan(self.ymin[rows]), y, self.ymin[rows])
        y1 = np.where(np.isnan(self.ymax[rows]), y, self.ymax[rows])
        gapx = np.maximum(0, np.maximum(x0[:, None] - x1[None, :], x0[None, :] - x1[:, None]))
        gapy = np.maximum(0, np.maximum(y0[:, None] - y1[None, :], y0[None, :] - y1[:, None]))
        gap = np.hypot(gapx, gapy)
        # Same key, close together: one place, even across kinds (a village, its station and
        # its headland called Dungeness are one answer).
        link = (gap <= np.minimum(thr[:, None], thr[None, :])) & (keys[:, None] == keys[None, :])
        place = self._place_codes()[rows]  # never one place across two named settlements
        link &= (place[:, None] == place[None, :]) | (place[:, None] < 0) | (place[None, :] < 0)
        labels = np.arange(n)
        changed = True
        while changed:  # label propagation to the connected components
            new = np.where(link, labels[None, :], n).min(axis=1)
            new = np.minimum(new, labels)
            changed = bool((new != labels).any())
            labels = new[new]
        return labels

    def _postcode_ok(self, rows: np.ndarray, postcode: str) -> np.ndarray:
        """True for rows whose postcode district agrees with the one written ("EC2" agrees with
        EC2V, "EC2V" with EC2V); False where the row has none."""
        vals = self.features.column("postcode_district").take(pa.array(rows)).to_pylist()
        pcode = postcode.upper()
        return np.array([v is not None and (v.upper().startswith(pcode)
                                            or pcode.startswith(v.upper())) for v in vals],
                        dtype=bool)

    def _rank(
        self,
        pq: ParsedQuery,
        rows: np.ndarray,
        scores: np.ndarray,
        how: list,
        why: list,
        near_xy: tuple[float, float] | None,
        limit: int,
    ) -> list[Match]:
        """Group candidate rows into places, weigh hints, and answer best first; several
        equally good places with nothing to choose by are all ``ambiguous``."""
        if len(rows) == 1 and not pq.areas:  # one candidate: nothing to group or weigh
            r = int(rows[0])
            return [self._match(r, float(scores[0]), how[0], reason=why[0])]
        scores = scores.astype(float).copy()
        if pq.areas:
            ok = self._area_hint_ok(rows, pq.areas)
            if ok.any():
                scores[~ok] *= 0.75
        if pq.postcode:
            ok = self._postcode_ok(rows, pq.postcode)
            if ok.any() and not ok.all():
                scores[~ok] *= POSTCODE_MISS_FACTOR
                why = ["postcode_hint" if o and not w else w
                       for o, w in zip(ok.tolist(), why, strict=True)]
        labels = self._clusters(rows)
        top = scores >= scores.max() - 0.05
        if len(rows) > CLUSTER_EXACT_MAX >= top.sum() > 1:
            # A common name is grouped on a grid (see _clusters), which can cut one road in
            # two; the few rows the hints left in contention are linked exactly.
            labels = labels.astype(np.int64)
            labels[top] = labels.max() + 1 + self._clusters(rows[top])
        _, labels = np.unique(labels, return_inverse=True)
        labels = labels.ravel()
        n_cl = int(labels.max()) + 1
        rx, ry = self.x[rows], self.y[rows]
        w = self.weight[rows].astype(np.int64)
        with np.errstate(invalid="ignore"):
            ext = (self.xmax[rows] - self.xmin[rows]) * (self.ymax[rows] - self.ymin[rows])
        ext = np.where(np.isnan(ext), 0.0, ext)
        prio = KIND_PRIORITY[self.kind[rows]]
        # Representative per cluster: by kind priority, best score, most published, widest.
        order = np.lexsort((-ext, -w, -scores, prio, labels))
        first = np.ones(len(order), dtype=bool)
        first[1:] = labels[order][1:] != labels[order][:-1]
        rep = order[first]  # index into rows, one per cluster (cluster id = position)
        cl_score = scores[rep]
        cl_weight = np.bincount(labels, weights=w, minlength=n_cl)
        cl_dist = np.full(n_cl, np.inf)
        if near_xy is not None:
            np.minimum.at(cl_dist, labels, np.hypot(rx - near_xy[0], ry - near_xy[1]))
        cl_order = np.lexsort((-cl_weight, cl_dist, -np.round(cl_score, 3)))
        top = cl_score[cl_order[0]]
        contenders = cl_order[cl_score[cl_order] >= top - 0.05]
        ambiguous = len(contenders) > 1
        if ambiguous and near_xy is not None:
            d = np.sort(cl_dist[contenders])
            if d[0] <= 0.5 * d[1] or d[0] < 250:
                ambiguous = False
        n_cont = len(contenders)
        out: list[Match] = []
        for i, c in enumerate(cl_order[: max(1, limit)].tolist()):
            r = int(rows[rep[c]])
            if ambiguous and i < n_cont:
                # calibrated: how often police.uk published this place among the contenders
                mtype = "ambiguous"
                share = cl_weight[c] / max(cl_weight[contenders].sum(), 1.0)
                score = min(SCORES["ambiguous_max"], float(cl_score[c]) * float(share))
            else:
                mtype = how[rep[c]]
                score = float(cl_score[c])
                if out:
                    score = min(score, out[0].score * 0.99)
            out.append(self._match(r, score, mtype, members=rows[labels == c],
                                   reason=why[rep[c]], places=n_cont if ambiguous else n_cl))
        return out

    def _match(self, row: int, score: float, match_type: str,
               members: np.ndarray | None = None, reason: str = "", places: int = 1) -> Match:
        if members is not None and len(members) > 1:
            ext = self._extent_of(members)
        else:
            ext = self._extent_of(np.array([row]))
        return Match(
            id=self._ids[row].as_py(),
            uri=self._uris[row].as_py(),
            name=self._names[row].as_py(),
            local_type=self._types[row].as_py(),
            lon=float(self.lon[row]),
            lat=float(self.lat[row]),
            x_bng=float(self.x[row]),
            y_bng=float(self.y[row]),
            extent=ext,
            score=round(float(score), 4),
            match_type=match_type,
            reason=reason,
            places=places,
        )

    def _extent_of(self, rows: np.ndarray) -> tuple[float, float, float, float] | None:
        if len(rows) == 1:  # most answers: plain floats, not four one-element array ops
            r = int(rows[0])
            x, y = float(self.x[r]), float(self.y[r])
            bounds = [float(self.xmin[r]), float(self.ymin[r]), float(self.xmax[r]),
                      float(self.ymax[r])]
            return tuple(v if v == v else fallback  # NaN (no extent): the point itself
                         for v, fallback in zip(bounds, (x, y, x, y), strict=True))
        x0 = np.where(np.isnan(self.xmin[rows]), self.x[rows], self.xmin[rows])
        y0 = np.where(np.isnan(self.ymin[rows]), self.y[rows], self.ymin[rows])
        x1 = np.where(np.isnan(self.xmax[rows]), self.x[rows], self.xmax[rows])
        y1 = np.where(np.isnan(self.ymax[rows]), self.y[rows], self.ymax[rows])
        return (float(x0.min()), float(y0.min()), float(x1.max()), float(y1.max()))

    def _matches_batch(self, rows: np.ndarray) -> list[Match]:
        """Matches for rows found by exact name, built column-wise."""
        if len(rows) == 0:
            return []
        ta = pa.array(rows)
        ids = self._ids.take(ta).to_pylist()
        uris = self._uris.take(ta).to_pylist()
        names = self._names.take(ta).to_pylist()
        types = self._types.take(ta).to_pylist()
        kind = self.kind[rows]
        lon, lat, x, y = (a[rows].tolist() for a in (self.lon, self.lat, self.x, self.y))
        x0 = np.where(np.isnan(self.xmin[rows]), self.x[rows], self.xmin[rows]).tolist()
        y0 = np.where(np.isnan(self.ymin[rows]), self.y[rows], self.ymin[rows]).tolist()
        x1 = np.where(np.isnan(self.xmax[rows]), self.x[rows], self.xmax[rows]).tolist()
        y1 = np.where(np.isnan(self.ymax[rows]), self.y[rows], self.ymax[rows]).tolist()
        is_area = AREA_LIKE[kind].tolist()
        generic = self._generic_mask()[rows].tolist()
        return [
            Match(ids[i], uris[i], names[i], types[i], lon[i], lat[i], x[i], y[i],
                  (x0[i], y0[i], x1[i], y1[i]),
                  GENERIC_MAX_SCORE if generic[i] else (
                      SCORES["area_exact"] if is_area[i] else SCORES["exact"]),
                  "area" if is_area[i] else "exact", "generic" if generic[i] else "")
            for i in range(len(rows))
        ]

    def _fill_columns(self, out: dict[str, np.ndarray], at: np.ndarray, rows: np.ndarray,
                      exact: np.ndarray) -> None:
        """Write the one-feature answers `rows` into `out` at positions `at`, scored as
        :meth:`_candidates` scores a sole candidate (exact: spelt as the feature's name)."""
        if not len(at):
            return
        for name, column in (("lon", self.lon), ("lat", self.lat), ("x_bng", self.x),
                             ("y_bng", self.y)):
            out[name][at] = column[rows]
        scores, out["match_type"][at] = self._key_scores(rows, exact)
        out["score"][at] = np.where(self._generic_mask()[rows],
                                    np.minimum(scores, GENERIC_MAX_SCORE), scores)
        taken = pa.array(rows)
        ids = pc.coalesce(self._uris.take(taken), self._ids.take(taken))
        out["id"][at] = np.asarray(ids.to_pylist(), dtype=object)
        out["name"][at] = np.asarray(self._names.take(taken).to_pylist(), dtype=object)
        for column, (bound, point) in enumerate(((self.xmin, self.x), (self.ymin, self.y),
                                                 (self.xmax, self.x), (self.ymax, self.y))):
            out["extent"][at, column] = np.where(np.isnan(bound[rows]), point[rows], bound[rows])
