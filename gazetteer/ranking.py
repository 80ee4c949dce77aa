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
        for c in cols:
            vals = sub.column(c).to_pylist()
            ok |= np.array([v is not None and normalise_name(v) in wanted for v in vals], bool)
        for a in areas:  # inside the extent of an area feature of that name
            arows = self._rows_for_key(a, self._area(None, None))
            arows = arows[np.isin(self.kind[arows], (KIND_AREA, KIND_POSTCODE))]
            for r in arows.tolist():
                if np.isnan(self.xmin[r]):
                    continue
                ok |= ((self.x[rows] >= self.xmin[r]) & (self.x[rows] <= self.xmax[r])
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
        if n > 48:  # very common names: a grid of the linkage distance is close enough
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
                                   reason=why[rep[c]]))
        return out

    def _match(self, row: int, score: float, match_type: str,
               members: np.ndarray | None = None, reason: str = "") -> Match:
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
        ids = pc.coalesce(self._uris.take(pa.array(rows)), self._ids.take(pa.array(rows)))
        out["id"][at] = np.asarray(ids.to_pylist(), dtype=object)
        for column, (bound, point) in enumerate(((self.xmin, self.x), (self.ymin, self.y),
                                                 (self.xmax, self.x), (self.ymax, self.y))):
            out["extent"][at, column] = np.where(np.isnan(bound[rows]), point[rows], bound[rows])

    def _rank_keys_many(self, texts: list[str], area: object
                        ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """:meth:`lookup`'s best answer for many plain names at once, where each has several
        candidates of its own key (the map points along a street, the sections of a road):
        candidates, places and ambiguity in array operations over all the names together,
        as :meth:`_candidates` and :meth:`_rank` find them one name at a time.

        Only names with no trailing area, postcode, junction or later part qualify; returns
        the positions in `texts` answered and their columns (``row``, ``score``,
        ``match_type``, ``extent``); the rest are left to :meth:`lookup`.
        """
        from crimegeo.gazetteer.normalise import key_hash, parse_query

        none = (np.zeros(0, np.int64), {})
        parsed = [parse_query(text) if text else None for text in texts]
        # A key written two ways is left to `lookup_many`, which answers the second from
        # the first.
        seen: dict[str, int] = {}
        for pq in parsed:
            if pq is not None:
                seen[pq.key] = seen.get(pq.key, 0) + 1
        picked, groups = [], []
        for i, pq in enumerate(parsed):
            if (pq is None or not pq.key or pq.areas or pq.junction is not None
                    or pq.postcode or pq.later_names or seen[pq.key] > 1):
                continue
            rows = self._rows_for_key(pq.key, area)
            if len(rows) < 2:
                continue
            picked.append((i, key_hash(pq.name.strip())))
            groups.append(rows)
        if not picked:
            return none
        sizes = np.array([len(g) for g in groups])
        rows = np.concatenate(groups)
        group = np.repeat(np.arange(len(groups)), sizes)
        start = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        position = np.arange(len(rows)) - start[group]  # index within its name's rows
        exact = self._row_raw_hash[rows] == np.repeat(
            np.array([h for _, h in picked], dtype=np.int64), sizes)
        scores, how = self._key_scores(rows, exact)
        generic = self._generic_mask()[rows]
        scores = np.where(generic, np.minimum(scores, GENERIC_MAX_SCORE), scores)
        place = self._clusters_many(rows, group, position, sizes)
        # One place per (name, cluster), numbered in each name as `np.unique` numbers them.
        order = np.lexsort((place, group))
        new = np.ones(len(rows), dtype=bool)
        new[1:] = (group[order][1:] != group[order][:-1]) | (
            place[order][1:] != place[order][:-1])
        cluster = np.empty(len(rows), dtype=np.int64)
        cluster[order] = np.cumsum(new) - 1  # global cluster id, ascending within a name
        n_cl = int(cluster.max()) + 1
        cl_group = np.empty(n_cl, dtype=np.int64)
        cl_group[cluster] = group
        w = self.weight[rows].astype(np.int64)
        with np.errstate(invalid="ignore"):
            ext = (self.xmax[rows] - self.xmin[rows]) * (self.ymax[rows] - self.ymin[rows])
        ext = np.where(np.isnan(ext), 0.0, ext)
        prio = KIND_PRIORITY[self.kind[rows]]
        # Representative per cluster: by kind priority, best score, most published, widest,
        # then first in the name's rows (as the stable sort in `_rank`).
        rep_order = np.lexsort((position, -ext, -w, -scores, prio, cluster))
        first = np.ones(len(rows), dtype=bool)
        first[1:] = cluster[rep_order][1:] != cluster[rep_order][:-1]
        rep = rep_order[first]  # index into rows, one per cluster, in cluster order
        cl_score = scores[rep]
        cl_weight = np.bincount(cluster, weights=w, minlength=n_cl)
        cl_sorted = np.lexsort((np.arange(n_cl), -cl_weight, -np.round(cl_score, 3), cl_group))
        top_of = np.ones(n_cl, dtype=bool)
        top_of[1:] = cl_group[cl_sorted][1:] != cl_group[cl_sorted][:-1]
        best = cl_sorted[top_of]  # the first cluster of each name
        top = np.full(len(groups), np.nan)
        top[cl_group[best]] = cl_score[best]
        contender = cl_score >= top[cl_group] - 0.05
        n_contenders = np.bincount(cl_group, weights=contender, minlength=len(groups))
        contender_weight = np.bincount(cl_group, weights=np.where(contender, cl_weight, 0.0),
                                       minlength=len(groups))
        ambiguous = n_contenders[cl_group[best]] > 1
        share = cl_weight[best] / np.maximum(contender_weight[cl_group[best]], 1.0)
        score = np.where(ambiguous, np.minimum(SCORES["ambiguous_max"], cl_score[best] * share),
                         cl_score[best])
        match_type = np.where(ambiguous, "ambiguous", how[rep[best]]).astype(object)
        # The answer's extent: its whole place's (the members' boxes or points).
        member = np.isin(cluster, best)
        x0 = np.where(np.isnan(self.xmin[rows]), self.x[rows], self.xmin[rows])
        y0 = np.where(np.isnan(self.ymin[rows]), self.y[rows], self.ymin[rows])
        x1 = np.where(np.isnan(self.xmax[rows]), self.x[rows], self.xmax[rows])
        y1 = np.where(np.isnan(self.ymax[rows]), self.y[rows], self.ymax[rows])
        extent = np.full((len(groups), 4), np.nan)
        extent[:, 0], extent[:, 1] = np.inf, np.inf
        extent[:, 2], extent[:, 3] = -np.inf, -np.inf
        g = group[member]
        np.minimum.at(extent[:, 0], g, x0[member])
        np.minimum.at(extent[:, 1], g, y0[member])
        np.maximum.at(extent[:, 2], g, x1[member])
        np.maximum.at(extent[:, 3], g, y1[member])
        at = np.array([i for i, _ in picked], dtype=np.int64)[cl_group[best]]
        rounded = np.array([round(float(v), 4) for v in score.tolist()])  # as `_match`
        return at, {"row": rows[rep[best]], "score": rounded,
                    "match_type": match_type, "extent": extent[cl_group[best]]}

    def _clusters_many(self, rows: np.ndarray, group: np.ndarray, position: np.ndarray,
                       sizes: np.ndarray) -> np.ndarray:
        """:meth:`_clusters` of every name's rows at once: a label per row whose order
        within a name is the order of `_clusters`' labels (so places number alike)."""
        labels = np.zeros(len(rows), dtype=np.int64)
        big = sizes[group] > 48
        for g in np.unique(group[big]).tolist():  # very common names: as `_clusters`
            mine = np.flatnonzero(group == g)
            labels[mine] = self._clusters(rows[mine])
        small = np.flatnonzero(~big)
        if not len(small):
            return labels
        r, grp = rows[small], group[small]
        kinds = self.kind[r]
        thr = np.array([CLUSTER_M.get(int(k), CLUSTER_DEFAULT_M) for k in kinds])
        point_only = ~(self.xmax[r] > self.xmin[r]) & ~(self.ymax[r] > self.ymin[r])
        thr = np.where((kinds == KIND_ROAD) & point_only, ROAD_POINT_LINK_M, thr)
        x, y = self.x[r], self.y[r]
        x0 = np.where(np.isnan(self.xmin[r]), x, self.xmin[r])
        x1 = np.where(np.isnan(self.xmax[r]), x, self.xmax[r])
        y0 = np.where(np.isnan(self.ymin[r]), y, self.ymin[r])
        y1 = np.where(np.isnan(self.ymax[r]), y, self.ymax[r])
        # Every ordered pair of rows of one name.
        n_of = sizes[grp]
        left = np.repeat(np.arange(len(r)), n_of)
        first_of = np.arange(len(r)) - position[small]
        right = first_of[left] + (np.arange(len(left)) - np.repeat(
            np.concatenate([[0], np.cumsum(n_of)[:-1]]), n_of))
        gap = np.hypot(
            np.maximum(0, np.maximum(x0[left] - x1[right], x0[right] - x1[left])),
            np.maximum(0, np.maximum(y0[left] - y1[right], y0[right] - y1[left])))
        keys = np.asarray(self._row_key[r])
        place = self._place_codes()[r]
        link = ((gap <= np.minimum(thr[left], thr[right])) & (keys[left] == keys[right])
                & ((place[left] == place[right]) | (place[left] < 0) | (place[right] < 0)))
        left, right = left[link], right[link]
        label = position[small].copy()  # connected components: the least position in each
        while True:
            new = label.copy()
            np.minimum.at(new, left, label[right])
            new = new[first_of + new]
            if (new == label).all():
                break
            label = new
        labels[small] = label
        return labels

    def _fill_ranked(self, out: dict[str, np.ndarray], at: np.ndarray,
                     ranked: dict[str, np.ndarray]) -> None:
        """Write :meth:`_rank_keys_many`'s answers into `lookup_arrays`' columns at `at`."""
        rows = ranked["row"]
        for name, column in (("lon", self.lon), ("lat", self.lat), ("x_bng", self.x),
                             ("y_bng", self.y)):
            out[name][at] = column[rows]
        out["score"][at] = ranked["score"]
        out["match_type"][at] = ranked["match_type"]
        taken = pa.array(rows)
        out["id"][at] = np.array([uri or fid for uri, fid in zip(
            self._uris.take(taken).to_pylist(), self._ids.take(taken).to_pylist(),
            strict=True)] + [None], dtype=object)[:-1]  # as `Match.uri or Match.id`
        out["extent"][at] = ranked["extent"]
