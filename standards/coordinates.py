"""Coordinate reference systems of the location standard and conversion between them.

The standard carries every point twice: WGS84 longitude/latitude (EPSG:4326) and British
National Grid easting/northing (EPSG:27700). Conversion uses Ordnance Survey's OSTN15
transformation through `convertbng`, which carries the grid itself, so it is sub-metre offline;
pyproj without its downloadable grid silently falls back to a Helmert fit about 1.8 m off.
Must not import Beam or Prefect.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib.metadata import version
from importlib.resources import files

import numpy as np
from convertbng.cutil import convert_bng, convert_lonlat

WGS84 = "EPSG:4326"
BNG = "EPSG:27700"

#: Named in every run manifest so a reader knows how BNG values were produced.
TRANSFORMATION = f"OSTN15 via convertbng {version('convertbng')}"

#: Great Britain and its islands, with a small margin, in each CRS.
GB_LONLAT_BOUNDS = (-8.82, 49.75, 1.92, 61.0)
GB_BNG_BOUNDS = (0.0, 0.0, 700_000.0, 1_300_000.0)


@lru_cache(maxsize=1)
def crs84_projjson() -> dict:
    """OGC:CRS84 (WGS84 longitude, latitude) as PROJJSON, as GeoParquet's `crs` names it.

    Read from `data/crs84.json`, which is pyproj's `CRS.from_string("OGC:CRS84")` as JSON
    (tested against the pinned pyproj): a worker that writes GeoParquet never imports pyproj
    for it (0.03-0.05 s of CPU a process)."""
    return json.loads((files(__package__) / "data" / "crs84.json").read_text())


#: Whether this process has converted coordinates: convertbng's Rayon thread pool starts on
#: the first conversion and is not fork-safe (a forked child's conversion never returns).
_CONVERTED = False


def conversions_started() -> bool:
    """Whether this process has started the conversions' thread pool (see `_CONVERTED`)."""
    return _CONVERTED


def _converting() -> None:
    global _CONVERTED
    _CONVERTED = True


def _as_float_array(values: object) -> np.ndarray:
    return np.ascontiguousarray(np.asarray(values, dtype=np.float64))


def to_bng(lon: object, lat: object) -> tuple[np.ndarray, np.ndarray]:
    """Convert WGS84 longitude/latitude arrays to BNG easting/northing (metres), OSTN15.

    NaN in, or a point outside OSTN15's coverage, gives NaN out.
    """
    lon_a, lat_a = _as_float_array(lon), _as_float_array(lat)
    x = np.full(lon_a.shape, np.nan)
    y = np.full(lat_a.shape, np.nan)
    ok = in_gb_lonlat(lon_a, lat_a)
    if ok.any():
        _converting()
        cx, cy = convert_bng(lon_a[ok], lat_a[ok])
        x[ok], y[ok] = cx, cy
    # convertbng signals "no transformation" with NaN; keep that as the contract.
    return x, y


def to_lonlat(x: object, y: object) -> tuple[np.ndarray, np.ndarray]:
    """Convert BNG easting/northing arrays to WGS84 longitude/latitude, OSTN15.

    NaN in, or a point outside OSTN15's coverage, gives NaN out.
    """
    x_a, y_a = _as_float_array(x), _as_float_array(y)
    lon = np.full(x_a.shape, np.nan)
    lat = np.full(y_a.shape, np.nan)
    ok = in_gb_bng(x_a, y_a)
    if ok.any():
        _converting()
        clon, clat = convert_lonlat(x_a[ok], y_a[ok])
        lon[ok], lat[ok] = clon, clat
    return lon, lat


def in_gb_lonlat(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """True where a longitude/latitude pair lies in the Great Britain box (NaN is False)."""
    min_lon, min_lat, max_lon, max_lat = GB_LONLAT_BOUNDS
    with np.errstate(invalid="ignore"):
        return (lon >= min_lon) & (lon <= max_lon) & (lat >= min_lat) & (lat <= max_lat)


def in_gb_bng(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """True where an easting/northing pair lies in the British National Grid box (NaN is False)."""
    min_x, min_y, max_x, max_y = GB_BNG_BOUNDS
    with np.errstate(invalid="ignore"):
        return (x >= min_x) & (x <= max_x) & (y >= min_y) & (y <= max_y)
