"""The loaded gazetteer: forward geocoding with confidence, reverse to "On or near", and the
vectorised nearest-public-map-point query the anonymiser uses.

A :class:`Gazetteer` memory-maps the artifact a build wrote (features as Arrow IPC, indexes as
``.npy``, the persistent R-tree), so loading is fast and light and several worker processes share
the same pages. Features stay in Arrow/numpy columns; a feature is a row number.

Forward lookups: parse the text (:func:`gazetteer.normalise.parse_query`), look the canonical key
up in the hash index, restrict rows to the force's area or a box, fall back to fuzzy matching
with rapidfuzz over candidates blocked by name (first/last letters of distinctive words) and by
area, then group candidate rows into distinct places and score them; several equally good places
with no way to choose are reported ``ambiguous`` with a low score. No Beam, no Prefect.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import tempfile
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import fsspec
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from rapidfuzz import fuzz, process

from crimegeo.gazetteer.build import (
    ARTIFACT_FORMAT,
    KIND_AREA,
    KIND_PLACE,
    KIND_POSTCODE,
    KIND_ROAD,
)
from crimegeo.gazetteer.geo import force_box_bng, to_bng
from crimegeo.gazetteer.model import GazetteerError, Match, ReverseMatch
from crimegeo.gazetteer.normalise import (
    PREFIX_PATTERN,
    ParsedQuery,
    block_keys,
    key_hash,
    parse_query,
    strip_prefix,
)
from crimegeo.gazetteer.scoring import (
    FUZZY_LOOSE_MAX,
    FUZZY_SCORES,
    FUZZY_UNIQUE_MARGIN,
    GENERIC_MAX_SCORE,
    JUNCTION_FALLBACK_FACTOR,
    JUNCTION_MAX_M,
    JUNCTION_SCORE_FACTOR,
    POSTCODE_MISS_FACTOR,
    ROAD_POINT_LINK_M,
    SCORES,
    fuzzy_grade,
)

__all__ = ["Gazetteer", "SCORES", "fuzzy_similarity"]

#: Key texts kept for fuzzy matching before the memo starts again (a force's are a few thousand).
KEY_TEXT_CACHE_MAX = 500_000
#: Areas with more sole names than this match exact names through the hash index, not Arrow.
ARROW_EXACT_MAX_NAMES = 200_000
FUZZY_CUTOFF = 78.0  # on fuzzy_similarity, 0..100
FUZZY_CANDIDATES = 32  # candidates scored per query after blocking
FUZZY_GRADED = 6  # best candidates per query graded by fuzzy_grade (slips, street type)
FUZZY_MEMO_MAX = 200_000  # fuzzy answers kept per area before its memo starts again
#: Same-name rows closer than this (metres, single linkage) are one place, by kind.
CLUSTER_M = {KIND_ROAD: 600.0, KIND_PLACE: 120.0, KIND_AREA: 100.0, KIND_POSTCODE: 50.0}
CLUSTER_DEFAULT_M = 120.0
PUBLIC_KINDS = (KIND_ROAD, KIND_PLACE)
#: Which feature of a same-named group answers: road, then area, place, postcode, natural.
KIND_PRIORITY = np.array([0, 2, 1, 3, 4], dtype=np.int8)
#: Kinds answered with match_type "area": settlements, districts, postcodes.
AREA_LIKE = np.array([False, False, True, True, False])


def fuzzy_similarity(query: str, choices: list[str]) -> np.ndarray:
    """Similarity 0..100 of a canonical key to each choice: the better of plain edit similarity
    (typos) and 0.9 x token-set similarity (missing or reordered words)."""
    return fuzzy_similarity_pairs([query] * len(choices), choices)


def fuzzy_similarity_pairs(queries: list[str], choices: list[str]) -> np.ndarray:
    """:func:`fuzzy_similarity` of each query to the choice beside it, in two native calls."""
    if not choices:
        return np.zeros(0, dtype=np.float32)
    plain = process.cpdist(queries, choices, scorer=fuzz.ratio, dtype=np.float32)
    token_set = process.cpdist(queries, choices, scorer=fuzz.token_set_ratio, dtype=np.float32)
    return np.maximum(plain, 0.9 * token_set)


@lru_cache(maxsize=65_536)
def _block_hashes(key: str) -> np.ndarray:
    return np.array([key_hash(b) for b in block_keys(key)], dtype=np.int64)


@dataclass
class _Area:
    """A restriction: rows allowed (bool mask or None for all), keys present, blocking postings."""

    row_mask: np.ndarray | None
    key_mask: np.ndarray | None
    block_ptr: np.ndarray
    block_keys: np.ndarray
    sole_row: np.ndarray | None = None  # per key: its only row in the area, else -1
    sole_names: tuple[pa.Array, np.ndarray] | bool | None = None  # see Gazetteer._sole_names
    #: Fuzzy candidates (rows, scores) per key already worked out in this area.
    fuzzy: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)


def _cache_dir() -> str:
    return os.environ.get(
        "CRIMEGEO_CACHE", os.path.join(os.path.expanduser("~"), ".cache", "crimegeo")
    )


class Gazetteer:
    """A built gazetteer, memory-mapped. Create with :meth:`Gazetteer.load`."""

    def __init__(self, path: str, manifest: dict) -> None:
        """Open the artifact folder ``path`` (use :meth:`load`, which also handles URLs)."""
        self.path = path
        self.manifest = manifest
        self.checksum: str = manifest["checksum"]
        self._source = pa.memory_map(os.path.join(path, "features.arrow"), "r")
        self.features: pa.Table = pa.ipc.open_file(self._source).read_all()
        col = self.features.column

        def one(name: str) -> pa.Array:
            c = col(name)
            return c.chunk(0) if c.num_chunks == 1 else c.combine_chunks()

        def num(name: str) -> np.ndarray:
            return one(name).to_numpy(zero_copy_only=True)

        self.x, self.y = num("x"), num("y")
        self.lon, self.lat = num("lon"), num("lat")
        self.xmin, self.ymin, self.xmax, self.ymax = (num(c) for c in ("xmin", "ymin", "xmax",
                                                                        "ymax"))
        self.kind = num("kind")
        self.weight = num("weight")
        self._ids = one("id")
        self._uris = one("uri")
        self._names = one("name")
        self._types = one("local_type")
        self._force = one("force")
        self._keys_src = pa.memory_map(os.path.join(path, "keys.arrow"), "r")
        keys = pa.ipc.open_file(self._keys_src).read_all().column("key")
        self._keys = keys.chunk(0) if keys.num_chunks == 1 else keys.combine_chunks()
        ix = os.path.join(path, "index")

        def npy(name: str) -> np.ndarray:
            # a plain ndarray view of the memory map (np.memmap indexing is slow)
            return np.asarray(np.load(os.path.join(ix, f"{name}.npy"), mmap_mode="r"))

        self._key_hash = npy("key_hash")
        self._key_ptr = npy("key_ptr")
        self._key_rows = npy("key_rows")
        self._key_flags = npy("key_flags")
        self._row_key = npy("row_key")
        self._raw_hash = npy("raw_hash")
        self._raw_rows = npy("raw_rows")
        self._row_raw_hash = npy("row_raw_hash")
        self._block_hash = npy("block_hash")
        self._block_ptr = npy("block_ptr")
        self._block_keys = npy("block_keys")
        self._rtree: Any = None
        self._rtree_lock = threading.Lock()
        self._areas: dict[Any, _Area] = {}
        self._trees: dict[Any, tuple[Any, np.ndarray]] = {}
        self._force_codes: tuple[np.ndarray, list] | None = None
        self._public_mask: np.ndarray | None = None
        self._key_text_cache: dict[int, str] = {}
        self._boundaries: dict[str, Any] = {}
        self._pair_key: np.ndarray | None = None
        self._block_of_posting: np.ndarray | None = None
        self._generic: np.ndarray | None = None
        self._places: np.ndarray | None = None

    # ------------------------------------------------------------------ loading

    @staticmethod
    def read_manifest(uri: str) -> dict:
        """A built gazetteer's manifest (checksum, sources, counts) without loading it."""
        fs, p = fsspec.core.url_to_fs(uri)
        try:
            with fs.open(f"{p.rstrip('/')}/manifest.json", "r") as f:
                manifest = json.load(f)
        except FileNotFoundError:
            raise GazetteerError(
                f"{uri}: not a gazetteer (no manifest.json; an unfinished build?)"
            ) from None
        if manifest.get("format") != ARTIFACT_FORMAT or not manifest.get("complete"):
            raise GazetteerError(f"{uri}: manifest.json is not a complete {ARTIFACT_FORMAT}")
        return manifest

    @classmethod
    def load(cls, uri: str) -> Gazetteer:
        """Open a gazetteer built by :func:`build_gazetteer`: a local folder, or an fsspec URL
        whose artifact is first copied to a local cache (``$CRIMEGEO_CACHE``, by checksum)."""
        manifest = cls.read_manifest(uri)
        fs, p = fsspec.core.url_to_fs(uri)
        protocols = (fs.protocol,) if isinstance(fs.protocol, str) else tuple(fs.protocol)
        if "file" in protocols or "local" in protocols:
            return cls(p, manifest)
        local = os.path.join(_cache_dir(), "gazetteer", manifest["checksum"])
        if not os.path.exists(os.path.join(local, "manifest.json")):
            os.makedirs(os.path.dirname(local), exist_ok=True)
            tmp = tempfile.mkdtemp(dir=os.path.dirname(local), prefix=".download-")
            try:
                for rel in manifest["files"]:
                    dst = os.path.join(tmp, rel)
                    os.makedirs(os.path.dirname(dst), exist_ok=True)
                    fs.get_file(f"{p.rstrip('/')}/{rel}", dst)
                if os.path.exists(local):
                    shutil.rmtree(local)
                os.rename(tmp, local)
            except BaseException:
                shutil.rmtree(tmp, ignore_errors=True)
                raise
        return cls(local, manifest)

    def __len__(self) -> int:
        """Number of features."""
        return self.features.num_rows

    def __repr__(self) -> str:
        return f"Gazetteer({self.path!r}, features={len(self)}, checksum={self.checksum[:12]})"

    @property
    def rtree(self) -> Any:
        """The persistent R-tree of feature extents (ids are row numbers), opened on first use."""
        if self._rtree is None:
            from rtree import index as rindex

            p = rindex.Property()
            p.dimension = 2
            p.overwrite = False
            self._rtree = rindex.Index(os.path.join(self.path, "rtree"), properties=p)
        return self._rtree

    def rows_in_box(self, box: tuple[float, float, float, float]) -> np.ndarray:
        """Row numbers of features whose point lies in a BNG box (R-tree, then exact test)."""
        xmin, ymin, xmax, ymax = (float(v) for v in box)
        # One gazetteer is shared by every thread of a worker (Beam's Shared, Dataflow's
        # threads); libspatialindex's disk-backed index is not safe to query concurrently.
        with self._rtree_lock:
            ids, _counts = self.rtree.intersection_v(np.array([[xmin, ymin]]),
                                                     np.array([[xmax, ymax]]))
        rows = np.asarray(ids, dtype=np.int64)
        x, y = self.x[rows], self.y[rows]
        return rows[(x >= xmin) & (x <= xmax) & (y >= ymin) & (y <= ymax)]

    # ------------------------------------------------------------------ restrictions

    def set_force_boundary(self, force: str, boundary_bng: Any) -> None:
        """Use a supplied boundary (a shapely geometry in EPSG:27700) for ``force`` instead of the
        registry's box when restricting lookups and public points to that force."""
        self._boundaries[force] = boundary_bng
        self._areas = {k: v for k, v in self._areas.items() if k[0] != force}
        self._trees = {k: v for k, v in self._trees.items() if k != force}

    def _force_mask(self, force: str) -> np.ndarray:
        boundary = self._boundaries.get(force)
        if boundary is not None:
            import shapely

            box = tuple(shapely.bounds(boundary))
        else:
            box = force_box_bng(force)
        rows = self.rows_in_box(box)
        if boundary is not None and len(rows):
            import shapely

            rows = rows[shapely.contains_xy(boundary, self.x[rows], self.y[rows])]
        mask = np.zeros(len(self), dtype=bool)
        mask[rows] = True
        if self._force.null_count < len(self._force):
            if self._force_codes is None:  # encoded once, not per force
                encoded = pc.dictionary_encode(self._force)
                if isinstance(encoded, pa.ChunkedArray):
                    encoded = encoded.combine_chunks()
                codes = np.asarray(pc.fill_null(encoded.indices, -1), dtype=np.int32)
                self._force_codes = (codes, encoded.dictionary.to_pylist())
            codes, names = self._force_codes
            known = codes >= 0
            # Features tagged with a force belong to that force only, wherever they lie.
            mask[known] = codes[known] == (names.index(force) if force in names else -2)
        return mask

    def _area(
        self,
        force: str | None,
        within: tuple[float, float, float, float] | None,
    ) -> _Area:
        cache_key = (force, tuple(within) if within is not None else None)
        hit = self._areas.get(cache_key)
        if hit is not None:
            return hit
        if force is None and within is None:
            area = _Area(None, None, self._block_ptr, self._block_keys)
        else:
            mask = self._force_mask(force) if force is not None else None
            if within is not None:
                wm = np.zeros(len(self), dtype=bool)
                wm[self.rows_in_box(within)] = True
                mask = wm if mask is None else (mask & wm)
            if self._pair_key is None:
                self._pair_key = np.repeat(
                    np.arange(len(self._key_ptr) - 1, dtype=np.int32), np.diff(self._key_ptr))
            key_mask = np.zeros(len(self._key_hash), dtype=bool)
            key_mask[self._pair_key[mask[self._key_rows]]] = True
            if self._block_of_posting is None:
                self._block_of_posting = np.repeat(
                    np.arange(len(self._block_ptr) - 1, dtype=np.int32),
                    np.diff(self._block_ptr))
            keep = key_mask[self._block_keys]
            counts = np.bincount(self._block_of_posting[keep], minlength=len(self._block_ptr) - 1)
            ptr = np.zeros(len(self._block_ptr), dtype=np.int64)
            np.cumsum(counts, out=ptr[1:])
            area = _Area(mask, key_mask, ptr, np.asarray(self._block_keys)[keep])
        if len(self._areas) > 64:
            self._areas.clear()
        self._areas[cache_key] = area
        return area

    # ------------------------------------------------------------------ index access

    def _key_id(self, key: str) -> int:
        if not key:
            return -1
        h = key_hash(key)
        i = int(np.searchsorted(self._key_hash, h))
        if i < len(self._key_hash) and self._key_hash[i] == h and self._keys[i].as_py() == key:
            return i
        return -1

    def _rows_for_key(self, key: str, area: _Area) -> np.ndarray:
        k = self._key_id(key)
        if k < 0:
            return np.zeros(0, dtype=np.int64)
        rows = np.asarray(self._key_rows[self._key_ptr[k]:self._key_ptr[k + 1]], dtype=np.int64)
        if area.row_mask is not None:
            rows = rows[area.row_mask[rows]]
        return rows

    def _name(self, row: int) -> str:
        return self._names[row].as_py()

    # ------------------------------------------------------------------ forward

    def lookup(
        self,
        text: str,
        *,
        force: str | None = None,
        within: tuple[float, float, float, float] | None = None,
        near: tuple[float, float] | None = None,
        limit: int = 5,
        fuzzy: bool = True,
    ) -> list[Match]:
        """Geocode a street or area name; best candidates first, ``[]`` when nothing matches.

        ``force`` restricts candidates to that force's area (registry box, or a boundary given to
        :meth:`set_force_boundary`); ``within`` to a BNG box (xmin, ymin, xmax, ymax); ``near``
        (lon, lat) prefers candidates close to a point and can settle an ambiguity.
        ``fuzzy=False`` answers only exact and normalised matches (no misspellings): cheaper,
        for checking a name rather than finding it.
        """
        area = self._area(force, within)
        near_xy = None
        if near is not None:
            nx, ny = to_bng(np.array([near[0]], float), np.array([near[1]], float))
            if not np.isnan(nx[0]):
                near_xy = (float(nx[0]), float(ny[0]))
        pq = parse_query(text)
        if not pq.key:
            return []
        if pq.junction is not None and not len(self._rows_for_key(pq.key, area)):
            found = self._junction(pq, area, near_xy, limit)
            if found:
                return found
        rows, scores, how, why = self._candidates(pq, area, fuzzy=fuzzy)
        if len(rows) == 0:
            return []
        return self._rank(pq, rows, scores, how, why, near_xy, limit)

    def _candidates(self, pq: ParsedQuery, area: _Area, *, fuzzy: bool = True
                    ) -> tuple[np.ndarray, np.ndarray, list, list]:
        """Candidate rows with base scores, match types and reasons, searched in order: the
        key, its alternatives, fuzzy names, then the trailing area or the postcode district.
        Generic place types ("Supermarket") are capped at GENERIC_MAX_SCORE."""
        rows, scores, how, why = self._search(pq, area, fuzzy)
        if len(rows):
            generic = self._generic_mask()[rows]
            if generic.any():
                scores = np.where(generic, np.minimum(scores, GENERIC_MAX_SCORE), scores)
                why = ["generic" if g else w for g, w in zip(generic.tolist(), why, strict=True)]
        return rows, scores, how, why

    def _search(self, pq: ParsedQuery, area: _Area, fuzzy: bool
                ) -> tuple[np.ndarray, np.ndarray, list, list]:
        rows = self._rows_for_key(pq.key, area)
        if len(rows):
            scores, how = self._key_scores(rows, self._row_raw_hash[rows] == key_hash(
                pq.name.strip()))
            return rows, scores, how.tolist(), [""] * len(rows)
        for alt in pq.alternatives:
            rows = self._rows_for_key(alt, area)
            if len(rows):
                is_area = AREA_LIKE[self.kind[rows]]
                how = np.where(is_area, "area", "normalised").tolist()
                return rows, np.full(len(rows), SCORES["alternative"]), how, [""] * len(rows)
        if pq.fuzzy_key != pq.key:  # "Fleet Stret": the name as written, a slip in its type
            rows = self._rows_for_key(pq.fuzzy_key, area)
            if len(rows):
                n = len(rows)
                return rows, np.full(n, FUZZY_SCORES["typo1"]), ["fuzzy"] * n, ["typo1"] * n
        if fuzzy:
            rows, scores, why = self._fuzzy(pq.fuzzy_key or pq.key, area)
            if len(rows):
                return rows, scores, ["fuzzy"] * len(rows), list(why)
        fallbacks = list(pq.areas)
        if pq.postcode:
            fallbacks.append(pq.postcode.lower())
        for a in fallbacks:  # the street is unknown; fall back to the trailing area
            rows = self._rows_for_key(a, area)
            rows = rows[np.isin(self.kind[rows], (KIND_AREA, KIND_POSTCODE))]
            if len(rows):
                n = len(rows)
                return rows, np.full(n, SCORES["area_fallback"]), ["area"] * n, [""] * n
        return np.zeros(0, np.int64), np.zeros(0), [], []

    def _generic_mask(self) -> np.ndarray:
        """Per row: its name is a generic place type (police.uk's "Supermarket", "Parking
        Area"...: one name, many places). Computed once."""
        if self._generic is None:
            from crimegeo.gazetteer.sources import POLICE_PUBLIC_PLACES

            ids = [k for k in (self._key_id(key) for key in POLICE_PUBLIC_PLACES) if k >= 0]
            self._generic = np.isin(np.asarray(self._row_key), np.array(ids, dtype=np.int64))
        return self._generic

    def _key_scores(self, rows: np.ndarray, exact: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Base score and match type of rows found by their canonical key (`exact`: the text
        is spelt as the row's name)."""
        is_area = AREA_LIKE[self.kind[rows]]
        scores = np.where(is_area, np.where(exact, SCORES["area_exact"], SCORES["area_normalised"]),
                          np.where(exact, SCORES["exact"], SCORES["normalised"]))
        return scores, np.where(is_area, "area", np.where(exact, "exact", "normalised"))

    def _fuzzy(self, key: str, area: _Area) -> tuple[np.ndarray, np.ndarray, list[str]]:
        """Rows of the best fuzzy keys (blocked by name and area), their scores and reasons."""
        if key not in area.fuzzy:
            self._fuzzy_many([key], area)
        return area.fuzzy[key]

    def _fuzzy_many(self, keys: Sequence[str], area: _Area, limit: int = 4) -> None:
        """Work out :meth:`_fuzzy` for many keys at once, into the area's memo.

        Blocking: each key's blocking hashes are looked up in one pass, and its candidates
        are the FUZZY_CANDIDATES keys of the area that share most blocks with it. All
        (key, candidate) pairs are then scored in two native calls, not two per key.
        """
        todo = [key for key in dict.fromkeys(keys) if key not in area.fuzzy]
        if not todo:
            return
        if len(area.fuzzy) > FUZZY_MEMO_MAX:
            area.fuzzy.clear()
        none = (np.zeros(0, np.int64), np.zeros(0), [])
        hashes = [_block_hashes(key) for key in todo]
        owner = np.repeat(np.arange(len(todo), dtype=np.int64), [len(h) for h in hashes])
        if not len(owner) or not len(self._block_hash):
            area.fuzzy.update(dict.fromkeys(todo, none))
            return
        wanted = np.concatenate(hashes)
        pos = np.minimum(np.searchsorted(self._block_hash, wanted), len(self._block_hash) - 1)
        known = self._block_hash[pos] == wanted
        owner, pos = owner[known], pos[known]
        starts, lengths = area.block_ptr[pos], area.block_ptr[pos + 1] - area.block_ptr[pos]
        # Every posting of every block, tagged with the key it is a candidate for.
        postings = np.repeat(starts - np.cumsum(lengths) + lengths, lengths) + np.arange(
            int(lengths.sum()))
        tagged = (np.repeat(owner, lengths) << 32) | area.block_keys[postings].astype(np.int64)
        tags, shared = np.unique(tagged, return_counts=True)  # by key, then candidate
        bounds = np.searchsorted(tags >> 32, np.arange(len(todo) + 1))
        candidate_keys = (tags & 0xFFFFFFFF).astype(area.block_keys.dtype)
        picked = []
        for lo, hi in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True):
            if hi - lo > FUZZY_CANDIDATES:  # the keys sharing most blocks
                top = np.argpartition(-shared[lo:hi], FUZZY_CANDIDATES - 1)[:FUZZY_CANDIDATES]
                picked.append(candidate_keys[lo:hi][top])
            else:
                picked.append(candidate_keys[lo:hi])
        sizes = [len(p) for p in picked]
        choices = self._key_texts(np.concatenate(picked))
        queries = [key for key, size in zip(todo, sizes, strict=True) for _ in range(size)]
        similarity = fuzzy_similarity_pairs(queries, choices)
        at = 0
        for key, cand, size in zip(todo, picked, sizes, strict=True):
            area.fuzzy[key] = self._fuzzy_rows(key, cand, similarity[at:at + size], area, limit)
            at += size

    def _fuzzy_rows(self, key: str, cand: np.ndarray, similarity: np.ndarray, area: _Area,
                    limit: int) -> tuple[np.ndarray, np.ndarray, list[str]]:
        """The rows, scores and reasons of the best candidate keys for `key`.

        The FUZZY_GRADED most similar keys above FUZZY_CUTOFF are graded by
        :func:`gazetteer.scoring.fuzzy_grade` (keyboard slips, street type dropped or changed).
        A key closer than every other by FUZZY_UNIQUE_MARGIN answers alone with its grade's
        calibrated score; otherwise its rivals, or for a `loose` best the keys within 6
        similarity points of it (at most `limit`), answer with a score capped at
        FUZZY_LOOSE_MAX, and ranking sees them all.
        """
        order = np.argsort(-similarity, kind="stable")[:FUZZY_GRADED]
        order = order[similarity[order] >= FUZZY_CUTOFF]
        if not len(order):
            return np.zeros(0, np.int64), np.zeros(0), []
        sims = similarity[order].astype(np.float64)
        texts = self._key_texts(cand[order])
        graded = [fuzzy_grade(key, t, float(v)) for t, v in zip(texts, sims.tolist(),
                                                                 strict=True)]
        costs = np.array([c for _, c in graded])
        best = int(np.argmin(costs))
        rivals = costs < costs[best] + FUZZY_UNIQUE_MARGIN
        if graded[best][0] != "loose" and rivals.sum() == 1:
            picked = np.array([best])
            key_scores = np.array([FUZZY_SCORES[graded[best][0]]])
            reasons = [graded[best][0]]
        else:  # rivals of a grade, else the names within 6 similarity points of the best
            close = rivals if graded[best][0] != "loose" else sims >= sims[0] - 6
            picked = np.flatnonzero(close)[:limit]
            key_scores = np.minimum(sims[picked] * (SCORES["fuzzy_max"] / 100.0),
                                    FUZZY_LOOSE_MAX)
            reasons = [graded[i][0] for i in picked.tolist()]
        ptr = self._key_ptr
        slices = [self._key_rows[ptr[k]:ptr[k + 1]] for k in cand[order[picked]].tolist()]
        rows = np.concatenate(slices).astype(np.int64)
        sizes = [len(x) for x in slices]
        scores = np.repeat(key_scores, sizes)
        why = [r for r, n in zip(reasons, sizes, strict=True) for _ in range(n)]
        keep = self.kind[rows] != KIND_POSTCODE
        if area.row_mask is not None:
            keep &= area.row_mask[rows]
        return rows[keep], scores[keep], [w for w, k in zip(why, keep.tolist(), strict=True) if k]

    def _needs_fuzzy(self, pq: ParsedQuery, area: _Area) -> bool:
        """Whether :meth:`_candidates` will match `pq` fuzzily: no feature in the area has its
        key or an alternative key."""
        if not pq.key or pq.junction is not None:
            return False
        for key in (pq.key, *pq.alternatives, pq.fuzzy_key):
            k = self._key_id(key)
            if k >= 0 and (area.key_mask is None or area.key_mask[k]):
                return False
        return True

    def _key_texts(self, key_ids: np.ndarray) -> list[str]:
        """The text of each key id, memoised: a force's few thousand names recur as fuzzy
        candidates query after query, and one Arrow take per query cost more than the match."""
        cache = self._key_text_cache
        ids = key_ids.tolist()
        missing = [i for i in ids if i not in cache]
        if missing:
            if len(cache) > KEY_TEXT_CACHE_MAX:
                cache.clear()
            cache.update(zip(missing, self._keys.take(pa.array(missing)).to_pylist(),
                             strict=True))
        return [cache[i] for i in ids]

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

    def _place_codes(self) -> np.ndarray:
        """Per row, a code of its populated place (-1 where none). Computed once."""
        if self._places is None:
            col = self.features.column("populated_place")
            if col.null_count == len(col):
                self._places = np.full(len(self), -1, dtype=np.int32)
            else:
                encoded = pc.dictionary_encode(col)
                if isinstance(encoded, pa.ChunkedArray):
                    encoded = encoded.combine_chunks()
                self._places = np.asarray(pc.fill_null(encoded.indices, -1), dtype=np.int32)
        return self._places

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
        pair, scored JUNCTION_SCORE_FACTOR x the weaker street's score, ``reason="junction"``.
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
        )

    def lookup_many(self, texts: Sequence[str], *, force: str | None = None,
                    fuzzy: bool = True) -> list[Match | None]:
        """Best match per text (None when nothing matches), deduplicating texts; batch-fast.

        Texts that equal exactly one feature's name (after "On or near") are answered with
        vectorised index look-ups; the rest go through :meth:`lookup` (with ``fuzzy`` as given).
        """
        uniq = list(dict.fromkeys(texts))
        area = self._area(force, None)
        answers: dict[str, Match | None] = {}
        hit, rows = self._exact_rows(uniq, area)
        for q, m in zip(hit.tolist(), self._matches_batch(rows), strict=True):
            answers[uniq[q]] = m
        if fuzzy:  # the misspelt names' candidates, all at once (see _fuzzy_many)
            self._fuzzy_many([pq.fuzzy_key for pq in (parse_query(t) for t in uniq
                                                if t and t not in answers)
                              if self._needs_fuzzy(pq, area)], area)
        by_query: dict[tuple, Match | None] = {}
        for t in uniq:
            if t in answers:
                continue
            pq = parse_query(t) if t else None
            memo = (pq.key, pq.areas, pq.junction, pq.postcode, pq.name) if pq else None
            if memo is not None and memo[:4] in by_query and by_query[memo[:4]] is not None:
                # Same canonical query, another spelling: same place; exact only if identical.
                m = by_query[memo[:4]]
                if m.reason:  # scored by what it is (generic, junction), not by spelling
                    pass
                elif m.name == pq.name and m.match_type == "normalised":
                    m = dataclasses.replace(m, match_type="exact", score=SCORES["exact"])
                elif m.name == pq.name and m.match_type == "area":
                    m = dataclasses.replace(m, score=max(m.score, SCORES["area_exact"]))
                answers[t] = m
                continue
            found = self.lookup(t, force=force, limit=1, fuzzy=fuzzy) if t else []
            answers[t] = found[0] if found else None
            m = answers[t]
            if memo is not None and m is not None and (
                m.match_type in ("normalised", "fuzzy")
                or (m.match_type == "area" and m.score < SCORES["area_exact"])
            ):
                # Depends on the canonical key only (exactness is re-checked on reuse).
                by_query[memo[:4]] = m
        return [answers[t] for t in texts]

    def _exact_rows(self, uniq: Sequence[str], area: _Area) -> tuple[np.ndarray, np.ndarray]:
        """Positions in `uniq` that name exactly one feature in the area, and those rows.

        A text is exact when, after "On or near", it is spelt as the raw name of the only
        feature of its key in the area. Within a force (a few thousand such names) this is
        answered in Arrow: one regex pass strips the texts and a hash look-up matches them.
        Arrow rebuilds that hash table on every call, so for a wider area (the whole country:
        millions of names) the texts are hashed one by one against the built index instead.
        """
        empty = np.zeros(0, np.int64)
        if not uniq or not len(self._key_ptr) > 1:
            return empty, empty
        sole_names = self._sole_names(area)
        if sole_names is None:
            return self._exact_rows_hashed(uniq, area)
        names, rows = sole_names
        if not len(rows):
            return empty, empty
        texts = pa.array(uniq, pa.string())
        stripped = pc.utf8_trim_whitespace(pc.replace_substring_regex(
            texts, pattern=PREFIX_PATTERN, replacement="", max_replacements=1))
        found = pc.index_in(stripped, value_set=names)
        valid = pc.is_valid(found)
        hit = np.flatnonzero(np.asarray(valid))
        return hit, rows[np.asarray(found.filter(valid), dtype=np.int64)]

    def _exact_rows_hashed(self, uniq: Sequence[str], area: _Area
                           ) -> tuple[np.ndarray, np.ndarray]:
        """`_exact_rows` through the built raw-name hash index, one text at a time."""
        empty = np.zeros(0, np.int64)
        if not len(self._raw_hash):
            return empty, empty
        sole = self._sole_rows(area)
        stripped = [strip_prefix(t) if t else "" for t in uniq]
        h = np.fromiter((key_hash(s) for s in stripped), dtype=np.int64, count=len(uniq))
        lo = np.minimum(np.searchsorted(self._raw_hash, h, "left"), len(self._raw_hash) - 1)
        hit = np.flatnonzero(self._raw_hash[lo] == h)
        if not len(hit):
            return empty, empty
        keys = np.asarray(self._row_key[self._raw_rows[lo[hit]]], dtype=np.int64)
        rows = sole[keys]
        ok = rows >= 0
        hit, rows = hit[ok], rows[ok]
        # exact: the only row of that name in the area is spelt as the text
        same = self._row_raw_hash[rows] == h[hit]
        hit, rows = hit[same], rows[same]
        names = self._names.take(pa.array(rows)).to_pylist()
        ok = np.array([names[i] == stripped[q] for i, q in enumerate(hit.tolist())], dtype=bool)
        return hit[ok], rows[ok]

    def _sole_names(self, area: _Area) -> tuple[pa.Array, np.ndarray] | None:
        """Raw names of the features alone with their key in the area, and their rows; None
        when there are more than ARROW_EXACT_MAX_NAMES. Cached on the area."""
        if area.sole_names is None:
            sole = self._sole_rows(area)
            if np.count_nonzero(sole >= 0) > ARROW_EXACT_MAX_NAMES:
                area.sole_names = False
            else:
                # The key comes from the raw name, so no two sole rows share one: each name
                # found has one answer.
                rows = sole[sole >= 0]
                area.sole_names = (self._names.take(pa.array(rows)), rows)
        return area.sole_names or None

    def lookup_arrays(self, texts: Sequence[str], *, force: str | None = None,
                      fuzzy: bool = True) -> dict[str, np.ndarray]:
        """Best match per text as columns, for batch work: what :meth:`lookup_many` finds.

        Returns arrays aligned with ``texts``: ``lon``, ``lat``, ``x_bng``, ``y_bng``,
        ``score`` (NaN where no match), ``match_type`` and ``id`` (the URI where there is one;
        object arrays, None where no match) and ``extent`` (n x 4, BNG). Texts that need no
        ranking (an exact name, or a canonical key with one feature in the area) are answered
        column-wise; only the rest build a :class:`Match` each.
        """
        uniq = list(dict.fromkeys(texts))
        k = len(uniq)
        out = {name: np.full(k, np.nan) for name in ("lon", "lat", "x_bng", "y_bng", "score")}
        out["match_type"] = np.full(k, None, dtype=object)
        out["id"] = np.full(k, None, dtype=object)
        out["extent"] = np.full((k, 4), np.nan)
        area = self._area(force, None)
        hit, rows = self._exact_rows(uniq, area)
        self._fill_columns(out, hit, rows, np.ones(len(hit), dtype=bool))
        rest = np.setdiff1d(np.arange(k), hit)
        if len(rest):
            found, rows, exact = self._sole_key_rows([uniq[i] for i in rest], area)
            self._fill_columns(out, rest[found], rows, exact)
            rest = np.delete(rest, found)
        if len(rest):
            matches = self.lookup_many([uniq[i] for i in rest], force=force, fuzzy=fuzzy)
            for i, m in zip(rest.tolist(), matches, strict=True):
                if m is None:
                    continue
                out["lon"][i], out["lat"][i], out["x_bng"][i], out["y_bng"][i] = (
                    m.lon, m.lat, m.x_bng, m.y_bng)
                out["score"][i], out["match_type"][i] = m.score, m.match_type
                out["id"][i] = m.uri or m.id
                if m.extent is not None:
                    out["extent"][i] = m.extent
        if len(uniq) == len(texts):
            return out
        position = {t: i for i, t in enumerate(uniq)}
        order = np.array([position[t] for t in texts], dtype=np.int64)
        return {name: values[order] for name, values in out.items()}

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

    def _sole_key_rows(self, texts: Sequence[str], area: _Area
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Positions in `texts` whose canonical key belongs to one feature in the area, that
        feature's row, and whether the text is spelt as its name.

        Only plain names qualify (no trailing area parts, not a junction): for them
        :meth:`lookup` has one candidate and nothing to rank, so the answer is that row. Keys
        are matched in one vectorised pass; most misspelt-case or abbreviated names end here.
        """
        empty = np.zeros(0, np.int64)
        if not texts or not len(self._key_hash):
            return empty, empty, np.zeros(0, dtype=bool)
        parsed = [parse_query(t) if t else None for t in texts]
        plain = [i for i, pq in enumerate(parsed)
                 if pq is not None and pq.key and not pq.areas and pq.junction is None]
        if not plain:
            return empty, empty, np.zeros(0, dtype=bool)
        keys = [parsed[i].key for i in plain]
        hashes = np.fromiter((key_hash(key) for key in keys), dtype=np.int64, count=len(keys))
        pos = np.minimum(np.searchsorted(self._key_hash, hashes), len(self._key_hash) - 1)
        rows = self._sole_rows(area)[pos]
        candidate = np.flatnonzero((self._key_hash[pos] == hashes) & (rows >= 0))
        # As `_key_id`: a hash hit counts only if the key text is the same.
        found_keys = self._keys.take(pa.array(pos[candidate])).to_pylist()
        same = np.array([found_keys[j] == keys[c] for j, c in enumerate(candidate.tolist())],
                        dtype=bool)
        candidate = candidate[same]
        rows = rows[candidate]
        name_hashes = np.fromiter((key_hash(parsed[plain[c]].name.strip())
                                   for c in candidate.tolist()), dtype=np.int64,
                                  count=len(candidate))
        exact = self._row_raw_hash[rows] == name_hashes
        return np.asarray(plain, dtype=np.int64)[candidate], rows, exact

    def _sole_rows(self, area: _Area) -> np.ndarray:
        """Per key, its only row within the area (-1 when none or several); cached."""
        if area.sole_row is None:
            n_keys = len(self._key_ptr) - 1
            if area.row_mask is None:
                counts = np.diff(self._key_ptr)
                sole = np.where(counts == 1, np.asarray(self._key_rows)[
                    np.minimum(self._key_ptr[:-1], max(len(self._key_rows) - 1, 0))], -1)
            else:
                if self._pair_key is None:
                    self._pair_key = np.repeat(np.arange(n_keys, dtype=np.int32),
                                               np.diff(self._key_ptr))
                inside = area.row_mask[self._key_rows]
                pk = self._pair_key[inside]
                counts = np.bincount(pk, minlength=n_keys)
                sole = np.full(n_keys, -1, dtype=np.int64)
                sole[pk] = np.asarray(self._key_rows)[inside]
                sole[counts != 1] = -1
            area.sole_row = sole.astype(np.int64)
        return area.sole_row

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

    # ------------------------------------------------------------------ reverse

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
