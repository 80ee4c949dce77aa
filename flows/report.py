"""The run report an operator looks at: `runs/YYYY-MM/report.html` and a markdown summary.

Built from what the run published (the manifest, the restricted Parquet, each force's
feedback summary) and from the previous month's manifest, so it shows counts by force and
status, the top reasons, geocoding scores, the change from last month, forces whose file is
missing, and one map per force of the records that were corrected, geocoded or left
unlocated. The records are rasterised with numpy (no plotting library) into a PNG, which the
public site's map drawing (`public.mapsvg`) frames as SVG with the run's area outlines, force
boundary, a scale bar and the attribution; all of it embedded in the HTML, so the report is one
file that can be mailed or opened from object storage. Reads outputs,
never changes them; the report itself is written atomically.
"""

from __future__ import annotations

import html
import io
import logging
from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import shapely
from PIL import Image

from crimegeo.public.mapsvg import draw_map
from crimegeo.standards import reasons as reason_codes
from crimegeo.standards.coordinates import to_bng
from crimegeo.standards.months import previous_month
from crimegeo.store.files import read_json, write_bytes_atomic, write_json_atomic
from crimegeo.store.layout import OutputLayout
from crimegeo.store.parts import read_partitions
from crimegeo.store.publish import manifest_url, read_disclosure

MAP_COLUMNS = ["location_status", "x_bng", "y_bng", "supplied_x", "supplied_y",
               "supplied_crs", "geocode_score", "reasons"]
#: How each location status is drawn on the force maps.
STATUS_STYLE = {
    "supplied": {"color": "#c8c8c8", "marker": ".", "size": 4, "label": "kept as supplied"},
    "corrected": {"color": "#e66101", "marker": "o", "size": 14, "label": "corrected"},
    "geocoded_street": {"color": "#5e3c99", "marker": "^", "size": 14,
                        "label": "located from street name"},
    "geocoded_area": {"color": "#1b9e77", "marker": "s", "size": 14,
                      "label": "located from area name"},
    "unlocated": {"color": "#d7191c", "marker": "x", "size": 22,
                  "label": "unlocated (at the point supplied)"},
}
SCORE_BINS = (0.0, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 1.0001)


def _map_layers(options: dict) -> tuple[list[tuple[str, Any]], dict[str, Any]]:
    """The run's area outlines and force boundaries in BNG, for the maps; a layer that cannot
    be read leaves its lines off the maps (the run itself read it), with a warning."""
    from crimegeo.public.areas import force_of_boundary, load_boundary, load_site_layer

    def bng(geometry: Any) -> Any:
        return shapely.transform(geometry, lambda xy: np.column_stack(to_bng(xy[:, 0],
                                                                            xy[:, 1])))

    outlines: list[tuple[str, Any]] = []
    boundaries: dict[str, Any] = {}
    for spec in options.get("areas") or ():
        try:
            layer = load_site_layer(spec)
        except (OSError, ValueError) as error:
            logging.getLogger(__name__).warning("report maps without %s: %s", spec, error)
            continue
        projected = bng(layer.outlines)
        outlines += [(f"{name} ({code})", geometry) for code, name, geometry
                     in zip(layer.codes, layer.names, projected, strict=True)]
    for url in options.get("boundaries") or ():
        try:
            boundaries[force_of_boundary(url)] = bng(load_boundary(url))
        except (OSError, ValueError) as error:
            logging.getLogger(__name__).warning("report maps without %s: %s", url, error)
    return outlines, boundaries


def report_url(output: str, month: str) -> str:
    """Where the month's HTML report lives."""
    return OutputLayout(output).report(month)


