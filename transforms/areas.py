"""Boundary layers: statistical areas by point in polygon, and force boundaries.

`AreaLayer` assigns a code and name (e.g. an LSOA's `E01000001`, "City of London 001A") to
every point of a batch in bulk with a shapely 2 STRtree. `ForceBoundaries` holds each force's
area, from police.uk's per-force KML or any vector file, to flag points outside their force.
Layers are read with pyogrio in any CRS and held in British National Grid. Pure functions and
classes (no Beam): the pipeline loads them once per worker.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import PurePosixPath

import fsspec
import numpy as np
import shapely

from crimegeo.gazetteer.geo import AreaLayerError, area_layer_fields, read_vector_layer
from crimegeo.standards.areas import layer_spec
from crimegeo.standards.registry import load_registry


def _read_layer(url: str):
    import geopandas

    return geopandas.GeoDataFrame(read_vector_layer(url, 27700), geometry="geometry", crs=27700)


@dataclass
class AreaLayer:
    """Polygons with a code and a name each, indexed for bulk point-in-polygon."""

    name: str
    codes: np.ndarray
    names: np.ndarray
    geometries: np.ndarray
    source: str = ""
    tree: shapely.STRtree = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.tree = shapely.STRtree(self.geometries)

    @property
    def code_column(self) -> str:
        """Column the codes go to: `lsoa_code` for an LSOA layer, else `<name>_code`."""
        return f"{self.name}_code"

    @property
    def name_column(self) -> str:
        """Column the names go to."""
        return f"{self.name}_name"

    def assign(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Code and name of the polygon holding each BNG point (None where none does).

        A point on a shared edge belongs to the polygon listed first, so results are stable.
        """
        codes = np.full(len(x), None, dtype=object)
        names = np.full(len(x), None, dtype=object)
        has = ~(np.isnan(x) | np.isnan(y))
        if not has.any():
            return codes, names
        rows = np.flatnonzero(has)
        points = shapely.points(x[rows], y[rows])
        point_index, polygon_index = self.tree.query(points, predicate="intersects")
        first = np.full(len(rows), -1)
        # Reverse so the lowest polygon index is written last and wins.
        order = np.lexsort((-polygon_index, point_index))
        first[point_index[order]] = polygon_index[order]
        hit = first >= 0
        codes[rows[hit]] = self.codes[first[hit]]
        names[rows[hit]] = self.names[first[hit]]
        return codes, names


def load_area_layer(spec: str) -> AreaLayer:
    """Load `[NAME=]URI`; code and name fields are found by their names (`LSOA21CD`, ...).

    Without NAME, a layer whose code field is `LSOA<yy>CD` is `lsoa`, else the file's stem.
    """
    name, url = layer_spec(spec)
    frame = _read_layer(url)
    code_field, name_field, default_name = area_layer_fields(list(frame.columns), url)
    name = name or default_name
    return AreaLayer(name=name, codes=frame[code_field].astype(str).to_numpy(dtype=object),
                     names=frame[name_field].astype(str).to_numpy(dtype=object),
                     geometries=frame.geometry.values, source=url)


@dataclass
class ForceBoundaries:
    """Each force's area (BNG), to tell whether a point lies inside its force."""

    areas: dict[str, object]
    tolerance_m: float  # the run's --boundary-tolerance-m

    def covers(self, force: str) -> bool:
        """True when a boundary is known for `force`."""
        return force in self.areas

    def outside(self, force: str, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """True where a BNG point is more than the tolerance outside the force's area."""
        area = self.areas[force]
        missing = np.isnan(x) | np.isnan(y)
        inside = missing.copy()
        inside[~missing] = shapely.contains_xy(area, x[~missing], y[~missing])
        if self.tolerance_m > 0 and (~inside).any():
            rows = np.flatnonzero(~inside)
            near = shapely.dwithin(area, shapely.points(x[rows], y[rows]), self.tolerance_m)
            inside[rows[near]] = True
        return ~inside


def _force_for(url: str, frame) -> str:
    registry = load_registry()
    for column in ("force", "Force", "FORCE", "Name", "name"):
        if column in frame.columns:
            values = {str(v) for v in frame[column] if v}
            if len(values) == 1:
                force = registry.resolve(values.pop())
                if force:
                    return force.code
    tokens = re.split(r"[\s_.-]+", PurePosixPath(url).stem.lower())
    for end in range(len(tokens), 0, -1):
        for candidate in ("-".join(tokens[:end]), " ".join(tokens[:end])):
            force = registry.resolve(candidate)
            if force:
                return force.code
    raise AreaLayerError(f"{url}: cannot tell which force this boundary is for; name the file "
                         "after the force (e.g. city-of-london.kml) or add a 'force' field")


def load_force_boundaries(urls: Sequence[str], tolerance_m: float) -> ForceBoundaries:
    """Read force boundary files (or folders of them); each file is one force's area."""
    areas: dict[str, object] = {}
    for url in urls:
        fs, path = fsspec.core.url_to_fs(url)
        paths = [path]
        if fs.isdir(path):
            paths = [p for p in sorted(fs.find(path))
                     if p.lower().endswith((".kml", ".geojson", ".json", ".gpkg", ".shp",
                                            ".fgb"))]
        for item in paths:
            item_url = item if "://" not in url else f"{url.split('://')[0]}://{item}"
            frame = _read_layer(item_url)
            force = _force_for(item_url, frame)
            union = shapely.make_valid(shapely.union_all(frame.geometry.values))
            areas[force] = shapely.union_all([areas[force], union]) if force in areas else union
    for area in areas.values():
        shapely.prepare(area)
    return ForceBoundaries(areas, tolerance_m)
