"""Command line for the gazetteer: ``build``, ``lookup``, ``show``, ``reverse`` and ``evaluate``.

Mounted by the project CLI as ``crimegeo gazetteer``; also runnable alone as
``python -m crimegeo.gazetteer``. Examples::

    python -m crimegeo.gazetteer build ../shared/data/os-open-names --out gaz/
    python -m crimegeo.gazetteer lookup "On or near Alderman'S Walk" \\
        --gazetteer gaz/ --force city-of-london
    python -m crimegeo.gazetteer show osgb4000000074553632 --gazetteer gaz/
    python -m crimegeo.gazetteer reverse -0.0812 51.5179 --gazetteer gaz/ --json

No Beam, no Prefect.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from crimegeo.gazetteer.core import Gazetteer
from crimegeo.gazetteer.model import GazetteerError

app = typer.Typer(
    help="Build a gazetteer from OS Open Names, CSV, vector or police.uk files; geocode street "
    "and area names with a confidence; reverse a point to its 'On or near' label.",
    no_args_is_help=True,
    add_completion=False,
)
_out = Console()
_err = Console(stderr=True)


def _floats(text: str | None, n: int, what: str) -> tuple[float, ...] | None:
    if text is None:
        return None
    try:
        vals = tuple(float(v) for v in text.split(","))
    except ValueError:
        vals = ()
    if len(vals) != n:
        raise typer.BadParameter(f"{what} needs {n} comma-separated numbers, got {text!r}")
    return vals


def _fail(exc: Exception) -> None:
    _err.print(f"[red]error:[/red] {exc}")
    raise typer.Exit(code=1)


@app.command()
def build(
    sources: Annotated[list[str], typer.Argument(
        help="Source files, folders or zips (local paths or fsspec URLs).")],
    out: Annotated[str, typer.Option("--out", help="Artifact folder to write (replaced "
                                     "atomically).")],
    format: Annotated[str | None, typer.Option(
        "--format", help="os-open-names, csv, vector or police-uk; detected when omitted.")] = None,
    crs: Annotated[str | None, typer.Option(
        "--crs", help="CRS of the coordinates, e.g. EPSG:27700 for an x,y CSV.")] = None,
    name_column: Annotated[str | None, typer.Option(
        "--name-column", help="Name field of a vector file.")] = None,
) -> None:
    """Build a gazetteer artifact folder from SOURCE... and print its manifest summary."""
    from crimegeo.gazetteer.build import build_gazetteer

    try:
        m = build_gazetteer(sources, out, format=format, crs=crs, name_column=name_column)
    except GazetteerError as exc:
        _fail(exc)
    t = Table(title=f"gazetteer {out}", show_header=False)
    t.add_row("features", f"{m['features']:,}")
    t.add_row("derived areas", f"{m['derived_area_features']:,}")
    t.add_row("by kind", ", ".join(f"{k} {v:,}" for k, v in m["counts_by_kind"].items() if v))
    t.add_row("skipped", ", ".join(f"{k} {v:,}" for k, v in m["skipped"].items()) or "none")
    t.add_row("build", f"{m['build_seconds']:.2f} s")
    t.add_row("checksum", m["checksum"])
    _out.print(t)


@app.command()
def lookup(
    text: Annotated[str, typer.Argument(help="Street or area name as a force wrote it.")],
    gazetteer: Annotated[str, typer.Option("--gazetteer", help="Artifact folder or URL.")],
    force: Annotated[str | None, typer.Option(
        "--force", help="Restrict to this force's area (registry code).")] = None,
    within: Annotated[str | None, typer.Option(
        "--within", help="Restrict to a BNG box minx,miny,maxx,maxy.")] = None,
    near: Annotated[str | None, typer.Option(
        "--near", help="Prefer candidates near lon,lat.")] = None,
    limit: Annotated[int, typer.Option("--limit", help="Most candidates to show.")] = 5,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON list, best first.")] = False,
) -> None:
    """Geocode TEXT: candidates best first with score and match type."""
    try:
        gaz = Gazetteer.load(gazetteer)
        found = gaz.lookup(text, force=force, within=_floats(within, 4, "--within"),
                           near=_floats(near, 2, "--near"), limit=limit)
    except GazetteerError as exc:
        _fail(exc)
    if as_json:
        print(json.dumps([m.to_dict() for m in found], indent=2))
        return
    if not found:
        _out.print(f"no match for {text!r}")
        raise typer.Exit(code=0)
    t = Table(title=f"lookup {text!r}")
    for c in ("score", "match", "name", "type", "lon", "lat", "id"):
        t.add_column(c)
    for m in found:
        t.add_row(f"{m.score:.2f}", m.match_type, m.name, m.local_type, f"{m.lon:.6f}",
                  f"{m.lat:.6f}", m.id)
    _out.print(t)


@app.command()
def show(
    feature_id: Annotated[str, typer.Argument(
        help="A feature id or OS URI from a lookup or a feedback file (a junction's 'A|B' "
        "shows both).")],
    gazetteer: Annotated[str, typer.Option("--gazetteer", help="Artifact folder or URL.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON list.")] = False,
) -> None:
    """Print the feature an id names: its name, type, point, extent, hierarchy and OS URI."""
    try:
        found = Gazetteer.load(gazetteer).show(feature_id)
    except GazetteerError as exc:
        _fail(exc)
    if as_json:
        print(json.dumps(found, indent=2, default=str))
        return
    if not found:
        _err.print(f"no feature with id or URI {feature_id!r}")
        raise typer.Exit(code=1)
    for feature in found:
        t = Table(title=f"{feature['name']} ({feature['local_type']})", show_header=False)
        for k, v in feature.items():
            if v is not None:
                t.add_row(k, str(v))
        _out.print(t)


@app.command(context_settings={"ignore_unknown_options": True})
def reverse(
    lon: Annotated[float, typer.Argument(help="Longitude (WGS84).")],
    lat: Annotated[float, typer.Argument(help="Latitude (WGS84).")],
    gazetteer: Annotated[str, typer.Option("--gazetteer", help="Artifact folder or URL.")],
    radius: Annotated[float, typer.Option("--radius", help="Search radius in metres.")] = 1000.0,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON object.")] = False,
) -> None:
    """Nearest named road or public place to LON LAT, as "On or near <name>"."""
    try:
        r = Gazetteer.load(gazetteer).reverse(lon, lat, radius_m=radius)
    except GazetteerError as exc:
        _fail(exc)
    if as_json:
        print(json.dumps(r.to_dict() if r else None, indent=2))
        return
    if r is None:
        _out.print(f"nothing within {radius:g} m")
        return
    _out.print(f"{r.label}  ({r.distance_m:.1f} m, {r.lon:.6f},{r.lat:.6f}, {r.id})")


@app.command()
def evaluate(
    data: Annotated[str, typer.Option(
        "--data", help="Folder of police.uk monthly files of one force.")],
    train: Annotated[str, typer.Option(
        "--train", help="Months to build from, FIRST..LAST (YYYY-MM..YYYY-MM).")] = (
        "2017-12..2019-06"),
    test: Annotated[str, typer.Option(
        "--test", help="Months to geocode, FIRST..LAST.")] = "2019-07..2020-11",
    force: Annotated[str | None, typer.Option("--force", help="Restrict to this force.")] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the perturbations.")] = 7,
    as_json: Annotated[bool, typer.Option("--json", help="Print the figures as JSON.")] = False,
) -> None:
    """Geocode perturbed police.uk labels of some months against a gazetteer of other months.

    Prints the measures of issue 16 (single-point labels within 25 m, streets placed on the
    street, generic labels answered confidently, confident answers right), per label class and
    perturbation class, and the reliability table (score band -> share right).
    """
    from crimegeo.gazetteer.evaluate import evaluate_police_uk, format_report, public

    try:
        report = evaluate_police_uk(data, train=train, test=test, force=force, seed=seed)
    except GazetteerError as exc:
        _fail(exc)
    if as_json:
        print(json.dumps(public(report), indent=2))
    else:
        _out.print(format_report(report))


def main() -> None:
    """Entry point of ``python -m crimegeo.gazetteer``."""
    app()
