"""Maps drawn by us, as SVG, on the server: no tiles, no scripts, nothing from other hosts.

`draw_map` draws, within a lon/lat box: area outlines, a force boundary, public map points as
circles sized by their count (each a keyboard-focusable link with a text title), a scale bar and
the attribution. Coordinates are projected with a local equirectangular projection (metres
east and north of the box's centre), exact enough at street and town scale for a scale bar.
Every text that came from data is escaped. Pure Python and shapely; no Beam, no Prefect.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from html import escape

import shapely

METRES_PER_DEGREE = 111_320.0
ATTRIBUTION = ("Contains public sector information licensed under the Open Government "
               "Licence v3.0.", "Contains OS data \u00a9 Crown copyright and database right.")
_NICE = (1, 2, 5)


@dataclass(frozen=True)
class MapPoint:
    """A public map point to draw: where, how many records, its label and its page."""

    lon: float
    lat: float
    count: int
    label: str
    href: str | None = None
    kind: str = ""  # a CSS class: e.g. "corrected", "geocoded", "unlocated" in the run report


class _Projection:
    """Map units to pixels: lon/lat (a local equirectangular projection) or BNG metres."""

    def __init__(self, box: tuple[float, float, float, float], width: int, height: int,
                 margin: int = 12, bng: bool = False) -> None:
        lon0, lat0, lon1, lat1 = box
        self.kx = 1.0 if bng else METRES_PER_DEGREE * math.cos(math.radians((lat0 + lat1) / 2))
        self.ky = 1.0 if bng else METRES_PER_DEGREE
        span_x = max((lon1 - lon0) * self.kx, 1.0)
        span_y = max((lat1 - lat0) * self.ky, 1.0)
        self.scale = min((width - 2 * margin) / span_x, (height - 2 * margin) / span_y)
        self.cx, self.cy = (lon0 + lon1) / 2, (lat0 + lat1) / 2
        self.width, self.height = width, height

    def xy(self, lon: float, lat: float) -> tuple[float, float]:
        x = self.width / 2 + (lon - self.cx) * self.kx * self.scale
        y = self.height / 2 - (lat - self.cy) * self.ky * self.scale
        return round(x, 1), round(y, 1)


def _ring_path(coords: Iterable[Sequence[float]], project: _Projection) -> str:
    points = [project.xy(c[0], c[1]) for c in coords]
    if len(points) < 2:
        return ""
    return "M" + "L".join(f"{x},{y}" for x, y in points) + "Z"


def _geometry_path(geometry, project: _Projection) -> str:
    parts = []
    # Nothing finer than a pixel: a force map of 50 km would otherwise carry every vertex.
    geometry = shapely.simplify(geometry, 1.0 / (project.scale * project.kx))
    for polygon in shapely.get_parts(geometry):
        if polygon.geom_type != "Polygon":
            continue
        parts.append(_ring_path(polygon.exterior.coords, project))
        parts.extend(_ring_path(ring.coords, project) for ring in polygon.interiors)
    return "".join(parts)


def _scale_bar(project: _Projection) -> str:
    target_m = project.width * 0.2 / project.scale
    exponent = 10 ** math.floor(math.log10(max(target_m, 1)))
    length_m = max(n * exponent for n in _NICE if n * exponent <= max(target_m, 1))
    pixels = length_m * project.scale
    label = f"{length_m / 1000:g} km" if length_m >= 1000 else f"{length_m:g} m"
    x, y = 12, project.height - 14
    return (f'<g class="scale" aria-hidden="true"><path d="M{x},{y - 5}V{y}H{x + pixels:.1f}'
            f'V{y - 5}" fill="none" stroke="#222" stroke-width="2"/>'
            f'<text x="{x + pixels + 6:.1f}" y="{y}" font-size="12">{label}</text></g>')


def draw_map(box: tuple[float, float, float, float], points: Sequence[MapPoint], *,
             title: str, description: str, outlines: Sequence[tuple[str, object]] = (),
             boundary: object | None = None, width: int = 640, height: int = 440,
             highlight: str | None = None, bng: bool = False,
             underlay: tuple[bytes, tuple[float, float, float, float]] | None = None,
             ids: str = "map") -> str:
    """An accessible SVG map of `box` (min_lon, min_lat, max_lon, max_lat; with `bng`, British
    National Grid metres, and every geometry in BNG too).

    `outlines` are (label, polygon) pairs, `highlight` the label of one to emphasise;
    `boundary` a force's (multi)polygon; `underlay` a PNG (bytes) covering a box, drawn first
    (the run report's rasterised records). `title` and `description` become the SVG's
    accessible name and description; the page should also list the points as text. `ids`
    prefixes the element ids, for several maps on one page.
    """
    project = _Projection(box, width, height, bng=bng)
    body = [f'<title id="{ids}-title">{escape(title)}</title>',
            f'<desc id="{ids}-desc">{escape(description)}</desc>',
            f'<rect width="{width}" height="{height}" fill="#f4f1ea"/>']
    if underlay is not None:
        png, (ux0, uy0, ux1, uy1) = underlay
        left, top = project.xy(ux0, uy1)
        right, bottom = project.xy(ux1, uy0)
        encoded = base64.b64encode(png).decode("ascii")
        body.append(f'<image x="{left}" y="{top}" width="{right - left:.1f}" '
                    f'height="{bottom - top:.1f}" preserveAspectRatio="none" '
                    f'style="image-rendering:pixelated" '
                    f'href="data:image/png;base64,{encoded}"/>')
    clip = shapely.box(*box).buffer(max(box[2] - box[0], box[3] - box[1]) * 0.05)
    for label, outline in outlines:
        path = _geometry_path(shapely.intersection(outline, clip), project)
        if path:
            chosen = label == highlight
            body.append(f'<path class="area{" highlight" if chosen else ""}" d="{path}" '
                        f'fill="{"#e3d9c0" if chosen else "none"}" stroke="#8a7f6a" '
                        f'stroke-width="{2 if chosen else 0.8}">'
                        f'<title>{escape(label)}</title></path>')
    if boundary is not None:
        path = _geometry_path(shapely.intersection(boundary, clip), project)
        if path:
            body.append(f'<path class="boundary" d="{path}" fill="none" stroke="#1d3f8a" '
                        'stroke-width="2.5" stroke-dasharray="6 3"/>')
    biggest = max((p.count for p in points), default=1)
    for point in sorted(points, key=lambda p: -p.count):  # small circles drawn on top
        x, y = project.xy(point.lon, point.lat)
        radius = 3 + 12 * math.sqrt(point.count / biggest)
        noun = "crime" if point.count == 1 else "crimes"
        name = escape(f"{point.label}: {point.count} {noun}")
        circle = (f'<circle class="point {escape(point.kind)}" cx="{x}" cy="{y}" '
                  f'r="{radius:.1f}" fill="#c0392b" fill-opacity="0.65" stroke="#fff">'
                  f'<title>{name}</title></circle>')
        if point.href:
            body.append(f'<a href="{escape(point.href)}" aria-label="{name}">{circle}</a>')
        else:
            body.append(circle)
    body.append(_scale_bar(project))
    for line, text in enumerate(reversed(ATTRIBUTION)):
        body.append(f'<text class="attribution" x="{width - 6}" y="{height - 4 - 11 * line}" '
                    f'font-size="9" text-anchor="end">{escape(text)}</text>')
    return (f'<svg xmlns="http://www.w3.org/2000/svg" role="img" class="map" '
            f'aria-labelledby="{ids}-title {ids}-desc" viewBox="0 0 {width} {height}" '
            f'width="{width}" height="{height}">' + "".join(body) + "</svg>")


def box_of(points: Sequence[MapPoint], fallback: tuple[float, float, float, float] | None,
           pad_fraction: float = 0.08, min_span: float = 0.004
           ) -> tuple[float, float, float, float]:
    """A box around the points (padded), else `fallback`, else Great Britain."""
    if not points:
        return fallback or (-6.5, 49.8, 2.0, 58.8)
    lons = [p.lon for p in points]
    lats = [p.lat for p in points]
    lon0, lon1, lat0, lat1 = min(lons), max(lons), min(lats), max(lats)
    pad_x = max((lon1 - lon0) * pad_fraction, min_span / 2)
    pad_y = max((lat1 - lat0) * pad_fraction, min_span / 2)
    return lon0 - pad_x, lat0 - pad_y, lon1 + pad_x, lat1 + pad_y
