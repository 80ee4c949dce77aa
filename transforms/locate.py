"""Validate and correct supplied coordinates, then geocode by name what has no trustworthy point.

Pure array work on one batch (no Beam): every record leaves with the best location that can
honestly be given, its `location_status`, and the reason codes for every change or flag.
Distinct (force, text) pairs are geocoded once per batch, never once per record.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from crimegeo.standards import reasons
from crimegeo.standards.coordinates import BNG, WGS84, in_gb_bng, in_gb_lonlat, to_bng, to_lonlat
from crimegeo.standards.registry import load_registry
from crimegeo.standards.schema import (
    CANDIDATE_TYPE,
    LOCATION_STATUSES,
    MAX_CANDIDATES,
    RECORD_SCHEMA,
)
from crimegeo.transforms.areas import ForceBoundaries
from crimegeo.transforms.outputs import wkb_points

#: Reason codes a record can carry, in the order they are listed in `reasons`.
REASON_ORDER: tuple[str, ...] = (
    reasons.MISSING_COORDINATES, reasons.INVALID_COORDINATES, reasons.ZERO_COORDINATES,
    reasons.SWAPPED_AXES, reasons.BNG_IN_LONLAT, reasons.LONLAT_IN_BNG, reasons.OUTSIDE_GB,
    reasons.OUTSIDE_FORCE, reasons.FAR_FROM_STREET, reasons.GEOCODED_STREET,
    reasons.GEOCODED_AREA, reasons.GEOCODE_LOW_SCORE, reasons.GEOCODE_AMBIGUOUS,
    reasons.GEOCODE_NO_MATCH, reasons.NO_LOCATION_TEXT, reasons.NO_PUBLIC_POINT,
)
_BIT = {code: np.uint32(1 << i) for i, code in enumerate(REASON_ORDER)}
_CORRECTIONS = (reasons.SWAPPED_AXES, reasons.BNG_IN_LONLAT, reasons.LONLAT_IN_BNG)
_STATUS_NAMES = pa.array(LOCATION_STATUSES, pa.string())
_SUPPLIED, _CORRECTED, _GEOCODED_STREET, _GEOCODED_AREA, _UNLOCATED = (
    LOCATION_STATUSES.index(name) for name in (
        "supplied", "corrected", "geocoded_street", "geocoded_area", "unlocated"))

#: Location texts that say there is no location.
NO_LOCATION_TEXTS = frozenset({"no location", "unknown", "not known", "n/a", "none"})
_NO_LOCATION_VALUES = pa.array(sorted(NO_LOCATION_TEXTS), pa.string())


class NameGeocoder(Protocol):
    """What locating needs from a gazetteer (see `gazetteer.Gazetteer`)."""

    def lookup_arrays(self, texts: Sequence[str], *, force: str | None = None,
                      fuzzy: bool = True, candidates_below: float | None = None,
                      max_candidates: int = 3) -> dict[str, np.ndarray]: ...


@dataclass(frozen=True)
class LocateOptions:
    """Thresholds of the locating step (their defaults: `pipelines.settings.Locating`)."""

    #: Below this a gazetteer match is a suggestion in the feedback, not a location.
    min_geocode_score: float
    #: A supplied point further than this from the street its record names is flagged.
    far_from_street_m: float
    #: ...and moved to that street when the name match scores at least this.
    relocate_min_score: float = 0.9


@dataclass
class MatchArrays:
    """Best gazetteer match per row, as arrays (NaN / None where there was none)."""

    lon: np.ndarray
    lat: np.ndarray
    x: np.ndarray
    y: np.ndarray
    score: np.ndarray
    match_type: np.ndarray
    gazetteer_id: np.ndarray
    name: np.ndarray
    extent: np.ndarray  # (n, 4) BNG xmin, ymin, xmax, ymax; NaN where unknown
    #: Rows looked up with `candidates_below`: how many places were found where the answer
    #: is ambiguous, low or missing (-1 elsewhere), and up to three (name, id, x, y).
    candidate_count: np.ndarray
    candidates: np.ndarray

    @classmethod
    def empty(cls, n: int) -> MatchArrays:
        """No match for any of `n` rows."""
        return cls(lon=np.full(n, np.nan), lat=np.full(n, np.nan), x=np.full(n, np.nan),
                   y=np.full(n, np.nan), score=np.full(n, np.nan),
                   match_type=np.full(n, None, dtype=object),
                   gazetteer_id=np.full(n, None, dtype=object),
                   name=np.full(n, None, dtype=object), extent=np.full((n, 4), np.nan),
                   candidate_count=np.full(n, -1, dtype=np.int64),
                   candidates=np.full(n, None, dtype=object))

    @property
    def found(self) -> np.ndarray:
        """Rows with a match."""
        return ~np.isnan(self.score)


class ReasonBits:
    """Per-record reason codes held as bit masks, turned into lists once at the end."""

    def __init__(self, n: int) -> None:
        self.bits = np.zeros(n, dtype=np.uint32)

    def add(self, code: str, mask: np.ndarray) -> None:
        """Give `code` to the records where `mask` is true."""
        self.bits[mask] |= _BIT[code]

    def has(self, code: str) -> np.ndarray:
        """Where records carry `code`."""
        return (self.bits & _BIT[code]) != 0

    def to_arrow(self) -> pa.Array:
        """A list<string> array: each record's codes, in `REASON_ORDER`."""
        if len(self.bits) == 0:
            return pa.array([], pa.list_(pa.string()))
        unique, inverse = np.unique(self.bits, return_inverse=True)
        lists = [[code for code in REASON_ORDER if int(mask) & int(_BIT[code])]
                 for mask in unique]
        return pc.take(pa.array(lists, pa.list_(pa.string())), pa.array(inverse))


