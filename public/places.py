"""Places people search for: streets, areas, LSOAs and forces, and what records each holds.

`Places.locate(text)` turns a name into ranked candidates from four sources (the force registry,
the area layer's codes and names, LSOA codes present in the public data, the gazetteer's streets
and areas), and says when the name means several places: the site then asks which, never
guesses. Each `Place` knows its stable page (`/street/{id}`, `/area/{code}`, `/force/{code}`)
and the `where` clause that selects its records in the public dataset. No Beam, no Prefect.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from crimegeo.gazetteer import Gazetteer
from crimegeo.gazetteer.build import AREA_TYPES
from crimegeo.public.areas import SiteAreaLayer
from crimegeo.public.dataset import PublicDataset, point_box, point_where
from crimegeo.standards.coordinates import to_lonlat
from crimegeo.standards.locations import location_id
from crimegeo.standards.registry import load_registry

#: Candidates scoring within this of the best, and more than this far apart, are a real choice.
AMBIGUITY_MARGIN = 0.03
AMBIGUITY_DISTANCE_M = 500.0
#: A gazetteer area's records: public points inside its extent grown by this (metres).
AREA_MARGIN_M = 50.0
#: ... and at least this far either side of its point (a place named by a point only).
AREA_MIN_HALF_WIDTH_M = 500.0
_LSOA_CODE = re.compile(r"^[EW]0[12]\d{6}$", re.IGNORECASE)
MAX_QUERY_LENGTH = 200


@dataclass(frozen=True)
class Place:
    """One place a name can mean, with how to find its records."""

    kind: str  # "street", "area", "lsoa" (or another layer's name), "force"
    id: str
    name: str
    uri: str | None
    lon: float | None
    lat: float | None
    extent: tuple[float, float, float, float] | None  # lon/lat box
    score: float
    match_type: str
    where: str = field(compare=False, default="FALSE")
    params: tuple[Any, ...] = field(compare=False, default=())
    local_type: str = ""
    within: str = ""  # the force whose area holds it, to tell same-named places apart
    #: A lon/lat box and a force holding all its records (None: unknown), so that a query
    #: opens only the parts that can hold them.
    prune_box: tuple[float, float, float, float] | None = field(compare=False, default=None)
    prune_force: str | None = field(compare=False, default=None)

    @property
    def page(self) -> str:
        """The place's stable page on this site."""
        if self.kind == "street":
            return f"/street/{self.id}"
        if self.kind == "force":
            return f"/force/{self.id}"
        return f"/area/{self.id}"

    def to_dict(self) -> dict:
        """The JSON form `/api/locate` answers with."""
        return {"id": self.id, "uri": self.uri, "name": self.name, "type": self.kind,
                "local_type": self.local_type or None,
                "point": None if self.lat is None else {"latitude": round(self.lat, 6),
                                                         "longitude": round(self.lon, 6)},
                "extent": None if self.extent is None else [round(v, 6) for v in self.extent],
                "score": round(self.score, 4), "match_type": self.match_type,
                "within": self.within or None, "page": self.page}


def _box_lonlat(extent_bng: tuple[float, float, float, float] | None, margin_m: float
                ) -> tuple[float, float, float, float] | None:
    if extent_bng is None or any(np.isnan(v) for v in extent_bng):
        return None
    xmin, ymin, xmax, ymax = extent_bng
    lon, lat = to_lonlat(np.array([xmin - margin_m, xmax + margin_m]),
                         np.array([ymin - margin_m, ymax + margin_m]))
    return float(lon[0]), float(lat[0]), float(lon[1]), float(lat[1])


def _far_apart(a: Place, b: Place) -> bool:
    if a.lat is None or b.lat is None:
        return a.id != b.id
    dy = (a.lat - b.lat) * 111_320.0
    dx = (a.lon - b.lon) * 111_320.0 * np.cos(np.radians(a.lat))
    return bool(np.hypot(dx, dy) > AMBIGUITY_DISTANCE_M)


