"""Area layers for the site: the outlines drawn on maps and the names and codes area pages use.

`--areas [NAME=]URI` names the same layers a run assigns (`standards.areas.layer_spec`): an
LSOA layer (code field `LSOA<yy>CD`) is `lsoa`, whose codes are the public `lsoa_code` column;
another layer NAME matches the public `NAME_code` column when the run assigned it. Outlines are
kept in WGS84, simplified to a few metres, for drawing. A force boundary file is read the same
way. No Beam, no Prefect.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import PurePosixPath

import numpy as np
import shapely

from crimegeo.gazetteer.geo import area_layer_fields, read_vector_layer
from crimegeo.standards.areas import layer_spec

#: Outlines are simplified to this many degrees (about 5 m): plenty for a map, much smaller.
SIMPLIFY_DEGREES = 0.00005


def read_wgs84(url: str):  # -> geopandas.GeoDataFrame
    """A vector file (any fsspec URL) as a GeoDataFrame in EPSG:4326, 2D, non-empty."""
    return read_vector_layer(url, 4326)


@dataclass
class SiteAreaLayer:
    """One layer's areas: codes, names and simplified WGS84 outlines, indexed by box."""

    name: str
    codes: np.ndarray
    names: np.ndarray
    outlines: np.ndarray
    tree: shapely.STRtree = field(init=False, repr=False)
    by_code: dict[str, int] = field(init=False, repr=False)
    by_name: dict[str, int] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.tree = shapely.STRtree(self.outlines)
        self.by_code = {str(c).upper(): i for i, c in enumerate(self.codes)}
        self.by_name = {str(n).casefold(): i for i, n in enumerate(self.names)}

    @property
    def code_column(self) -> str:
        """The public column holding this layer's codes (`lsoa_code` for LSOAs)."""
        return f"{self.name}_code"

    def find(self, text: str) -> int | None:
        """The area a code or exact name (any case) names, or None."""
        key = text.strip()
        found = self.by_code.get(key.upper())
        return found if found is not None else self.by_name.get(key.casefold())

    def in_box(self, box: tuple[float, float, float, float]) -> np.ndarray:
        """Indices of the areas whose outline meets a lon/lat box."""
        return self.tree.query(shapely.box(*box), predicate="intersects")


def load_site_layer(spec: str) -> SiteAreaLayer:
    """Load `[NAME=]URI` as the site's layer (code and name fields found by name)."""
    name, url = layer_spec(spec)
    frame = read_wgs84(url)
    code_field, name_field, default_name = area_layer_fields(list(frame.columns), url)
    name = name or default_name
    outlines = shapely.simplify(frame.geometry.values, SIMPLIFY_DEGREES)
    return SiteAreaLayer(name=name, codes=frame[code_field].astype(str).to_numpy(dtype=object),
                         names=frame[name_field].astype(str).to_numpy(dtype=object),
                         outlines=np.asarray(outlines, dtype=object))


def load_boundary(url: str):  # -> shapely geometry
    """A force boundary file as one simplified WGS84 (multi)polygon."""
    frame = read_wgs84(url)
    return shapely.simplify(shapely.union_all(frame.geometry.values), SIMPLIFY_DEGREES)


def force_of_boundary(url: str) -> str:
    """The registry code of the force a boundary file is named after (`kent.geojson`,
    `city-of-london.kml`); ValueError when the name is no force's."""
    from crimegeo.standards.registry import load_registry

    stem = PurePosixPath(url.split("://")[-1]).stem.lower().replace("_", "-")
    registry = load_registry()
    force = registry.resolve(stem) or registry.resolve(stem.replace("-", " "))
    if force is None:
        raise ValueError(f"{url}: cannot tell which force this boundary is for; name the file "
                         "after the force (e.g. kent.geojson)")
    return force.code