def append_reason(table: pa.Table, mask: np.ndarray, code: str) -> pa.Table:
    """`table` with `code` added at the end of the `reasons` of the records where `mask` is
    true (later steps flag a few records after locating has built the lists)."""
    if not mask.any():
        return table
    lists = table["reasons"].to_pylist()
    for row in np.flatnonzero(mask).tolist():
        lists[row] = [*lists[row], code]
    index = table.schema.get_field_index("reasons")
    return table.set_column(index, table.schema.field(index),
                            pa.array(lists, table.schema.field(index).type))


def _floats(column: pa.ChunkedArray | pa.Array) -> np.ndarray:
    return np.asarray(pc.fill_null(column, np.nan).to_numpy(zero_copy_only=False),
                      dtype=np.float64)


@dataclass(frozen=True)
class _Codes:
    """A string column as integer codes into its distinct values (-1 where null): a batch
    holds one or two forces and CRSs, and comparing integers beats comparing Python strings
    row by row."""

    codes: np.ndarray
    values: tuple[str, ...]

    @classmethod
    def of(cls, column: pa.ChunkedArray | pa.Array) -> _Codes:
        encoded = pc.dictionary_encode(column)
        if isinstance(encoded, pa.ChunkedArray):
            encoded = encoded.combine_chunks()
        codes = np.asarray(pc.fill_null(encoded.indices, -1), dtype=np.int32)
        return cls(codes, tuple(encoded.dictionary.to_pylist()))

    def equals(self, value: str) -> np.ndarray:
        """Where the column holds `value`."""
        return self.codes == (self.values.index(value) if value in self.values else -2)

    def take(self, rows: np.ndarray) -> _Codes:
        """The codes of `rows` only."""
        return _Codes(self.codes[rows], self.values)

    def present(self) -> list[str]:
        """The distinct values that occur (nulls left out)."""
        return [self.values[i] for i in np.unique(self.codes).tolist() if i >= 0]


def _without_no_location(column: pa.ChunkedArray | pa.Array) -> pa.Array:
    """The column with texts that say there is no location ("No Location") made null."""
    folded = pc.utf8_lower(pc.utf8_trim_whitespace(column))
    says_none = pc.fill_null(pc.is_in(folded, value_set=_NO_LOCATION_VALUES), False)
    result = pc.if_else(says_none, pa.scalar(None, pa.string()), column)
    return result.combine_chunks() if isinstance(result, pa.ChunkedArray) else result