class Places:
    """Resolve names to places over one gazetteer, area layers and the public dataset."""

    def __init__(self, dataset: PublicDataset, gazetteer: Gazetteer | None,
                 layers: tuple[SiteAreaLayer, ...] = ()) -> None:
        """Any of the gazetteer and layers may be absent; forces always resolve."""
        self.dataset = dataset
        self.gazetteer = gazetteer
        self.layers = layers
        self.registry = load_registry()

    # -- one place by its page id ------------------------------------------------------------

    def force(self, code: str) -> Place | None:
        """The force with registry code `code`."""
        if code not in self.registry:
            return None
        force = self.registry.get(code)
        lon0, lat0, lon1, lat1 = force.extent_wgs84
        return Place("force", force.code, force.name, force.uri, (lon0 + lon1) / 2,
                     (lat0 + lat1) / 2, force.extent_wgs84, 1.0, "exact", "force = ?",
                     (force.code,), prune_force=force.code)

    def street(self, point_id: int, month: str | None = None) -> Place | None:
        """The map point `point_id` as published (its label and point)."""
        row = self.dataset.point(point_id, month)
        if row is None:
            return None
        lon, lat = row["public_lon"], row["public_lat"]
        pad = 0.002
        where, params = point_where(lon, lat, point_id)
        return Place("street", str(point_id), row["public_label"], None, lon, lat,
                     (lon - pad, lat - pad, lon + pad, lat + pad), 1.0, "exact", where,
                     tuple(params), prune_box=point_box(lon, lat))

    def area(self, code: str) -> Place | None:
        """An area by its layer code (an LSOA's GSS code) or a gazetteer area's id."""
        for layer in self.layers:
            found = layer.find(code)
            if found is not None and str(layer.codes[found]).upper() == code.upper():
                return self._layer_place(layer, found, 1.0, "exact")
        if _LSOA_CODE.match(code):
            rows = self.dataset.query(self.dataset.latest_month() or "", "lsoa_code = ?",
                                      [code.upper()], limit=1)
            if rows.num_rows:
                name = rows["lsoa_name"][0].as_py() or code.upper()
                return self._lsoa_from_data(code.upper(), name, 1.0, "exact")
        if self.gazetteer is not None:
            for feature in self.gazetteer.show(code)[:1]:
                return self._gazetteer_area(feature["id"], feature["uri"], feature["name"],
                                            feature.get("local_type") or "",
                                            feature["lon"], feature["lat"],
                                            (feature["xmin"], feature["ymin"], feature["xmax"],
                                             feature["ymax"]), 1.0, "exact")
        return None

    def _layer_place(self, layer: SiteAreaLayer, index: int, score: float, match: str
                     ) -> Place:
        code = str(layer.codes[index])
        outline = layer.outlines[index]
        xmin, ymin, xmax, ymax = (float(v) for v in outline.bounds)
        centre = outline.representative_point()
        column = layer.code_column
        return Place(layer.name, code, str(layer.names[index]),
                     f"https://statistics.data.gov.uk/id/statistical-geography/{code}"
                     if layer.name == "lsoa" else None,
                     float(centre.x), float(centre.y), (xmin, ymin, xmax, ymax), score, match,
                     f'"{column}" = ?', (code,), layer.name.upper(),
                     prune_box=(xmin - 0.001, ymin - 0.001, xmax + 0.001, ymax + 0.001))

    def _lsoa_from_data(self, code: str, name: str, score: float, match: str) -> Place:
        return Place("lsoa", code, name,
                     f"https://statistics.data.gov.uk/id/statistical-geography/{code}",
                     None, None, None, score, match, "lsoa_code = ?", (code,), "LSOA")

    def _gazetteer_area(self, fid: str, uri: str | None, name: str, local_type: str,
                        lon: float, lat: float, extent_bng: Any, score: float, match: str
                        ) -> Place:
        box = _box_lonlat(extent_bng, AREA_MARGIN_M)
        # A gazetteer area known only as a point (or a tiny box): a square around its point.
        half_lat = AREA_MIN_HALF_WIDTH_M / 111_320.0
        half_lon = half_lat / max(np.cos(np.radians(lat)), 0.01)
        if box is None:
            box = (lon - half_lon, lat - half_lat, lon + half_lon, lat + half_lat)
        box = (min(box[0], lon - half_lon), min(box[1], lat - half_lat),
               max(box[2], lon + half_lon), max(box[3], lat + half_lat))
        where, params = PublicDataset.within_box(box)
        return Place("area", fid, name, uri, lon, lat, box, score, match, where,
                     tuple(params), local_type, prune_box=box)

    # -- a name --------------------------------------------------------------------------------

    def locate(self, text: str, limit: int = 8) -> tuple[list[Place], bool]:
        """Candidates for a name, best first, and whether the name means several places."""
        text = " ".join(text.split())[:MAX_QUERY_LENGTH]
        if not text:
            return [], False
        found: list[Place] = []
        force = self.registry.resolve(text)
        if force is not None:
            found.append(self.force(force.code))
        for layer in self.layers:
            index = layer.find(text)
            if index is not None:
                found.append(self._layer_place(layer, index, 1.0, "exact"))
        if _LSOA_CODE.match(text) and not any(p.id.upper() == text.upper() for p in found):
            place = self.area(text.upper())
            if place is not None:
                found.append(place)
        if self.gazetteer is not None:
            # "King Way, Kent": a force after the last comma restricts the search to its area.
            name, _, last = text.rpartition(",")
            within = self.registry.resolve(last.strip()) if name.strip() else None
            matches = (self.gazetteer.lookup(name.strip(), force=within.code, limit=limit)
                       if within is not None else self.gazetteer.lookup(text, limit=limit))
            found.extend(self._from_match(match) for match in matches)
        found.sort(key=lambda p: -p.score)
        unique: list[Place] = []
        for place in found:
            if not any(p.kind == place.kind and p.id == place.id for p in unique):
                unique.append(place)
        unique = [self.with_force(p) for p in unique[:limit]]
        return unique, self._ambiguous(unique)

    def with_force(self, place: Place) -> Place:
        """The place with `within` set: the force whose area holds it."""
        if place.within or place.lat is None or place.kind == "force":
            return place
        # Padded force boxes overlap: the smallest box holding the point is the likeliest.
        holding = [f for f in self.registry if f.territorial and f.contains(place.lon, place.lat)]
        if not holding:
            return place
        force = min(holding, key=lambda f: (f.extent_wgs84[2] - f.extent_wgs84[0])
                    * (f.extent_wgs84[3] - f.extent_wgs84[1]))
        return dataclasses.replace(place, within=force.name)

    def _from_match(self, match: Any) -> Place:
        if match.local_type in AREA_TYPES:
            return self._gazetteer_area(match.id, match.uri, match.name, match.local_type,
                                        match.lon, match.lat, match.extent, match.score,
                                        match.match_type)
        label = f"On or near {match.name}"
        point_id = location_id(match.lon, match.lat, label)
        box = _box_lonlat(match.extent, AREA_MARGIN_M)
        where, params = point_where(match.lon, match.lat, point_id)
        return Place("street", str(point_id), label, match.uri, match.lon, match.lat, box,
                     match.score, match.match_type, where, tuple(params), match.local_type,
                     prune_box=point_box(match.lon, match.lat))

    @staticmethod
    def _ambiguous(places: list[Place]) -> bool:
        if len(places) < 2:
            return False
        best = places[0]
        if best.match_type == "ambiguous":
            return True
        rivals = [p for p in places[1:] if best.score - p.score <= AMBIGUITY_MARGIN]
        return any(_far_apart(best, p) or p.kind != best.kind for p in rivals)
