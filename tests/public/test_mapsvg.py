"""The maps we draw: projected points sized by count, links, outlines, scale, escaping."""

from __future__ import annotations

import re

import shapely

from crimegeo.public.mapsvg import MapPoint, box_of, draw_map


def test_points_are_sized_by_count_linked_and_escaped() -> None:
    points = [MapPoint(-0.0937, 51.5163, 9, "On or near Wood Street", "/street/1"),
              MapPoint(-0.0946, 51.5141, 1, 'On or near <b>"Odd"</b> Lane', "/street/2")]
    box = box_of(points, None)
    svg = draw_map(box, points, title="Map of <x>", description="two points",
                   outlines=[("Area <1>", shapely.box(-0.095, 51.514, -0.093, 51.517))],
                   highlight="Area <1>")
    radii = [float(r) for r in re.findall(r'<circle[^>]* r="([\d.]+)"', svg)]
    assert radii == sorted(radii, reverse=True) and radii[0] == 15.0 and radii[1] < 8
    assert 'href="/street/1"' in svg and 'aria-label="On or near Wood Street: 9 crimes"' in svg
    assert "<b>" not in svg and "&lt;b&gt;&quot;Odd&quot;&lt;/b&gt;" in svg
    assert "<title id=\"map-title\">Map of &lt;x&gt;</title>" in svg
    assert 'class="area highlight"' in svg and "<title>Area &lt;1&gt;</title>" in svg
    assert re.search(r">(\d+) m</text>", svg)  # a street-scale scale bar in metres


def test_west_is_left_and_north_is_up() -> None:
    west, east = MapPoint(-0.10, 51.50, 1, "W"), MapPoint(-0.08, 51.52, 1, "E")
    svg = draw_map(box_of([west, east], None), [west, east], title="t", description="d")
    (wx, wy), (ex, ey) = [(float(x), float(y)) for x, y in re.findall(
        r'cx="([\d.]+)" cy="([\d.]+)"', svg)]
    assert wx < ex and wy > ey