def check_coordinates(
    sx: np.ndarray, sy: np.ndarray, crs: _Codes, invalid: np.ndarray, bits: ReasonBits
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Turn supplied coordinates into lon, lat, x, y (NaN where unusable), flagging defects."""
    n = len(sx)
    lon = np.full(n, np.nan)
    lat = np.full(n, np.nan)
    x = np.full(n, np.nan)
    y = np.full(n, np.nan)
    missing = np.isnan(sx) | np.isnan(sy)
    bits.add(reasons.INVALID_COORDINATES, missing & invalid)
    bits.add(reasons.MISSING_COORDINATES, missing & ~invalid)
    with np.errstate(invalid="ignore"):
        zero = ~missing & (np.abs(sx) < 1e-9) & (np.abs(sy) < 1e-9)
    bits.add(reasons.ZERO_COORDINATES, zero)
    usable = ~missing & ~zero
    declared_lonlat = usable & crs.equals(WGS84)
    declared_bng = usable & crs.equals(BNG)
    with np.errstate(invalid="ignore"):
        looks_degrees = (np.abs(sx) <= 180) & (np.abs(sy) <= 90)

    as_lonlat = declared_lonlat & in_gb_lonlat(sx, sy)
    swapped = declared_lonlat & ~as_lonlat & in_gb_lonlat(sy, sx)
    bng_in_lonlat = declared_lonlat & ~as_lonlat & ~swapped & ~looks_degrees & in_gb_bng(sx, sy)
    as_bng = declared_bng & ~looks_degrees & in_gb_bng(sx, sy)
    lonlat_in_bng = declared_bng & looks_degrees & in_gb_lonlat(sx, sy)
    bits.add(reasons.SWAPPED_AXES, swapped)
    bits.add(reasons.BNG_IN_LONLAT, bng_in_lonlat)
    bits.add(reasons.LONLAT_IN_BNG, lonlat_in_bng)

    from_lonlat = as_lonlat | swapped | lonlat_in_bng
    lon[as_lonlat | lonlat_in_bng] = sx[as_lonlat | lonlat_in_bng]
    lat[as_lonlat | lonlat_in_bng] = sy[as_lonlat | lonlat_in_bng]
    lon[swapped], lat[swapped] = sy[swapped], sx[swapped]
    if from_lonlat.any():
        x[from_lonlat], y[from_lonlat] = to_bng(lon[from_lonlat], lat[from_lonlat])
    from_bng = as_bng | bng_in_lonlat
    x[from_bng], y[from_bng] = sx[from_bng], sy[from_bng]
    if from_bng.any():
        lon[from_bng], lat[from_bng] = to_lonlat(x[from_bng], y[from_bng])
    # In the box but outside OSTN15's coverage (open sea) is outside Great Britain too.
    unconverted = np.isnan(x) | np.isnan(lon)
    bits.add(reasons.OUTSIDE_GB, usable & unconverted)
    lon[unconverted] = lat[unconverted] = x[unconverted] = y[unconverted] = np.nan
    return lon, lat, x, y


def _outside_force(forces: _Codes, lon: np.ndarray, lat: np.ndarray,
                   boundaries: ForceBoundaries | None = None) -> np.ndarray:
    """Where a point lies outside its force: its boundary when given, else its extent."""
    registry = load_registry()
    outside = np.zeros(len(forces.codes), dtype=bool)
    for code in forces.present():
        rows = forces.equals(code) & ~np.isnan(lon)
        if not rows.any():
            continue
        if boundaries is not None and boundaries.covers(code):
            x, y = to_bng(lon[rows], lat[rows])
            outside[rows] = boundaries.outside(code, x, y)
            continue
        if code not in registry:
            continue
        min_lon, min_lat, max_lon, max_lat = registry.get(code).extent_wgs84
        outside[rows] = ~((lon[rows] >= min_lon) & (lon[rows] <= max_lon)
                          & (lat[rows] >= min_lat) & (lat[rows] <= max_lat))
    return outside


def _unswap_outside(sx: np.ndarray, sy: np.ndarray, crs: _Codes, forces: _Codes,
                    outside: np.ndarray, bits: ReasonBits,
                    points: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
                    boundaries: ForceBoundaries | None = None) -> None:
    """Swap back axes that only show as wrong because the point lands outside its force.

    Swapped easting/northing both fall inside the grid's box, so they pass the Great Britain
    check; but the swapped point lands far from the force, and swapping back lands inside.
    """
    candidates = outside & ~bits.has(reasons.SWAPPED_AXES)
    if not candidates.any():
        return
    lon, lat, x, y = points
    rows = np.flatnonzero(candidates)
    swapped_lon = np.full(len(rows), np.nan)
    swapped_lat = np.full(len(rows), np.nan)
    swapped_x = sy[rows].copy()
    swapped_y = sx[rows].copy()
    bng = crs.take(rows).equals(BNG)
    if bng.any():
        swapped_lon[bng], swapped_lat[bng] = to_lonlat(swapped_x[bng], swapped_y[bng])
    degrees = ~bng
    if degrees.any():
        swapped_lon[degrees], swapped_lat[degrees] = sy[rows][degrees], sx[rows][degrees]
        swapped_x[degrees], swapped_y[degrees] = to_bng(swapped_lon[degrees],
                                                        swapped_lat[degrees])
    plausible = in_gb_lonlat(swapped_lon, swapped_lat) & ~np.isnan(swapped_x)
    fits = plausible & ~_outside_force(forces.take(rows), swapped_lon, swapped_lat, boundaries)
    fixed = rows[fits]
    lon[fixed], lat[fixed] = swapped_lon[fits], swapped_lat[fits]
    x[fixed], y[fixed] = swapped_x[fits], swapped_y[fits]
    mask = np.zeros(len(sx), dtype=bool)
    mask[fixed] = True
    bits.add(reasons.SWAPPED_AXES, mask)


def match_rows(geocoder: NameGeocoder | None, forces: pa.Array | pa.ChunkedArray,
               texts: pa.Array | pa.ChunkedArray, wanted: np.ndarray, *, fuzzy: bool = True,
               candidates_below: float | None = None,
               into: MatchArrays | None = None) -> MatchArrays:
    """The best match of each wanted row's (force, text), looked up once per distinct pair.

    `forces` and `texts` are the batch's string columns (null text: nothing to look up).
    `fuzzy=False` looks for exact and normalised names only; `candidates_below` also asks
    for the candidates of answers that are ambiguous, missing or score below it (for the
    feedback); `into` fills an existing result.
    """
    n = len(forces)
    result = into or MatchArrays.empty(n)
    if geocoder is None or n == 0:
        return result
    rows = np.flatnonzero(wanted & np.asarray(pc.is_valid(texts)) & np.asarray(
        pc.is_valid(forces)))
    if len(rows) == 0:
        return result
    taken = pa.array(rows)
    row_forces, row_texts = pc.take(forces, taken), pc.take(texts, taken)
    # A batch is usually one force's rows: group by force in Arrow, then by distinct text.
    for force in sorted(pc.unique(row_forces).to_pylist()):
        mine = np.asarray(pc.equal(row_forces, force))
        encoded = pc.dictionary_encode(pc.filter(row_texts, pa.array(mine)))
        if isinstance(encoded, pa.ChunkedArray):
            encoded = encoded.combine_chunks()
        names = encoded.dictionary.to_pylist()
        where = rows[mine]
        indices = encoded.indices.to_numpy()
        if candidates_below is None:
            found = geocoder.lookup_arrays(names, force=force, fuzzy=fuzzy)
        else:
            found = geocoder.lookup_arrays(names, force=force, fuzzy=fuzzy,
                                           candidates_below=candidates_below,
                                           max_candidates=MAX_CANDIDATES)
        for target, key in ((result.lon, "lon"), (result.lat, "lat"), (result.x, "x_bng"),
                            (result.y, "y_bng"), (result.score, "score"),
                            (result.match_type, "match_type"),
                            (result.gazetteer_id, "id"), (result.name, "name"),
                            (result.extent, "extent"),
                            (result.candidate_count, "candidate_count"),
                            (result.candidates, "candidates")):
            if key in found:
                target[where] = found[key][indices]
    return result


def distance_to_extent(x: np.ndarray, y: np.ndarray, matches: MatchArrays) -> np.ndarray:
    """Metres from each point to its matched feature's extent (or point when it has none)."""
    xmin, ymin, xmax, ymax = (matches.extent[:, i] for i in range(4))
    no_extent = np.isnan(xmin)
    xmin = np.where(no_extent, matches.x, xmin)
    xmax = np.where(no_extent, matches.x, xmax)
    ymin = np.where(no_extent, matches.y, ymin)
    ymax = np.where(no_extent, matches.y, ymax)
    dx = np.maximum(np.maximum(xmin - x, 0), x - xmax)
    dy = np.maximum(np.maximum(ymin - y, 0), y - ymax)
    return np.hypot(dx, dy)


@dataclass
class _Locations:
    """One batch's working state while it is located: each phase reads and updates it."""

    bits: ReasonBits
    lon: np.ndarray
    lat: np.ndarray
    x: np.ndarray
    y: np.ndarray
    #: Codes into LOCATION_STATUSES until the table is built: comparing and assigning Python
    #: strings row by row cost ~0.2 s over a national month.
    status: np.ndarray
    has_point: np.ndarray
    outside: np.ndarray
    corrected: np.ndarray
    match_type: np.ndarray | None = None
    score: np.ndarray | None = None
    gazetteer_id: np.ndarray | None = None
    matched_name: np.ndarray | None = None
    #: The kept match's candidate count and candidates (see MatchArrays).
    candidate_count: np.ndarray | None = None
    candidates: np.ndarray | None = None

    def place(self, rows: np.ndarray, matches: MatchArrays) -> None:
        """Give `rows` the matched points."""
        for target, source in ((self.lon, matches.lon), (self.lat, matches.lat),
                               (self.x, matches.x), (self.y, matches.y)):
            target[rows] = source[rows]


def locate(parsed: pa.Table, geocoder: NameGeocoder | None, options: LocateOptions,
           boundaries: ForceBoundaries | None = None) -> pa.Table:
    """Validate, correct and geocode one parsed batch; returns a RECORD_SCHEMA table.

    The phases, in order: check and correct the supplied points; geocode by street name
    (and check supplied points against the street they name); geocode by area name what is
    still without a point; say why the rest has none. Public columns are left empty here:
    the anonymising step fills them.
    """
    state = _check_points(parsed, boundaries)
    streets = _without_no_location(parsed["street_name"])
    areas = _without_no_location(parsed["area_name"])
    has_street = np.asarray(pc.is_valid(streets), dtype=bool)
    has_area = np.asarray(pc.is_valid(areas), dtype=bool)
    has_text = has_street | has_area
    needs_geocode = ~state.has_point | state.outside
    state.bits.add(reasons.NO_LOCATION_TEXT, ~state.has_point & ~has_text)
    street_rows = _geocode_streets(state, parsed, geocoder, options, streets, has_street,
                                   needs_geocode)
    pending = needs_geocode & has_text & ~street_rows
    pending = _geocode_areas(state, parsed, geocoder, options, areas, pending & has_area,
                             pending)
    _explain_unlocated(state, pending)
    return _record_table(parsed, state)


def _check_points(parsed: pa.Table, boundaries: ForceBoundaries | None) -> _Locations:
    """Phase 1: the supplied points, checked and corrected where the defect is known."""
    n = parsed.num_rows
    bits = ReasonBits(n)
    sx, sy = _floats(parsed["supplied_x"]), _floats(parsed["supplied_y"])
    crs = _Codes.of(parsed["supplied_crs"])
    invalid = np.asarray(pc.fill_null(parsed["coordinates_invalid"], False), dtype=bool)
    lon, lat, x, y = check_coordinates(sx, sy, crs, invalid, bits)
    forces = _Codes.of(parsed["force"])
    has_point = ~np.isnan(lon)
    outside = has_point & _outside_force(forces, lon, lat, boundaries)
    _unswap_outside(sx, sy, crs, forces, outside, bits, (lon, lat, x, y), boundaries)
    has_point = ~np.isnan(lon)
    outside = has_point & _outside_force(forces, lon, lat, boundaries)
    bits.add(reasons.OUTSIDE_FORCE, outside)
    corrected = np.zeros(n, dtype=bool)
    for code in _CORRECTIONS:
        corrected |= bits.has(code)
    status = np.where(has_point, np.where(corrected, _CORRECTED, _SUPPLIED), _UNLOCATED
                      ).astype(np.int8)
    return _Locations(bits, lon, lat, x, y, status, has_point, outside, corrected)


def _geocode_streets(state: _Locations, parsed: pa.Table, geocoder: NameGeocoder | None,
                     options: LocateOptions, streets: pa.ChunkedArray,
                     has_street: np.ndarray, needs_geocode: np.ndarray) -> np.ndarray:
    """Phase 2: locate by street name; returns the rows placed on their street.

    One look-up per distinct (force, street) for every record that names a street: it
    locates what has no point (fuzzy: misspellings are found), and checks the points that
    were supplied (exact and normalised names only: a guess cannot overrule a point).
    """
    matches = match_rows(geocoder, parsed["force"], streets, has_street & needs_geocode,
                         candidates_below=options.min_geocode_score)
    match_rows(geocoder, parsed["force"], streets, has_street & ~needs_geocode, fuzzy=False,
               into=matches)
    state.match_type = matches.match_type.copy()
    state.score = matches.score.copy()
    state.gazetteer_id = matches.gazetteer_id.copy()
    state.matched_name = matches.name.copy()
    state.candidate_count = matches.candidate_count.copy()
    state.candidates = matches.candidates.copy()

    # A supplied point far from the street its record names.
    ambiguous = matches.match_type == "ambiguous"
    usable = matches.found & ~ambiguous & (matches.score >= options.min_geocode_score)
    checkable = state.has_point & ~needs_geocode & usable
    with np.errstate(invalid="ignore"):
        far = checkable & (distance_to_extent(state.x, state.y, matches)
                           > options.far_from_street_m)
    state.bits.add(reasons.FAR_FROM_STREET, far)
    relocate = far.copy()
    far_rows = np.flatnonzero(far)
    relocate[far_rows] = (matches.score[far_rows] >= options.relocate_min_score) & (
        np.isin(matches.match_type[far_rows], ("exact", "normalised")))
    # Records whose street the supplied point does not confirm keep their match as the
    # suggestion; the others carry no geocode fields.
    unused = state.has_point & ~needs_geocode & ~far
    state.match_type[unused], state.score[unused], state.gazetteer_id[unused] = (
        None, np.nan, None)
    state.matched_name[unused] = None

    rows = (needs_geocode & usable) | relocate
    is_area_match = matches.match_type == "area"
    state.place(rows, matches)
    state.status[rows & ~is_area_match] = _GEOCODED_STREET
    state.status[rows & is_area_match] = _GEOCODED_AREA
    state.bits.add(reasons.GEOCODED_STREET, rows & ~is_area_match)
    state.bits.add(reasons.GEOCODED_AREA, rows & is_area_match)
    return rows


def _geocode_areas(state: _Locations, parsed: pa.Table, geocoder: NameGeocoder | None,
                   options: LocateOptions, areas: pa.ChunkedArray, lookup: np.ndarray,
                   pending: np.ndarray) -> np.ndarray:
    """Phase 3: what still has no usable point tries its area name; returns what is left."""
    matches = match_rows(geocoder, parsed["force"], areas, lookup,
                         candidates_below=options.min_geocode_score)
    better = pending & matches.found & (np.isnan(state.score)
                                        | (matches.score > state.score))
    for name in ("match_type", "score", "gazetteer_id", "candidate_count", "candidates"):
        getattr(state, name)[better] = getattr(matches, name)[better]
    state.matched_name[better] = matches.name[better]
    # A record known by its area alone that matched nothing: its count (0) still says so.
    first_look = pending & (state.candidate_count < 0) & (matches.candidate_count >= 0)
    state.candidate_count[first_look] = matches.candidate_count[first_look]
    state.candidates[first_look] = matches.candidates[first_look]
    rows = pending & matches.found & (matches.match_type != "ambiguous") & (
        matches.score >= options.min_geocode_score)
    state.place(rows, matches)
    state.status[rows] = _GEOCODED_AREA
    state.bits.add(reasons.GEOCODED_AREA, rows)
    return pending & ~rows


def _explain_unlocated(state: _Locations, pending: np.ndarray) -> None:
    """Phase 4: what is still pending found no usable match: say why."""
    ambiguous = pending & (state.match_type == "ambiguous")
    state.bits.add(reasons.GEOCODE_AMBIGUOUS, ambiguous)
    state.bits.add(reasons.GEOCODE_LOW_SCORE, pending & ~ambiguous & ~np.isnan(state.score))
    state.bits.add(reasons.GEOCODE_NO_MATCH, pending & np.isnan(state.score))
    # Only records left unlocated by their name carry candidates (what the force can fix).
    state.candidate_count[~pending] = -1
    # A point outside its force that could not be re-located is kept, flagged, not dropped.
    outside_kept = state.outside & pending
    state.status[outside_kept] = np.where(state.corrected[outside_kept], _CORRECTED,
                                          _SUPPLIED)


def _floats_or_null(values: np.ndarray) -> pa.Array:
    return pa.array(values, pa.float64(), mask=np.isnan(values))


def _candidate_lists(state: _Locations) -> pa.Array:
    """Each record's candidates with their distance from its own point (where it has one);
    null where it has no candidate count. A Python loop over the few unlocated rows only."""
    n = len(state.candidate_count)
    lists: list[list[dict] | None] = [None] * n
    for row in np.flatnonzero(state.candidate_count >= 0).tolist():
        has_point = not np.isnan(state.x[row])
        lists[row] = [{"name": name, "gazetteer_id": gazetteer_id,
                       "distance_m": round(float(np.hypot(x - state.x[row], y - state.y[row])), 1)
                       if has_point else None}
                      for name, gazetteer_id, x, y in state.candidates[row] or ()]
    return pa.array(lists, pa.list_(CANDIDATE_TYPE))


def _record_table(parsed: pa.Table, state: _Locations) -> pa.Table:
    """The located batch as a RECORD_SCHEMA table."""
    n = parsed.num_rows
    lon, lat = state.lon, state.lat
    point_unchanged = pa.array((state.status == _SUPPLIED) & ~state.outside)
    no_name = pa.scalar(None, pa.string())
    columns = {
        "crime_id": parsed["crime_id"], "month": parsed["month"], "force": parsed["force"],
        "crime_type": parsed["crime_type"], "outcome": parsed["outcome"],
        "context": parsed["context"], "location_text": parsed["location_text"],
        "street_name": parsed["street_name"], "area_name": parsed["area_name"],
        "supplied_x": parsed["supplied_x"], "supplied_y": parsed["supplied_y"],
        "supplied_crs": parsed["supplied_crs"],
        "lon": _floats_or_null(lon), "lat": _floats_or_null(lat),
        "x_bng": _floats_or_null(np.round(state.x, 3)),
        "y_bng": _floats_or_null(np.round(state.y, 3)),
        "location_status": _STATUS_NAMES.take(pa.array(state.status)),
        "match_type": pa.array(state.match_type, pa.string()),
        "geocode_score": _floats_or_null(state.score),
        "gazetteer_id": pa.array(state.gazetteer_id, pa.string()),
        "matched_name": pa.array(state.matched_name, pa.string()),
        "candidate_count": pa.array(state.candidate_count, pa.int32(),
                                    mask=state.candidate_count < 0),
        "candidates": _candidate_lists(state),
        "lsoa_code": pc.if_else(point_unchanged, parsed["supplied_lsoa_code"], no_name),
        "lsoa_name": pc.if_else(point_unchanged, parsed["supplied_lsoa_name"], no_name),
        "supplied_lsoa_code": parsed["supplied_lsoa_code"],
        "public_label": pa.nulls(n, pa.string()),
        "public_lon": pa.nulls(n, pa.float64()), "public_lat": pa.nulls(n, pa.float64()),
        "reasons": state.bits.to_arrow(),
        "source_file": parsed["source_file"], "source_row": parsed["source_row"],
        "geometry": wkb_points(lon, lat),
    }
    return pa.table(columns, schema=RECORD_SCHEMA)