def _supplied_bng(table: Any) -> tuple[np.ndarray, np.ndarray]:
    """The supplied point of each row in BNG metres where it can be placed, else NaN."""
    x = np.asarray(pc.fill_null(table["supplied_x"], np.nan).to_numpy(zero_copy_only=False),
                   dtype=float)
    y = np.asarray(pc.fill_null(table["supplied_y"], np.nan).to_numpy(zero_copy_only=False),
                   dtype=float)
    crs = np.asarray(table["supplied_crs"].to_pylist(), dtype=object)
    out_x, out_y = np.full(len(x), np.nan), np.full(len(y), np.nan)
    bng = crs == "EPSG:27700"
    out_x[bng], out_y[bng] = x[bng], y[bng]
    degrees = crs == "EPSG:4326"
    if degrees.any():
        out_x[degrees], out_y[degrees] = to_bng(x[degrees], y[degrees])
    return out_x, out_y


#: Marker shapes as pixel offsets (dy, dx) around a point; drawn in STATUS_STYLE order.
_DISC = [(dy, dx) for dy in range(-2, 3) for dx in range(-2, 3) if dy * dy + dx * dx <= 5]
_MARKS = {
    ".": [(0, 0), (0, 1), (1, 0), (1, 1)],
    "o": _DISC,
    "^": [(dy, dx) for dy in range(-2, 3) for dx in range(-2, 3) if abs(dx) <= (dy + 2) / 2],
    "s": [(dy, dx) for dy in range(-2, 3) for dx in range(-2, 3)],
    "x": [(d, d) for d in range(-3, 4)] + [(d, -d) for d in range(-3, 4)]
         + [(d, d + 1) for d in range(-3, 3)] + [(d, -d - 1) for d in range(-3, 3)],
}
MAP_PIXELS = 520
#: Margin around a force's records on its map: this share of the wider side, at least MAP_MARGIN_M.
MAP_MARGIN_SHARE = 0.05
MAP_MARGIN_M = 250.0


def _rgb(colour: str) -> tuple[int, int, int]:
    return tuple(int(colour[i:i + 2], 16) for i in (1, 3, 5))  # type: ignore[return-value]


#: Palette of the map PNGs: white, then one colour per status in STATUS_STYLE order.
_PALETTE = [255, 255, 255] + [v for style in STATUS_STYLE.values() for v in _rgb(style["color"])]


def _png(pixels: np.ndarray) -> bytes:
    """An 8-bit palette PNG of `pixels` (indices into _PALETTE)."""
    image = Image.fromarray(pixels)
    image.putpalette(_PALETTE)  # an "L" image given a palette becomes a "P" image
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=6)
    return buffer.getvalue()


