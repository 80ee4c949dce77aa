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
from crimegeo.gazetteer.model import Match, match_fields
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
        if n <= CLUSTER_EXACT_MAX:  # exact single linkage, as the batch ranking links
            return self._clusters_many(rows, np.zeros(n, dtype=np.int64), np.arange(n),
                                       np.array([n]))
        keys = np.asarray(self._row_key[rows])
        kinds = self.kind[rows]
        thr = np.array([CLUSTER_M.get(int(k), CLUSTER_DEFAULT_M) for k in kinds])
        # Roads known only by points (police.uk map points along a street) link farther.
        point_only = ~(self.xmax[rows] > self.xmin[rows]) & ~(self.ymax[rows] > self.ymin[rows])
        thr = np.where((kinds == KIND_ROAD) & point_only, ROAD_POINT_LINK_M, thr)
        x, y = self.x[rows], self.y[rows]
        # Very common names: a grid of the linkage distance.
        cell = thr.max()
        gx = np.floor(x / cell).astype(np.int64)
        gy = np.floor(y / cell).astype(np.int64)
        code = (keys.astype(np.int64) << 32) | (gx << 16) | gy
        _, labels = np.unique(code, return_inverse=True)
        return labels.ravel()

    def _clusters_many(self, rows: np.ndarray, group: np.ndarray, position: np.ndarray,
                       sizes: np.ndarray) -> np.ndarray:
        """Exact single-linkage labels of several names' candidate rows at once (each name at
        most CLUSTER_EXACT_MAX rows): `group` is each row's name, `position` its index among
        that name's rows (rows grouped by name, in order) and `sizes` each name's row count.
        A row's label is the least position in its place, as :meth:`_clusters` numbers them.
        """
        kinds = self.kind[rows]
        thr = np.array([CLUSTER_M.get(int(k), CLUSTER_DEFAULT_M) for k in kinds])
        # Roads known only by points (police.uk map points along a street) link farther.
        point_only = ~(self.xmax[rows] > self.xmin[rows]) & ~(self.ymax[rows] > self.ymin[rows])
        thr = np.where((kinds == KIND_ROAD) & point_only, ROAD_POINT_LINK_M, thr)
        x, y = self.x[rows], self.y[rows]
        x0 = np.where(np.isnan(self.xmin[rows]), x, self.xmin[rows])
        x1 = np.where(np.isnan(self.xmax[rows]), x, self.xmax[rows])
        y0 = np.where(np.isnan(self.ymin[rows]), y, self.ymin[rows])
        y1 = np.where(np.isnan(self.ymax[rows]), y, self.ymax[rows])
        # Every ordered pair of rows of one name: `left` and `right` index `rows`.
        n_of = sizes[group]
        left = np.repeat(np.arange(len(rows)), n_of)
        first_of = np.arange(len(rows)) - position  # each row's name's first row
        pair_start = np.repeat(np.cumsum(n_of) - n_of, n_of)
        right = first_of[left] + (np.arange(len(left)) - pair_start)
        # Gap between extents (or points) decides linkage.
        gap = np.hypot(
            np.maximum(0, np.maximum(x0[left] - x1[right], x0[right] - x1[left])),
            np.maximum(0, np.maximum(y0[left] - y1[right], y0[right] - y1[left])))
        keys = np.asarray(self._row_key[rows])
        place = self._place_codes()[rows]  # never one place across two named settlements
        # Same key, close together: one place, even across kinds (a village, its station and
        # its headland called Dungeness are one answer).
        link = ((gap <= np.minimum(thr[left], thr[right])) & (keys[left] == keys[right])
                & ((place[left] == place[right]) | (place[left] < 0) | (place[right] < 0)))
        left, right = left[link], right[link]
        label = position.astype(np.int64)  # connected components: the least position in each
        while True:
            new = label.copy()
            np.minimum.at(new, left, label[right])
            new = new[first_of + new]  # pointer jumping, within the name
            if (new == label).all():
                return label
            label = new

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
        return self._rank_many([(pq, rows, scores, how, why)], near_xy, limit)[0]

    def _hinted(self, pq: ParsedQuery, rows: np.ndarray, scores: np.ndarray, why: list
                ) -> tuple[np.ndarray, list]:
        """Scores and reasons after the text's hints: a trailing area the rows lie in, a
        postcode district they agree with."""
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
        return scores, why

    def _common_name_places(self, rows: np.ndarray, scores: np.ndarray) -> np.ndarray:
        """Place labels of one common name's rows (more than CLUSTER_EXACT_MAX): grouped on
        a grid, the few rows the hints left in contention linked exactly."""
        labels = self._clusters(rows)
        top = scores >= scores.max() - 0.05
        if CLUSTER_EXACT_MAX >= top.sum() > 1:
            # The grid can cut one road in two; the rows in contention are linked exactly.
            labels = labels.astype(np.int64)
            labels[top] = labels.max() + 1 + self._clusters(rows[top])
        return labels

    def _rank_many(self, searched: list[tuple[ParsedQuery, np.ndarray, np.ndarray, list, list]],
                   near_xy: tuple[float, float] | None, limit: int) -> list[list[Match]]:
        """:meth:`_rank` of many texts' candidates at once: for each (parsed text, rows,
        scores, match types, reasons) the best `limit` places, best first.

        Places (single linkage), each place's representative, the order of places and the
        ambiguity among the best are array operations over every text's rows together;
        only the texts with more than CLUSTER_EXACT_MAX rows are grouped one at a time.
        """
        if not searched:
            return []
        limit = max(1, limit)
        hinted = [self._hinted(pq, rows, scores, why) for pq, rows, scores, _how, why
                  in searched]
        sizes = np.array([len(item[1]) for item in searched], dtype=np.int64)
        n_texts = len(searched)
        rows = np.concatenate([item[1] for item in searched]).astype(np.int64)
        scores = np.concatenate([h[0] for h in hinted])
        how = [h for item in searched for h in item[3]]
        why = [w for h in hinted for w in h[1]]
        group = np.repeat(np.arange(n_texts), sizes)
        starts = np.cumsum(sizes) - sizes
        position = np.arange(len(rows)) - starts[group]
        labels = np.zeros(len(rows), dtype=np.int64)
        big = sizes > CLUSTER_EXACT_MAX
        for g in np.flatnonzero(big).tolist():  # very common names: see _common_name_places
            mine = slice(starts[g], starts[g] + sizes[g])
            labels[mine] = self._common_name_places(rows[mine], scores[mine])
        kept = np.flatnonzero(~big[group])  # the other texts' rows, still grouped by text
        if len(kept):
            labels[kept] = self._clusters_many(rows[kept], group[kept], position[kept], sizes)
        # One place per (text, label), numbered in each text as `np.unique` numbers labels.
        order = np.lexsort((labels, group))
        new = np.ones(len(rows), dtype=bool)
        new[1:] = (group[order][1:] != group[order][:-1]) | (
            labels[order][1:] != labels[order][:-1])
        cluster = np.empty(len(rows), dtype=np.int64)
        cluster[order] = np.cumsum(new) - 1
        n_cl = int(cluster.max()) + 1
        cl_group = np.empty(n_cl, dtype=np.int64)
        cl_group[cluster] = group
        w = self.weight[rows].astype(np.int64)
        with np.errstate(invalid="ignore"):
            ext = (self.xmax[rows] - self.xmin[rows]) * (self.ymax[rows] - self.ymin[rows])
        ext = np.where(np.isnan(ext), 0.0, ext)
        prio = KIND_PRIORITY[self.kind[rows]]
        # Representative per place: by kind priority, best score, most published, widest,
        # then first among the text's candidates.
        rep_order = np.lexsort((position, -ext, -w, -scores, prio, cluster))
        first = np.ones(len(rows), dtype=bool)
        first[1:] = cluster[rep_order][1:] != cluster[rep_order][:-1]
        rep = rep_order[first]  # index into rows, one per place, in place order
        cl_score = scores[rep]
        cl_weight = np.bincount(cluster, weights=w, minlength=n_cl)
        cl_dist = np.full(n_cl, np.inf)
        if near_xy is not None:
            np.minimum.at(cl_dist, cluster, np.hypot(self.x[rows] - near_xy[0],
                                                     self.y[rows] - near_xy[1]))
        # Places of each text best first: score (to 3 places), nearness, how often published.
        cl_sorted = np.lexsort((np.arange(n_cl), -cl_weight, cl_dist, -np.round(cl_score, 3),
                                cl_group))
        places_of = np.bincount(cl_group, minlength=n_texts)
        rank = np.empty(n_cl, dtype=np.int64)
        rank[cl_sorted] = np.arange(n_cl) - np.repeat(np.cumsum(places_of) - places_of,
                                                      places_of)
        best = cl_sorted[rank[cl_sorted] == 0]  # each text's first place, by text
        top = cl_score[best]
        contender = cl_score >= top[cl_group] - 0.05
        n_cont = np.bincount(cl_group, weights=contender, minlength=n_texts).astype(np.int64)
        cont_weight = np.bincount(cl_group, weights=np.where(contender, cl_weight, 0.0),
                                  minlength=n_texts)
        ambiguous = n_cont > 1
        if near_xy is not None:  # a point close to one contender settles it
            for g in np.flatnonzero(ambiguous).tolist():
                d = np.sort(cl_dist[(cl_group == g) & contender])
                if d[0] <= 0.5 * d[1] or d[0] < 250:
                    ambiguous[g] = False
        answer = cl_sorted[rank[cl_sorted] < limit]  # by text, best first
        g_of = cl_group[answer]
        as_ambiguous = ambiguous[g_of] & (rank[answer] < n_cont[g_of])
        share = cl_weight[answer] / np.maximum(cont_weight[g_of], 1.0)
        places = np.where(ambiguous, n_cont, places_of)[g_of].tolist()
        extents = self._place_extents(rows, cluster, answer)
        picked = rows[rep[answer]]
        scored, types, reasons, first_score = [], [], [], {}
        for i, (g, c) in enumerate(zip(g_of.tolist(), answer.tolist(), strict=True)):
            r = int(rep[c])
            if as_ambiguous[i]:
                # calibrated: how often police.uk published this place among the contenders
                types.append("ambiguous")
                score = min(SCORES["ambiguous_max"], float(cl_score[c]) * float(share[i]))
            else:
                types.append(how[r])
                score = float(cl_score[c])
                if g in first_score:
                    score = min(score, first_score[g] * 0.99)
            scored.append(score)
            first_score.setdefault(g, round(score, 4))  # as the first answer's Match keeps it
            reasons.append(why[r])
        found: list[list[Match]] = [[] for _ in range(n_texts)]
        for g, match in zip(g_of.tolist(), self._matches_at(picked, scored, types, reasons,
                                                            places, extents), strict=True):
            found[g].append(match)
        return found

    def _matches_at(self, rows: np.ndarray, scores: list[float], match_types: list[str],
                    reasons: list[str], places: list[int],
                    extents: list[tuple[float, float, float, float]]) -> list[Match]:
        """:meth:`_match` of many rows, their columns read at once."""
        taken = pa.array(rows, pa.int64())
        ids, uris, names, types = (column.take(taken).to_pylist() for column in (
            self._ids, self._uris, self._names, self._types))
        lon, lat, x, y = (column[rows].tolist() for column in (self.lon, self.lat, self.x,
                                                                self.y))
        return [Match(id=ids[i], uri=uris[i], name=names[i], local_type=types[i], lon=lon[i],
                      lat=lat[i], x_bng=x[i], y_bng=y[i], extent=extents[i],
                      score=round(float(scores[i]), 4), match_type=match_types[i],
                      reason=reasons[i], places=places[i]) for i in range(len(rows))]

    def _place_extents(self, rows: np.ndarray, cluster: np.ndarray, wanted: np.ndarray
                       ) -> list[tuple[float, float, float, float]]:
        """The extent (BNG box of its rows' boxes or points) of each place in `wanted`."""
        slot = np.full(int(cluster.max()) + 1, -1, dtype=np.int64)
        slot[wanted] = np.arange(len(wanted))
        at = slot[cluster]
        member = at >= 0
        r, at = rows[member], at[member]
        box = np.empty((len(wanted), 4))
        box[:, :2], box[:, 2:] = np.inf, -np.inf
        np.minimum.at(box[:, 0], at, np.where(np.isnan(self.xmin[r]), self.x[r], self.xmin[r]))
        np.minimum.at(box[:, 1], at, np.where(np.isnan(self.ymin[r]), self.y[r], self.ymin[r]))
        np.maximum.at(box[:, 2], at, np.where(np.isnan(self.xmax[r]), self.x[r], self.xmax[r]))
        np.maximum.at(box[:, 3], at, np.where(np.isnan(self.ymax[r]), self.y[r], self.ymax[r]))
        return [tuple(b) for b in box.tolist()]

    def _match(self, row: int, score: float, match_type: str, reason: str = "",
               places: int = 1, extent: tuple[float, float, float, float] | None = None
               ) -> Match:
        """The answer `row`, scored; its extent is the row's own unless its place's is given."""
        ext = extent if extent is not None else self._extent_of(np.array([row]))
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
        """Calibrated matches for rows found by exact name (each its text's sole candidate),
        built column-wise: three kinds at most (exact, area, generic), calibrated once each."""
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
        is_area = AREA_LIKE[kind]
        generic = self._generic_mask()[rows]
        # per kind (2 x area + generic): match type, reason, calibrated and evidence score
        kinds = []
        for area in (False, True):
            for generic_kind in (False, True):
                match_type = "area" if area else "exact"
                reason = "generic" if generic_kind else ""
                raw = GENERIC_MAX_SCORE if generic_kind else SCORES[
                    "area_exact" if area else "exact"]
                score, evidence = self.calibration.sole(match_type, reason, raw)
                kinds.append((match_type, reason, score, evidence))
        of_row = [kinds[k] for k in (2 * is_area.astype(np.int64) + generic).tolist()]
        # zipped columns, not indexed rows: a Match per text is most of an exact batch's time
        extents = zip(x0, y0, x1, y1, strict=True)
        return [match_fields(i, u, n, t, lo, la, xx, yy, e, score, mt, why, 1, evidence)
                for i, u, n, t, lo, la, xx, yy, e, (mt, why, score, evidence) in zip(
                    ids, uris, names, types, lon, lat, x, y, extents, of_row, strict=True)]

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
