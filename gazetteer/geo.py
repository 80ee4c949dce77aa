"""Coordinates and areas for the gazetteer: WGS84 <-> British National Grid, Great Britain
bounds, and a force's area as a BNG box (from the force registry) or a supplied boundary.

Conversion goes through ``standards.coordinates`` (OSTN15 via convertbng); other CRSs go to
WGS84 with pyproj first. No Beam, no Prefect.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import PurePosixPath

import numpy as np

from crimegeo.gazetteer.model import GazetteerError
from crimegeo.standards.coordinates import to_bng, to_lonlat

__all__ = [
    "AreaLayerError",
    "BNG",
    "WGS84",
    "GB_BNG_BOX",
    "force_box_bng",
    "in_gb_bng",
    "parse_crs",
    "project_to_both",
    "read_vector_layer",
    "area_layer_fields",
    "to_bng",
    "to_lonlat",
]

BNG = "EPSG:27700"
WGS84 = "EPSG:4326"
#: Great Britain and its islands in British National Grid metres.
GB_BNG_BOX = (0.0, 0.0, 700_000.0, 1_300_000.0)


def in_gb_bng(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """True where (x, y) lies inside Great Britain's BNG box; NaN is False."""
    with np.errstate(invalid="ignore"):
        return (x >= GB_BNG_BOX[0]) & (x <= GB_BNG_BOX[2]) & (y >= GB_BNG_BOX[1]) & (
            y <= GB_BNG_BOX[3]
        )


def parse_crs(crs: str | int | None) -> str | None:
    """Return a canonical "EPSG:n" string for a CRS, or raise GazetteerError if unknown."""
    if crs is None:
        return None
    import pyproj

    try:
        c = pyproj.CRS.from_user_input(crs)
    except Exception as exc:  # pyproj raises CRSError and others
        raise GazetteerError(f"unknown CRS {crs!r}: {exc}") from None
    epsg = c.to_epsg()
    return f"EPSG:{epsg}" if epsg else c.to_string()


def project_to_both(
    a: np.ndarray, b: np.ndarray, crs: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Coordinates (a, b) in ``crs`` -> (x_bng, y_bng, lon, lat), OSTN15 between BNG and WGS84.

    Non-convertible points come back as NaN.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if crs == BNG:
        lon, lat = to_lonlat(a, b)
        return a, b, lon, lat
    if crs == WGS84:
        lon, lat = a, b
    else:
        import pyproj

        tr = pyproj.Transformer.from_crs(crs, WGS84, always_xy=True)
        lon, lat = tr.transform(a, b)
        lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    x, y = to_bng(lon, lat)
    return x, y, lon, lat


@lru_cache(maxsize=1)
def _registry() -> object | None:
    try:
        from crimegeo.standards.registry import load_registry
    except ImportError:
        return None
    return load_registry()


def resolve_force(name_or_code: str | None) -> str | None:
    """Force code for a force name, alias or code, via the registry; None if unknown."""
    if not name_or_code:
        return None
    reg = _registry()
    if reg is None:
        return None
    force = reg.resolve(name_or_code)
    return force.code if force is not None else None


@lru_cache(maxsize=128)
def force_box_bng(code: str, margin_m: float = 500.0) -> tuple[float, float, float, float]:
    """The BNG box of a force's area (its registry WGS84 extent, projected, plus a margin)."""
    reg = _registry()
    if reg is None:
        raise GazetteerError(
            f"force {code!r}: restricting by force needs the force registry (standards.registry)"
        )
    try:
        force = reg.get(code)
    except Exception:
        force = None
    if force is None:
        force = reg.resolve(code)
    if force is None:
        raise GazetteerError(f"unknown force {code!r}: not in the force registry")
    min_lon, min_lat, max_lon, max_lat = force.extent_wgs84
    lons = np.array([min_lon, max_lon, min_lon, max_lon, (min_lon + max_lon) / 2] * 1)
    lats = np.array([min_lat, min_lat, max_lat, max_lat, (min_lat + max_lat) / 2])
    lons = np.clip(lons, -8.8, 1.9)
    lats = np.clip(lats, 49.8, 60.95)
    x, y = to_bng(lons, lats)
    if np.isnan(x).all():
        raise GazetteerError(
            f"force {code!r}: extent {force.extent_wgs84} is outside Great Britain"
        )
    return (
        float(np.nanmin(x) - margin_m),
        float(np.nanmin(y) - margin_m),
        float(np.nanmax(x) + margin_m),
        float(np.nanmax(y) + margin_m),
    )


class AreaLayerError(ValueError):
    """An area or boundary layer cannot be read; the message names the file and the problem."""


def read_vector_layer(url: str, epsg: int):  # -> geopandas.GeoDataFrame
    """A vector file (any fsspec URL) as a GeoDataFrame in EPSG:`epsg`, 2D, non-empty.

    The one reader of area layers and force boundaries, for the pipeline and the public site.
    """
    import fsspec
    import pyogrio
    import shapely

    fs, path = fsspec.core.url_to_fs(url)
    protocol = fs.protocol if isinstance(fs.protocol, str) else fs.protocol[0]
    source = path if protocol in ("file", "local") else fs.open(path, "rb").read()
    try:
        frame = pyogrio.read_dataframe(source)
    except Exception as error:  # noqa: BLE001 - pyogrio raises many kinds; name the file
        raise AreaLayerError(f"{url}: cannot read as a vector layer: {error}") from error
    if frame.crs is None:
        raise AreaLayerError(f"{url}: the layer has no CRS; give it one (e.g. a .prj file)")
    frame = frame[frame.geometry.notna() & ~frame.geometry.is_empty]
    if frame.empty:
        raise AreaLayerError(f"{url}: the layer has no geometries")
    frame = frame.to_crs(epsg)
    frame["geometry"] = shapely.force_2d(frame.geometry.values)
    return frame


#: An area code field as ONS names them: `LSOA21CD`, `MSOA11CD`, `WD24CD`.
_CODE_FIELD = re.compile(r"^(?P<prefix>[A-Za-z]+)(?P<year>\d{2,4})?CD$", re.IGNORECASE)


def area_layer_fields(columns: list[str], url: str) -> tuple[str, str, str]:
    """An area layer's code field, name field and default layer name, found by their names.

    The code field is ONS-shaped (`LSOA21CD`) or `code`/`gss_code`/`id`; the name field its
    `...NM` twin, else `name`, else the code. The default name is `lsoa` for an LSOA layer,
    else the file's stem. Raises `AreaLayerError` naming `url` when no code field is found.
    """
    fields = [c for c in columns if c != "geometry"]
    code_field = next((c for c in fields if _CODE_FIELD.match(c)), None) or next(
        (c for c in fields if c.lower() in ("code", "gss_code", "id")), None)
    if code_field is None:
        raise AreaLayerError(f"{url}: no code field found among {', '.join(fields)}; expected "
                             "one like LSOA21CD or 'code'")
    stem = code_field[:-2] if code_field.upper().endswith("CD") else ""
    name_field = next((c for c in fields if stem and c.upper() == f"{stem.upper()}NM"), None) \
        or next((c for c in fields if c.lower() == "name"), None) or code_field
    match = _CODE_FIELD.match(code_field)
    if match and match.group("prefix").lower() == "lsoa":
        default_name = "lsoa"
    else:
        default_name = re.sub(r"[^a-z0-9_]+", "_", PurePosixPath(url).stem.lower()).strip("_")
    return code_field, name_field, default_name