def _force_raster(table: Any) -> tuple[np.ndarray, tuple[float, float, float, float] | None,
                                         dict]:
    """A force's records rasterised (palette indices), the BNG box the pixels cover (None when
    nothing is placed) and what the map shows; see `force_map_png`."""
    status = np.asarray(table["location_status"].to_pylist(), dtype=object)
    is_status = {name: status == name for name in STATUS_STYLE}
    x = np.array(pc.fill_null(table["x_bng"], np.nan).to_numpy(zero_copy_only=False),
                 dtype=float)
    y = np.array(pc.fill_null(table["y_bng"], np.nan).to_numpy(zero_copy_only=False),
                 dtype=float)
    unlocated = is_status["unlocated"]
    if unlocated.any():
        sx, sy = _supplied_bng(table.filter(pa.array(unlocated)))
        x[unlocated], y[unlocated] = sx, sy
    placed = ~unlocated & np.isfinite(x) & np.isfinite(y)
    shown = {"records": int(len(status)), "not_mappable": int(unlocated.sum())}
    for name, rows in is_status.items():
        shown[name] = int(rows.sum())
    if not placed.any():
        pixels = np.zeros((MAP_PIXELS // 2, MAP_PIXELS), dtype=np.uint8)
        return pixels, None, shown
    xmin, xmax = np.nanmin(x[placed]), np.nanmax(x[placed])
    ymin, ymax = np.nanmin(y[placed]), np.nanmax(y[placed])
    # A margin in proportion: the City's 3 km and the Met's 50 km both fill their map.
    pad = max(MAP_MARGIN_M, MAP_MARGIN_SHARE * max(xmax - xmin, ymax - ymin))
    xmin, xmax, ymin, ymax = xmin - pad, xmax + pad, ymin - pad, ymax + pad
    near = np.isfinite(x) & np.isfinite(y) & (x >= xmin) & (x <= xmax) & (
        y >= ymin) & (y <= ymax)
    shown["not_mappable"] = int((unlocated & ~near).sum())
    metres_per_pixel = max(xmax - xmin, ymax - ymin) / (MAP_PIXELS - 1)
    width = int((xmax - xmin) / metres_per_pixel) + 1
    height = int((ymax - ymin) / metres_per_pixel) + 1
    pixels = np.zeros((height, width), dtype=np.uint8)  # palette index 0: white
    for colour, (name, style) in enumerate(STATUS_STYLE.items(), start=1):
        # background first, highlights on top
        drawn = is_status[name] & near
        if not drawn.any():
            continue
        column = ((x[drawn] - xmin) / metres_per_pixel).astype(np.int64)
        row = (height - 1) - ((y[drawn] - ymin) / metres_per_pixel).astype(np.int64)
        for dy, dx in _MARKS[style["marker"]]:
            r, c = row + dy, column + dx
            inside = (r >= 0) & (r < height) & (c >= 0) & (c < width)
            pixels[r[inside], c[inside]] = colour
    extent = (xmin, ymax - height * metres_per_pixel, xmin + width * metres_per_pixel, ymax)
    return pixels, extent, shown


def force_map_png(force: str, month: str, table: Any) -> tuple[bytes, dict]:
    """One force's map (PNG bytes) and what it shows: every record, changes highlighted.

    Records kept as supplied are a grey background; corrected and geocoded records sit at
    their new point; unlocated records are drawn at the point the force supplied when that
    point is near the rest of the force's records, and counted as not mappable otherwise.
    The points are rasterised with numpy straight into a palette image (British National Grid,
    north up, equal scale); the title and legend are HTML beside it (`map_caption`). A
    national month's 44 maps take well under a second this way, where plotting them took
    about three.
    """
    pixels, _extent, shown = _force_raster(table)
    return _png(pixels), shown


def force_map_svg(force: str, month: str, table: Any, *,
                  outlines: Sequence[tuple[str, Any]] = (), boundary: Any = None
                  ) -> tuple[str, dict]:
    """The force's map as the public site draws maps (`public.mapsvg`): the records' raster
    (`force_map_png`) under the area outlines and force boundary of the run (BNG), with a
    scale bar, the OGL/OS attribution and a text title and description."""
    pixels, extent, shown = _force_raster(table)
    height, width = pixels.shape
    caption = map_caption_text(force, month, shown)
    if extent is None:
        box = (0.0, 0.0, float(width), float(height))
        return draw_map(box, [], title=caption, description="No record could be placed.",
                        bng=True, width=width, height=height, ids=f"map-{force}"), shown
    clip = shapely.box(*extent)
    geometries = np.array([geometry for _, geometry in outlines], dtype=object)
    hit = shapely.intersects(geometries, clip) if len(outlines) else np.zeros(0, dtype=bool)
    near = [outlines[i] for i in np.flatnonzero(hit)]
    svg = draw_map(extent, [], title=caption,
                   description=(f"{shown.get('records', 0)} records of {force} in {month}: "
                                "grey dots kept as supplied, coloured marks corrected, "
                                "geocoded or unlocated (see the legend); thin lines are the "
                                "run's areas, the dashed line the force boundary."),
                   outlines=near, boundary=boundary, bng=True, width=width + 24,
                   height=height + 24, underlay=(_png(pixels), extent), ids=f"map-{force}")
    return svg, shown


def map_caption_text(force: str, month: str, shown: dict) -> str:
    """The plain-text title of a force's map."""
    return (f"{force} {month}: {shown.get('corrected', 0)} corrected, "
            f"{shown.get('unlocated', 0)} unlocated"
            + (f" ({shown['not_mappable']} not mappable)" if shown.get("not_mappable")
               else ""))


def map_caption(force: str, month: str, shown: dict) -> str:
    """The HTML title and legend of a force's map."""
    title = map_caption_text(force, month, shown)
    legend = "".join(
        f"<span class='key'><span class='swatch' style='background:{style['color']}'>"
        f"</span>{html.escape(style['label'])} ({shown.get(name, 0)})</span>"
        for name, style in STATUS_STYLE.items() if shown.get(name))
    return f"<strong>{html.escape(title)}</strong><br>{legend}"


def _score_summary(tables: dict[str, Any]) -> dict:
    scores = []
    for table in tables.values():
        values = pc.drop_null(table["geocode_score"]).to_numpy(zero_copy_only=False)
        scores.append(np.asarray(values, dtype=float))
    values = np.concatenate(scores) if scores else np.array([])
    if not len(values):
        return {"count": 0}
    counts, _ = np.histogram(values, bins=SCORE_BINS)
    labels = [f"{low:.2f}-{min(high, 1.0):.2f}" for low, high in zip(
        SCORE_BINS[:-1], SCORE_BINS[1:], strict=True)]
    return {"count": int(len(values)), "mean": round(float(values.mean()), 3),
            "min": round(float(values.min()), 3), "median": round(float(np.median(values)), 3),
            "histogram": dict(zip(labels, (int(c) for c in counts), strict=True))}


def run_warnings(manifest: dict) -> list[str]:
    """What an operator must not miss about a run, in plain sentences (for the command's
    output and the report)."""
    warnings = []
    if not manifest.get("gazetteer") and not manifest.get("options", {}).get("map_points"):
        warnings.append("no gazetteer and no map points: nothing was located by name, and "
                        "no record has a public location (reason NO_MAP_POINTS); give "
                        "--gazetteer or --gazetteer-source")
    for force, why in sorted(manifest.get("public_withheld", {}).items()):
        warnings.append(f"the public month of {force} was withheld: {why}; its restricted "
                        "records and feedback were published (see disclosure.json)")
    cautioned = sorted(force for force, status in manifest.get("disclosure", {}).items()
                       if status == "warning")
    if cautioned:
        warnings.append(f"the disclosure report warns about {', '.join(cautioned)}: many "
                        "public records are alone in their (map point, crime type) cell; "
                        "see its recommendation")
    for layer, count in manifest["totals"].get("outside_area_layer", {}).items():
        if count:
            warnings.append(f"{count} located records lie in none of the areas of layer "
                            f"{layer} (a partial layer?): they keep the area they came with "
                            "and carry OUTSIDE_AREA_LAYER")
    return warnings


def build_report(output: str, month: str, manifest: dict, *, feedback: dict | None = None,
                 gaps: dict | None = None, with_maps: bool = True) -> dict:
    """Everything the report shows, as data; `maps` holds each force's SVG map."""
    tables = read_partitions(output, "restricted", month, MAP_COLUMNS)
    by_force: dict[str, dict] = {}
    reason_counter: Counter = Counter()
    for force, table in sorted(tables.items()):
        statuses = Counter(table["location_status"].to_pylist())
        by_force[force] = {"records": table.num_rows, "by_status": dict(sorted(statuses.items()))}
        flat = pc.list_flatten(table["reasons"]).to_pylist()
        reason_counter.update(code for code in flat if code)
    rejected_by_force: Counter = Counter()
    for stats in manifest["files"].values():
        reason_counter.update(stats.get("rejected_by_reason", {}))
    for force, summary in (feedback or {}).items():
        rejected_by_force[force] = summary.get("rejected", 0)
    for force in by_force:
        by_force[force]["rejected"] = rejected_by_force.get(force, 0)
    previous = read_json(manifest_url(output, previous_month(month)))
    totals = manifest["totals"]
    change = None
    if previous:
        before = previous["totals"]
        change = {"month": previous["month"],
                  "rows_in": totals["rows_in"] - before["rows_in"],
                  "rows_written": totals["rows_written"] - before["rows_written"],
                  "rows_rejected": totals["rows_rejected"] - before["rows_rejected"],
                  "by_status": {key: totals["rows_by_status"].get(key, 0)
                                - before["rows_by_status"].get(key, 0)
                                for key in sorted({*totals["rows_by_status"],
                                                   *before["rows_by_status"]})},
                  "forces_added": sorted(set(manifest["forces"]) - set(previous["forces"])),
                  "forces_dropped": sorted(set(previous["forces"]) - set(manifest["forces"]))}
    maps, shown = {}, {}
    if with_maps:
        outlines, boundaries = _map_layers(manifest.get("options", {}))
        for force, table in sorted(tables.items()):
            maps[force], shown[force] = force_map_svg(force, month, table, outlines=outlines,
                                                      boundary=boundaries.get(force))
    return {
        "month": month, "run_id": manifest["run_id"], "runner": manifest["runner"],
        "seconds": manifest["seconds"], "totals": totals, "by_force": by_force,
        "top_reasons": [{"code": code, "count": count, "meaning": reason_codes.meaning(code)}
                        for code, count in reason_counter.most_common(10)],
        "geocoding": _score_summary(tables), "change_from_previous_month": change,
        "feedback": feedback or {}, "gaps": gaps or {}, "maps": maps, "map_counts": shown,
        "skipped_files": manifest.get("skipped_files", []),
        "warnings": run_warnings(manifest),
        "disclosure": read_disclosure(output, month) or {},
    }


def _table(headers: list[str], rows: list[list[Any]], numeric_from: int = 1) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = []
    for row in rows:
        cells = "".join(
            f"<td class='n'>{html.escape(str(v))}</td>" if i >= numeric_from
            else f"<td>{html.escape(str(v))}</td>" for i, v in enumerate(row))
        body.append(f"<tr>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def report_html(data: dict) -> str:
    """The report as one self-contained HTML page (maps embedded as SVG over a base64 PNG)."""
    month = data["month"]
    statuses = sorted({s for f in data["by_force"].values() for s in f["by_status"]})
    parts = [f"<h1>crimegeo month {html.escape(month)}</h1>",
             f"<p>Run <code>{html.escape(data['run_id'])}</code> on "
             f"{html.escape(str(data['runner']))} in {data['seconds']} s. "
             f"{data['totals']['rows_in']} rows in, {data['totals']['rows_written']} written, "
             f"{data['totals']['rows_rejected']} rejected.</p>"]
    gaps = data["gaps"]
    if gaps.get("missing_forces"):
        parts.append("<div class='gap'><strong>Missing force files:</strong> "
                     + html.escape(", ".join(gaps["missing_forces"]))
                     + f" (expected from {html.escape(gaps.get('expected_from', ''))}). "
                     "The month was published for the other forces; it runs again when the "
                     "file arrives.</div>")
    for warning in data.get("warnings", []):
        parts.append(f"<div class='gap'><strong>Warning:</strong> {html.escape(warning)}."
                     "</div>")
    parts.append("<h2>Records by force and status</h2>")
    rows = [[force, info["records"], info["rejected"],
             *[info["by_status"].get(s, 0) for s in statuses]]
            for force, info in data["by_force"].items()]
    parts.append(_table(["force", "records", "rejected", *statuses], rows))
    parts.append("<h2>Top reasons</h2>")
    parts.append(_table(["reason", "count", "meaning"],
                        [[r["code"], r["count"], r["meaning"]] for r in data["top_reasons"]],
                        numeric_from=1))
    geo = data["geocoding"]
    parts.append("<h2>Geocoding scores</h2>")
    if geo["count"]:
        parts.append(f"<p>{geo['count']} records scored: mean {geo['mean']}, median "
                     f"{geo['median']}, lowest {geo['min']}.</p>")
        parts.append(_table(["score", "records"], [[k, v] for k, v in
                                                   geo["histogram"].items()]))
    else:
        parts.append("<p>No record was geocoded by name.</p>")
    parts.append("<h2>Change from last month</h2>")
    change = data["change_from_previous_month"]
    if change:
        parts.append(_table(["measure", f"change since {change['month']}"], [
            ["rows in", f"{change['rows_in']:+d}"],
            ["written", f"{change['rows_written']:+d}"],
            ["rejected", f"{change['rows_rejected']:+d}"],
            *[[f"status {k}", f"{v:+d}"] for k, v in change["by_status"].items()],
            ["forces added", ", ".join(change["forces_added"]) or "none"],
            ["forces dropped", ", ".join(change["forces_dropped"]) or "none"]]))
    else:
        parts.append("<p>No earlier month in this output to compare with.</p>")
    if data["feedback"]:
        parts.append("<h2>Feedback published to forces</h2>")
        parts.append(_table(["force", "corrections rows", "records change", "file"], [
            [force, info["corrections"], info.get("records_change") or "",
             info["corrections_csv"]] for force, info in sorted(data["feedback"].items())],
            numeric_from=1))
    parts += _disclosure_html(data.get("disclosure") or {})
    parts.append("<h2>Maps: corrected, geocoded and unlocated records</h2>")
    for force, svg in data["maps"].items():
        caption = map_caption(force, month, data["map_counts"].get(force, {}))
        parts.append(f"<figure>{svg}<figcaption>{caption}</figcaption></figure>")
    if data["skipped_files"]:
        parts.append("<h2>Files seen but not read</h2>")
        parts.append(_table(["file", "why"], [[s["url"], s["why"]]
                                              for s in data["skipped_files"]], numeric_from=2))
    style = ("body{font-family:sans-serif;margin:2em;max-width:70em}"
             "table{border-collapse:collapse;margin:.5em 0}"
             "td,th{border:1px solid #ccc;padding:.2em .6em}td.n{text-align:right}"
             "figure{display:inline-block;margin:.5em;vertical-align:top;max-width:540px}"
             "img{border:1px solid #ccc}.key{display:inline-block;margin-right:.8em;"
             "font-size:85%}.swatch{display:inline-block;width:.8em;height:.8em;"
             "margin-right:.3em;vertical-align:middle}"
             ".gap{background:#fff3cd;border:1px solid #e0b000;padding:.6em}")
    return ("<!doctype html><html><head><meta charset='utf-8'>"
            f"<title>crimegeo {html.escape(month)}</title><style>{style}</style></head>"
            f"<body>{''.join(parts)}</body></html>\n")


def _disclosure_rows(disclosure: dict) -> list[list[Any]]:
    rows = []
    for force, entry in disclosure.get("forces", {}).items():
        effect = entry["min_public_count_effect"]
        rows.append([force, entry["status"], entry["records"],
                     entry["records_without_location"], entry["map_points"],
                     entry["records_at_points_under_k"]["3"], entry["unique_cells"],
                     f"{entry['unique_share']:.0%}",
                     *[f"{effect[k]['records_would_move']} / {effect[k]['mean_move_m'] or 0} m"
                       for k in map(str, disclosure.get("k_values", []))]])
    return rows


def _disclosure_headers(disclosure: dict) -> list[str]:
    return ["force", "status", "records", "no location", "map points", "at points < 3",
            "unique cells", "unique share",
            *[f"k={k}: move / mean" for k in disclosure.get("k_values", [])]]


def _disclosure_html(disclosure: dict) -> list[str]:
    """The report's disclosure section: per force, how identifiable its public records are."""
    parts = ["<h2>Disclosure: could a public record single someone out?</h2>"]
    if not disclosure.get("forces"):
        return parts + ["<p>No public records this month.</p>"]
    parts.append(
        "<p>Per force: public records at map points holding fewer than 3 records, unique "
        "(map point, crime type) cells, records published without a location, and what "
        "<code>--min-public-count k</code> would move (records, mean distance). Above "
        f"{disclosure['warn_unique_share']:.0%} unique the report warns; above "
        "<code>--max-unique-share</code> (now "
        f"{disclosure.get('max_unique_share') or 'not set'}) the force's public month is "
        "withheld. Full figures: <code>disclosure.json</code>; meaning: "
        "docs/anonymisation.md.</p>")
    parts.append(_table(_disclosure_headers(disclosure), _disclosure_rows(disclosure),
                        numeric_from=2))
    for force, entry in disclosure["forces"].items():
        if entry["status"] != "ok":
            parts.append(f"<div class='gap'><strong>{html.escape(force)}: "
                         f"{html.escape(entry['status'])}</strong>: "
                         f"{html.escape(entry['why'] or '')}. Recommendation: "
                         f"{html.escape(entry['recommendation']['text'])}.</div>")
    return parts


def report_markdown(data: dict) -> str:
    """A short markdown version of the report, for the Prefect artifact and the log."""
    totals = data["totals"]
    lines = [f"# crimegeo month {data['month']}", "",
             f"Run `{data['run_id']}` in {data['seconds']} s on {data['runner']}: "
             f"{totals['rows_in']} rows in, {totals['rows_written']} written, "
             f"{totals['rows_rejected']} rejected.", ""]
    if data["gaps"].get("missing_forces"):
        lines += [f"**Missing force files:** {', '.join(data['gaps']['missing_forces'])}; "
                  "published for the other forces.", ""]
    for warning in data.get("warnings", []):
        lines += [f"**Warning:** {warning}.", ""]
    statuses = sorted({s for f in data["by_force"].values() for s in f["by_status"]})
    lines += ["| force | records | rejected | " + " | ".join(statuses) + " |",
              "|---|---:|---:|" + "---:|" * len(statuses)]
    for force, info in data["by_force"].items():
        lines.append(f"| {force} | {info['records']} | {info['rejected']} | "
                     + " | ".join(str(info["by_status"].get(s, 0)) for s in statuses) + " |")
    lines += ["", "| top reason | count |", "|---|---:|"]
    lines += [f"| {r['code']} | {r['count']} |" for r in data["top_reasons"]]
    geo = data["geocoding"]
    if geo["count"]:
        lines += ["", f"Geocoding scores: {geo['count']} records, mean {geo['mean']}, "
                      f"lowest {geo['min']}."]
    disclosure = data.get("disclosure") or {}
    if disclosure.get("forces"):
        lines += ["", "Disclosure (docs/anonymisation.md):", "",
                  "| " + " | ".join(_disclosure_headers(disclosure)) + " |",
                  "|---|---|" + "---:|" * (len(_disclosure_headers(disclosure)) - 2)]
        lines += ["| " + " | ".join(str(v) for v in row) + " |"
                  for row in _disclosure_rows(disclosure)]
        lines += [f"- {force}: {entry['recommendation']['text']}"
                  for force, entry in disclosure["forces"].items() if entry["status"] != "ok"]
    change = data["change_from_previous_month"]
    if change:
        lines += ["", f"Change since {change['month']}: rows in {change['rows_in']:+d}, "
                      f"written {change['rows_written']:+d}, "
                      f"rejected {change['rows_rejected']:+d}."]
    return "\n".join(lines) + "\n"


def write_report(output: str, month: str, data: dict) -> str:
    """Write `runs/YYYY-MM/report.html` and `report.json` atomically; returns the HTML URL."""
    url = report_url(output, month)
    write_bytes_atomic(url, report_html(data).encode("utf-8"))
    summary = {key: value for key, value in data.items() if key != "maps"}
    write_json_atomic(OutputLayout(output).report_summary(month), summary)
    return url
