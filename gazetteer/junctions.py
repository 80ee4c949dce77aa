"""Junctions: "junction of A and B" is placed where the two streets meet, when they do (within
:data:`gazetteer.scoring.JUNCTION_MAX_M`); otherwise the first street answers with a lower
score and ``reason="junction_not_met"``. Part of :class:`gazetteer.core.Gazetteer`.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from crimegeo.gazetteer.index import _Area
from crimegeo.gazetteer.model import Match
from crimegeo.gazetteer.normalise import (
    ParsedQuery,
    parse_query,
)
from crimegeo.gazetteer.scoring import (
    JUNCTION_FALLBACK_FACTOR,
    JUNCTION_MAX_M,
    JUNCTION_SCORE_FACTOR,
    SCORES,
)


class Junctions:
    """Where two named streets meet."""

    def _box_gap(self, ra: np.ndarray, rb: np.ndarray) -> np.ndarray:
        """Metres between each A row's extent (its point where it has none) and each B row's."""
        def box(rows: np.ndarray) -> tuple[np.ndarray, ...]:
            x, y = self.x[rows], self.y[rows]
            return tuple(np.where(np.isnan(b[rows]), p, b[rows]) for b, p in (
                (self.xmin, x), (self.ymin, y), (self.xmax, x), (self.ymax, y)))

        ax0, ay0, ax1, ay1 = box(ra)
        bx0, by0, bx1, by1 = box(rb)
        gx = np.maximum(0, np.maximum(ax0[:, None] - bx1[None, :], bx0[None, :] - ax1[:, None]))
        gy = np.maximum(0, np.maximum(ay0[:, None] - by1[None, :], by0[None, :] - ay1[:, None]))
        return np.hypot(gx, gy)

    def _junction(self, pq: ParsedQuery, area: _Area, near_xy: tuple[float, float] | None,
                  limit: int) -> list[Match]:
        """"Junction of A and B": where the two streets meet, if they do.

        Two streets meet when one of A's features lies within JUNCTION_MAX_M of one of B's
        (extents where known, points otherwise): the answer is the midpoint of the closest
        pair (the place's own point when one of them is a place of a generic type), scored
        JUNCTION_SCORE_FACTOR x the weaker street's score, ``reason="junction"``.
        A generic place type ("Supermarket") becomes confident only when B meets exactly one
        of its places; B meeting several leaves them ambiguous. When the streets do not meet,
        or B is unknown, A answers as if named alone, its scores x JUNCTION_FALLBACK_FACTOR,
        ``reason="junction_not_met"`` (B alone when only B is known).
        """
        a, b = pq.junction  # type: ignore[misc]
        qa, qb = parse_query(a), parse_query(b)
        ra, sa, ha, wa = self._candidates(qa, area)
        rb, sb, hb, wb = self._candidates(qb, area)
        if len(ra) and len(rb):
            ra, sa, rb, sb = ra[:300], sa[:300], rb[:300], sb[:300]
            d = self._box_gap(ra, rb)
            # a name does not meet itself ("Bus/Coach Staton": both parts find the place type)
            d[np.asarray(self._row_key[ra])[:, None] == np.asarray(self._row_key[rb])[None, :]] = (
                np.inf)
            meets = d <= JUNCTION_MAX_M
            if meets.any():
                return [self._junction_match(ra, sa, ha, wa, rb, sb, hb, wb, d, meets)]
        if not len(ra) and not len(rb):
            return []
        q, rows, scores, how, why = (qa, ra, sa, ha, wa) if len(ra) else (qb, rb, sb, hb, wb)
        found = self._rank(q, rows, scores * JUNCTION_FALLBACK_FACTOR, how, why, near_xy, limit)
        return [m if m.match_type == "ambiguous" else dataclasses.replace(
            m, reason="junction_not_met") for m in found]

    def _junction_match(self, ra: np.ndarray, sa: np.ndarray, ha: list, wa: list,
                        rb: np.ndarray, sb: np.ndarray, hb: list, wb: list,
                        d: np.ndarray, meets: np.ndarray) -> Match:
        """The junction of the closest meeting pair; ambiguous when a generic A or B has
        several places meeting the other street."""
        i, j = np.unravel_index(int(np.argmin(np.where(meets, d, np.inf))), d.shape)
        r1, r2 = int(ra[i]), int(rb[j])

        def base(score: float, how: str, why: str) -> float:
            # a generic place singled out by its partner keeps the score of its spelling
            return SCORES.get(how, SCORES["alternative"]) if why == "generic" else score

        places_a = len(np.unique(self._clusters(ra[meets.any(axis=1)])))
        places_b = len(np.unique(self._clusters(rb[meets.any(axis=0)])))
        score = min(base(float(sa[i]), ha[i], wa[i]), base(float(sb[j]), hb[j], wb[j]))
        score *= JUNCTION_SCORE_FACTOR
        mtype = "fuzzy" if "fuzzy" in (ha[i], hb[j]) else (
            "exact" if (ha[i], hb[j]) == ("exact", "exact") else "normalised")
        if places_a > 1 or places_b > 1:  # several places of one name meet the other street
            mtype = "ambiguous"
            score = min(SCORES["ambiguous_max"], score / max(places_a, places_b))
        if (wa[i] == "generic") != (wb[j] == "generic"):
            # "Carrington Street/Supermarket": the supermarket there, at its own point
            place = r1 if wa[i] == "generic" else r2
            mx, my = self.x[place], self.y[place]
        else:
            mx, my = (self.x[r1] + self.x[r2]) / 2, (self.y[r1] + self.y[r2]) / 2
        from crimegeo.gazetteer.geo import to_lonlat

        lon, lat = to_lonlat(np.array([mx]), np.array([my]))
        return Match(
            id=f"{self._ids[r1].as_py()}|{self._ids[r2].as_py()}",
            uri=None,
            name=f"{self._name(r1)} / {self._name(r2)}",
            local_type="Junction",
            lon=float(lon[0]), lat=float(lat[0]), x_bng=float(mx), y_bng=float(my),
            extent=(float(min(self.x[r1], self.x[r2])), float(min(self.y[r1], self.y[r2])),
                    float(max(self.x[r1], self.x[r2])), float(max(self.y[r1], self.y[r2]))),
            score=round(score, 4),
            match_type=mtype,
            reason="junction",
            places=max(places_a, places_b),
        )
