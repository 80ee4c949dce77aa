"""Restrictions and index access of a loaded gazetteer: a force's or a box's area (row and key
masks, blocking postings filtered to it), canonical keys to rows through the memory-mapped hash
index, and per-row facts computed once (generic place types, populated places, the one row of a
key in an area). Part of :class:`gazetteer.core.Gazetteer`; no Beam, no Prefect.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from crimegeo.gazetteer.geo import force_box_bng
from crimegeo.gazetteer.normalise import (
    key_hash,
)

#: Key texts kept for fuzzy matching before the memo starts again (a force's are a few thousand).
KEY_TEXT_CACHE_MAX = 500_000
#: Areas with more sole names than this match exact names through the hash index, not Arrow.
ARROW_EXACT_MAX_NAMES = 200_000


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
    #: Every key id of the area and its text, for a full scan (see CandidateSearch); False
    #: when the area has too many names to scan, None until first needed.
    scan: tuple | bool | None = None
    #: Each scan text's street type and the rest (see search._scan_types), once needed.
    scan_types: tuple[list[str], list[str]] | None = None
    #: The area's names by street type, then by how they sound (see
    #: CandidateSearch._sounds_of_kind): a type is coded when a text of it is first read by ear.
    sounds: dict[str, dict[str, list[int]]] | None = None
    #: The town areas named after a street in this area (see CandidateSearch._town_area).
    towns: dict[tuple[str, ...], _Area | None] = field(default_factory=dict)
    #: The area's rows, sorted, when it is given by rows rather than a mask (a town).
    rows: np.ndarray | None = None


class IndexAccess:
    """Areas and index look-ups, mixed into :class:`Gazetteer`."""

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

    def _key_texts(self, key_ids: np.ndarray) -> list[str]:
        """The text of each key id, memoised: a force's few thousand names recur as fuzzy
        candidates query after query, and one Arrow take per query cost more than the match."""
        cache = self._key_text_cache
        ids = key_ids.tolist()
        missing = [i for i in ids if i not in cache]
        if missing:
            if len(cache) + len(missing) > KEY_TEXT_CACHE_MAX:
                cache.clear()  # ...and every id of this call is missing now
                missing = list(dict.fromkeys(ids))
            cache.update(zip(missing, self._keys.take(pa.array(missing)).to_pylist(),
                             strict=True))
        return [cache[i] for i in ids]

    def _generic_mask(self) -> np.ndarray:
        """Per row: its name is a generic place type (police.uk's "Supermarket", "Parking
        Area"...: one name, many places). Computed once."""
        if self._generic is None:
            from crimegeo.gazetteer.sources import POLICE_PUBLIC_PLACES

            ids = [k for k in (self._key_id(key) for key in POLICE_PUBLIC_PLACES) if k >= 0]
            self._generic = np.isin(np.asarray(self._row_key), np.array(ids, dtype=np.int64))
        return self._generic

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

    def _rows_of_places(self, areas: tuple[str, ...]) -> np.ndarray:
        """Rows whose populated place is one of the normalised names `areas` (through the
        place codes sorted once: a town's rows without a pass over every row)."""
        if self._place_index is None:
            from crimegeo.gazetteer.normalise import normalise_name

            codes = self._place_codes()
            col = self.features.column("populated_place")
            names: list[str] = []
            if col.null_count < len(col):  # the same encoding as _place_codes'
                encoded = pc.dictionary_encode(col)
                if isinstance(encoded, pa.ChunkedArray):
                    encoded = encoded.combine_chunks()
                names = encoded.dictionary.to_pylist()
            order = np.argsort(codes, kind="stable")
            ptr = np.searchsorted(codes[order], np.arange(len(names) + 1))
            by_name: dict[str, list[int]] = {}
            for code, name in enumerate(names):
                by_name.setdefault(normalise_name(name), []).append(code)
            self._place_index = (order, ptr, by_name)
        order, ptr, by_name = self._place_index
        parts = [order[ptr[c]:ptr[c + 1]] for a in areas for c in by_name.get(a, ())]
        return np.concatenate(parts).astype(np.int64) if parts else np.zeros(0, np.int64)

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
