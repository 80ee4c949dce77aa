"""The loaded gazetteer: one small public facade over the parts of a search.

A :class:`Gazetteer` memory-maps the artifact a build wrote (features as Arrow IPC, indexes as
``.npy``, the persistent R-tree), so loading is fast and light and several worker processes share
the same pages. Features stay in Arrow/numpy columns; a feature is a row number.

A forward lookup goes through the same stages whether it comes from :meth:`Gazetteer.lookup`,
:meth:`Gazetteer.lookup_many` or :meth:`Gazetteer.lookup_arrays` (the batch calls answer exact
and one-feature names column-wise with the same scores, and send every other text through
``lookup``), split the way mature geocoders split search:

* query analysis: :func:`gazetteer.normalise.parse_query` (shorthand, house numbers, postcode
  and area hints, junctions, canonical key);
* areas and index access: :mod:`gazetteer.index` (force and box restrictions, key -> rows);
* candidate search: :mod:`gazetteer.search` (exact, normalised, alternatives, fuzzy, area);
* ranking and scoring: :mod:`gazetteer.ranking` (places, hints, ambiguity) with the evidence
  scores of :mod:`gazetteer.scoring`, mapped to calibrated scores by
  :mod:`gazetteer.calibration` at this facade (every public answer, one place);
* junctions: :mod:`gazetteer.junctions`;
* reverse: :mod:`gazetteer.reverse` (point -> "On or near <name>", nearest public map points).

No Beam, no Prefect.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import shutil
import tempfile
import threading
from collections.abc import Sequence
from typing import Any

import fsspec
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from crimegeo.gazetteer.build import ARTIFACT_FORMAT
from crimegeo.gazetteer.calibration import Calibration, default_calibration
from crimegeo.gazetteer.geo import to_bng
from crimegeo.gazetteer.index import IndexAccess, _Area
from crimegeo.gazetteer.junctions import Junctions
from crimegeo.gazetteer.model import GazetteerError, Match
from crimegeo.gazetteer.normalise import (
    name_rules_fingerprint,
    name_rules_state,
    parse_query,
)
from crimegeo.gazetteer.ranking import Ranking
from crimegeo.gazetteer.reverse import Reverse
from crimegeo.gazetteer.scoring import SCORES
from crimegeo.gazetteer.search import (  # noqa: F401  (re-exported: benchmarks, callers)
    FUZZY_CUTOFF,
    CandidateSearch,
    _block_hashes,
    fuzzy_similarity,
    fuzzy_similarity_pairs,
)

__all__ = ["Gazetteer", "SCORES", "fuzzy_similarity"]

_log = logging.getLogger(__name__)


def _cache_dir() -> str:
    return os.environ.get(
        "CRIMEGEO_CACHE", os.path.join(os.path.expanduser("~"), ".cache", "crimegeo")
    )


class Gazetteer(IndexAccess, CandidateSearch, Ranking, Junctions, Reverse):
    """A built gazetteer, memory-mapped. Create with :meth:`Gazetteer.load`.

    Public: :meth:`load`, :meth:`read_manifest`, :meth:`lookup`, :meth:`lookup_many`,
    :meth:`lookup_arrays`, :meth:`show`, :meth:`reverse`, :meth:`nearest_public_points`,
    :meth:`public_labels`, :meth:`rows_in_box`, :meth:`set_force_boundary`; the stages behind
    them live in the mixed-in classes of the modules named above.
    """

    def __init__(self, path: str, manifest: dict) -> None:
        """Open the artifact folder ``path`` (use :meth:`load`, which also handles URLs)."""
        self.path = path
        self.manifest = manifest
        self.checksum: str = manifest["checksum"]
        #: Whether its keys were made by the name rules of this code (None: not recorded, a
        #: gazetteer built before the rules were fingerprinted). When False, names written as
        #: the gazetteer has them still match; a name an abbreviation added since would
        #: expand may not: rebuild it (``crimegeo gazetteer build``).
        rules = name_rules_state(manifest.get("name_rules"))
        self.name_rules_current: bool | None = (
            None if rules == "unrecorded" else rules == "current")
        if self.name_rules_current is False:
            _log.warning("%s was built by other name rules (%s, this code reads names as %s): "
                         "rebuild it with `crimegeo gazetteer build` so every name matches",
                         path, manifest["name_rules"], name_rules_fingerprint())
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
        self._settlement_keys_cache: frozenset[str] | None = None  # see _settlement_keys
        self._boundaries: dict[str, Any] = {}
        self._pair_key: np.ndarray | None = None
        self._block_of_posting: np.ndarray | None = None
        self._generic: np.ndarray | None = None
        self._places: np.ndarray | None = None
        self._place_index: tuple | None = None
        #: evidence score -> calibrated score (replace to evaluate another table)
        self.calibration: Calibration = default_calibration()

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


    # ------------------------------------------------------------------ forward

    def show(self, feature_id: str) -> list[dict]:
        """The features an answer's id names, as plain dicts (every column but the internal
        ``key`` and ``kind``): a feature id ("policeuk:...", an OS id), an OS ``NAMES_URI``, or a
        junction's "idA|idB" (both features). ``[]`` when none matches."""
        wanted = [part.strip() for part in feature_id.split("|") if part.strip()]
        if not wanted:
            return []
        values = pa.array(wanted, pa.string())
        hit = pc.or_(pc.is_in(self._ids, value_set=values),
                     pc.fill_null(pc.is_in(self._uris, value_set=values), False))
        rows = self.features.filter(hit)
        keep = [c for c in rows.column_names if c not in ("key", "kind")]
        found = rows.select(keep).to_pylist()
        order = {v: i for i, v in enumerate(wanted)}
        return sorted(found, key=lambda r: min(order.get(r["id"], 99), order.get(r["uri"], 99)))

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
        return self.calibration.matches(self._lookup_evidence(
            text, force=force, within=within, near=near, limit=limit, fuzzy=fuzzy))

    def _lookup_evidence(
        self,
        text: str,
        *,
        force: str | None = None,
        within: tuple[float, float, float, float] | None = None,
        near: tuple[float, float] | None = None,
        limit: int = 5,
        fuzzy: bool = True,
    ) -> list[Match]:
        """:meth:`lookup` before calibration: candidates scored by their evidence."""
        area = self._area(force, within)
        near_xy = None
        if near is not None:
            nx, ny = to_bng(np.array([near[0]], float), np.array([near[1]], float))
            if not np.isnan(nx[0]):
                near_xy = (float(nx[0]), float(ny[0]))
        return self._lookup_parsed([parse_query(text)], area, near_xy, limit, fuzzy)[0]

    def _lookup_parsed(self, parsed: Sequence[Any], area: _Area,
                       near_xy: tuple[float, float] | None, limit: int, fuzzy: bool
                       ) -> list[list[Match]]:
        """:meth:`_lookup_evidence` of many parsed texts (before calibration): the one forward
        path. Each text's candidates are searched on their own; all of them are ranked
        together (:meth:`_rank_many`)."""
        answers: list[list[Match]] = [[] for _ in parsed]
        searched, at = [], []
        for i, pq in enumerate(parsed):
            if not pq.key:
                continue
            # a junction unless the whole text is a name; "Cheapside (junction with Wood
            # Street)" names its first street as a part of its own
            if pq.junction is not None and (pq.key == pq.junction[0]
                                            or not len(self._rows_for_key(pq.key, area))):
                found = self._junction(pq, area, near_xy, limit)
                if found:
                    answers[i] = found
                    continue
            elif pq.slash_junction is not None and not len(self._rows_for_key(pq.key, area)):
                # "Cornhill/Bishopsgate": two streets only if they meet (see ParsedQuery)
                found = self._junction(dataclasses.replace(pq, junction=pq.slash_junction),
                                       area, near_xy, limit)
                # ...or, when both are streets the area knows, the first with junction_not_met
                both_known = all(len(self._rows_for_key(k, area)) for k in pq.slash_junction)
                if found and (found[0].reason == "junction" or both_known):
                    answers[i] = found
                    continue
            rows, scores, how, why = self._candidates(pq, area, fuzzy=fuzzy)
            if len(rows):
                searched.append((pq, rows, scores, how, why))
                at.append(i)
        for i, found in zip(at, self._rank_many(searched, near_xy, limit), strict=True):
            answers[i] = found
        return answers

    def lookup_many(self, texts: Sequence[str], *, force: str | None = None,
                    fuzzy: bool = True) -> list[Match | None]:
        """Best match per text (None when nothing matches), deduplicating texts; batch-fast.

        Texts that equal exactly one feature's name (after "On or near") are answered with
        vectorised index look-ups; the rest go through :meth:`lookup` (with ``fuzzy`` as given).
        """
        uniq = list(dict.fromkeys(texts))
        hit, rows = self._exact_rows(uniq, self._area(force, None))
        best: dict[str, Match] = dict(zip([uniq[q] for q in hit.tolist()],
                                          self._matches_batch(rows), strict=True))
        if len(best) < len(uniq):
            rest = [t for t in uniq if t not in best]
            answers = self._answers(rest, force=force, fuzzy=fuzzy, limit=1)
            best.update((t, found[0]) for t, found in answers.items() if found)
        return [best.get(t) for t in texts]

    def _answers(self, texts: Sequence[str], *, force: str | None, fuzzy: bool, limit: int
                 ) -> dict[str, list[Match]]:
        """The candidates, best first (at most ``limit``), of each distinct text that is not
        exactly one feature's name (``_exact_rows``, which each caller answers first): the one
        path behind :meth:`lookup_many` and :meth:`lookup_arrays`."""
        uniq = list(dict.fromkeys(texts))
        area = self._area(force, None)
        evidence: dict[str, list[Match]] = {}  # before calibration
        if fuzzy:  # the misspelt names' candidates, all at once (see _fuzzy_many)
            needing = [pq for pq in (parse_query(t) for t in uniq if t)
                       if self._needs_fuzzy(pq, area)]
            self._fuzzy_many([key for pq in needing for key in dict.fromkeys(
                (pq.key, pq.fuzzy_key)) if key], area)
        # Each canonical query is looked up once, all of them together; another spelling of
        # one is answered from the first (below), or looked up on its own where it cannot be.
        parsed = {t: parse_query(t) for t in uniq if t}

        def canonical(pq: Any) -> tuple:  # what a lookup depends on, not the spelling
            return (pq.key, pq.areas, pq.junction, pq.postcode, pq.whole, pq.near_later,
                    pq.camera, pq.postcode_unit, pq.near_names)

        firsts: dict[tuple, str] = {}
        for t, pq in parsed.items():
            firsts.setdefault(canonical(pq), t)
        looked_up = dict(zip(firsts.values(), self._lookup_parsed(
            [parsed[t] for t in firsts.values()], area, None, limit, fuzzy), strict=True))
        by_query: dict[tuple, list[Match]] = {}
        for t in uniq:
            pq = parsed.get(t)
            memo = canonical(pq) if pq else None
            if memo is not None and memo in by_query:
                # Same canonical query, another spelling: same place; exact only if identical.
                m, *others = by_query[memo]
                if m.reason:  # scored by what it is (generic, junction), not by spelling
                    pass
                elif m.name == pq.name and m.match_type == "normalised":
                    m = dataclasses.replace(m, match_type="exact", score=SCORES["exact"])
                elif m.name == pq.name and m.match_type == "area":
                    m = dataclasses.replace(m, score=max(m.score, SCORES["area_exact"]))
                evidence[t] = [m, *others]
                continue
            if pq is None:
                found = []
            elif t in looked_up:
                found = looked_up[t]
            else:
                found = self._lookup_parsed([pq], area, None, limit, fuzzy)[0]
            evidence[t] = found
            m = found[0] if found else None
            if memo is not None and m is not None and (
                m.match_type in ("normalised", "fuzzy")
                or (m.match_type == "area" and m.score < SCORES["area_exact"])
            ):
                # Depends on the canonical key only (exactness is re-checked on reuse).
                by_query[memo] = found
        return {t: self.calibration.matches(found) for t, found in evidence.items()}

    def lookup_arrays(self, texts: Sequence[str], *, force: str | None = None,
                      fuzzy: bool = True, candidates_below: float | None = None,
                      max_candidates: int = 3) -> dict[str, np.ndarray]:
        """Best match per text as columns, for batch work: what :meth:`lookup_many` finds.

        Returns arrays aligned with ``texts``: ``lon``, ``lat``, ``x_bng``, ``y_bng``,
        ``score`` (NaN where no match), ``match_type``, ``id`` (the URI where there is one) and
        ``name`` (the matched feature's name; object arrays, None where no match) and ``extent``
        (n x 4, BNG). Texts that need no ranking (an exact name, or a canonical key with one
        feature in the area) are answered column-wise; only the rest build a :class:`Match`.

        With ``candidates_below``, texts whose answer is ambiguous, scores below it, or is
        missing also get ``candidate_count`` (how many distinct places were found:
        :attr:`Match.places`, 0 when none) and ``candidates`` (a tuple of up to
        ``max_candidates`` ``(name, id, x_bng, y_bng)``, best first): what a force needs to
        put the text right. Elsewhere ``candidate_count`` is -1 and ``candidates`` None.
        """
        uniq = list(dict.fromkeys(texts))
        k = len(uniq)
        out = {name: np.full(k, np.nan) for name in ("lon", "lat", "x_bng", "y_bng", "score")}
        for name in ("match_type", "id", "name"):
            out[name] = np.full(k, None, dtype=object)
        out["extent"] = np.full((k, 4), np.nan)
        wanted = candidates_below is not None
        if wanted:
            out["candidate_count"] = np.full(k, -1, dtype=np.int64)
            out["candidates"] = np.full(k, None, dtype=object)
        area = self._area(force, None)
        hit, rows = self._exact_rows(uniq, area)
        self._fill_columns(out, hit, rows, np.ones(len(hit), dtype=bool))
        self._calibrate_columns(out, hit, rows)
        rest = np.setdiff1d(np.arange(k), hit)
        if len(rest):
            found, rows, exact = self._sole_key_rows([uniq[i] for i in rest], area)
            self._fill_columns(out, rest[found], rows, exact)
            self._calibrate_columns(out, rest[found], rows)
            rest = np.delete(rest, found)
        if wanted:  # a sole feature scored low (a generic type known at one place)
            low = np.flatnonzero(out["score"] < candidates_below)
            for i in low.tolist():
                out["candidate_count"][i] = 1
                out["candidates"][i] = ((out["name"][i], out["id"][i], float(out["x_bng"][i]),
                                         float(out["y_bng"][i])),)
        if len(rest):
            answers = self._answers([uniq[i] for i in rest], force=force, fuzzy=fuzzy,
                                    limit=max_candidates if wanted else 1)
            for i in rest.tolist():
                found_matches = answers[uniq[i]]
                if not found_matches:
                    if wanted:
                        out["candidate_count"][i], out["candidates"][i] = 0, ()
                    continue
                m = found_matches[0]
                out["lon"][i], out["lat"][i], out["x_bng"][i], out["y_bng"][i] = (
                    m.lon, m.lat, m.x_bng, m.y_bng)
                out["score"][i], out["match_type"][i] = m.score, m.match_type
                out["id"][i], out["name"][i] = m.uri or m.id, m.name
                if m.extent is not None:
                    out["extent"][i] = m.extent
                if wanted and (m.match_type == "ambiguous" or m.score < candidates_below):
                    out["candidate_count"][i] = m.places
                    out["candidates"][i] = tuple(
                        (c.name, c.uri or c.id, c.x_bng, c.y_bng)
                        for c in found_matches[:max_candidates])
        if len(uniq) == len(texts):
            return out
        position = {t: i for i, t in enumerate(uniq)}
        order = np.array([position[t] for t in texts], dtype=np.int64)
        return {name: values[order] for name, values in out.items()}

    def _calibrate_columns(self, out: dict[str, np.ndarray], at: np.ndarray,
                           rows: np.ndarray) -> None:
        """Calibrate the column-wise answers ``_fill_columns`` wrote at ``at`` (the features
        ``rows``), as :meth:`lookup` calibrates a ``Match`` of the same kind."""
        if len(at):
            reasons = np.where(self._generic_mask()[rows], "generic", "")
            out["score"][at] = self.calibration.scores(out["score"][at], out["match_type"][at],
                                                       reasons)
