"""The `crimegeo` command line: run months, run the bare pipeline, make demo data, inspect.

Every command has `--help`. Configuration lives here, at the edge, and reaches the flow and
pipeline as parameters.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from crimegeo.flows.deploy import DEFAULT_CRON, DEFAULT_TIMEZONE, DEPLOYMENT_NAME
from crimegeo.flows.errors import Debug, fail, one_line_errors, preflight, printable
from crimegeo.flows.options import BEAM_PASSTHROUGH, FLOW_ONLY, takes_settings
from crimegeo.pipelines.settings import (
    Anonymising,
    GazetteerSource,
    Inputs,
    RunSettings,
)
from crimegeo.standards.public_ids import write_new_key
from crimegeo.store.current import live_layout
from crimegeo.store.layout import OutputLayout

if TYPE_CHECKING:
    from crimegeo.flows.progress import RichProgress

app = typer.Typer(
    help="crimegeo: normalise police forces' crime exports to one location standard, geocode "
         "by street or area name, and publish GeoParquet, a public dataset and force feedback.",
    no_args_is_help=True, add_completion=False,
)
# Piped into a log or run by `make`, rich would assume 80 columns and fold every path; a
# terminal keeps its own width.
console = Console(stderr=True, width=None if sys.stderr.isatty() else 140)

#: The demo's throwaway public id key, in the demo folder beside (not in) its output.
DEMO_KEY_FILE = "demo-public-id.key"

MonthOpt = Annotated[str, typer.Option("--month", help="Month to run, YYYY-MM.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the manifest as JSON.")]


def _mount_gazetteer() -> None:
    from crimegeo.gazetteer.cli import app as gazetteer_app

    app.add_typer(gazetteer_app, name="gazetteer",
                  help="Build a gazetteer, look names up, reverse points to labels.")


_mount_gazetteer()


def _mount_feeds() -> None:
    from crimegeo.feeds.cli import app as feeds_app

    app.add_typer(feeds_app, name="feeds",
                  help="Serve forces their feedback over HTTP; manage their API keys.")


_mount_feeds()


def _mount_public() -> None:
    from crimegeo.public.cli import app as public_app

    app.add_typer(public_app, name="public",
                  help="Serve the public search site and police.uk-compatible API.")


_mount_public()


def _mount_watch() -> None:
    from crimegeo.flows.watch import watch

    app.command("watch", context_settings=BEAM_PASSTHROUGH)(watch)


_mount_watch()


def _fail(message: str) -> None:
    fail(console, message)


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        typer.echo(f"crimegeo {version('crimegeo')}")
        raise typer.Exit()


@app.callback()
def _everywhere(
    debug: Annotated[bool, typer.Option(
        "--debug", help="Show the traceback of an error, not just its one line.")] = False,
    show_version: Annotated[bool, typer.Option(
        "--version", callback=_version, is_eager=True,
        help="Print crimegeo's version and exit.")] = False,
) -> None:
    """Options for every command."""
    Debug.on = debug


def print_manifest(manifest: dict, output: str) -> None:
    """Show what a run wrote: per file, per status, and where."""
    files = Table(title=f"Month {manifest['month']}: inputs", show_lines=False)
    for column in ("file", "profile", "rows in", "written", "rejected", "rejected by reason"):
        files.add_column(column, justify="right" if column in ("rows in", "written",
                                                                "rejected") else "left")
    for name, stats in sorted(manifest["files"].items()):
        reasons = ", ".join(f"{k} {v}" for k, v in sorted(stats["rejected_by_reason"].items()))
        files.add_row(name, stats["profile"], str(stats["rows_in"]),
                      str(stats["rows_written"]), str(stats["rows_rejected"]), reasons)
    totals = manifest["totals"]
    files.add_row("[bold]total", "", f"[bold]{totals['rows_in']}",
                  f"[bold]{totals['rows_written']}", f"[bold]{totals['rows_rejected']}", "")
    console.print(files)
    statuses = Table(title="Location status of written records")
    statuses.add_column("status")
    statuses.add_column("records", justify="right")
    for status, count in sorted(totals["rows_by_status"].items()):
        statuses.add_row(status, str(count))
    console.print(statuses)
    month = manifest["month"]
    layout = live_layout(output, month)
    where = Table(title="Outputs", show_header=True)
    where.add_column("what")
    where.add_column("where")
    where.add_row("restricted GeoParquet (exact locations)",
                  layout.partition("restricted", month, "*") + "/")
    where.add_row("public GeoParquet (anonymised)", layout.partition("public", month, "*") + "/")
    where.add_row("force feedback", layout.feedback_file("*", month, "corrections.csv"))
    where.add_row("rejected rows", layout.partition("rejected", month, "*") + "/")
    where.add_row("run manifest", layout.manifest(month))
    where.add_row("the month's pointer to these (read it first)",
                  OutputLayout(output).pointer(month))
    where.add_row("run report, with a map per force (flow runs)",
                  OutputLayout(output).report(month))
    console.print(where)
    console.print(f"Forces: {', '.join(manifest['forces'])}. Coordinates converted with "
                  f"{manifest['coordinate_transformation']}.")
    from crimegeo.flows.report import run_warnings

    for skipped in manifest.get("skipped_files", []):
        console.print(f"skipped {printable(str(skipped['url']))}: {printable(skipped['why'])}",
                      soft_wrap=True)

    for warning in run_warnings(manifest):
        console.print(f"[bold yellow]warning:[/] {printable(warning)}", soft_wrap=True)


def _flows_while_prefect_starts(settings: RunSettings | None = None
                                ) -> tuple[ModuleType, Callable[[], None]]:
    """`flows.monthly`, imported while Prefect's temporary server boots, and a wait for it.

    The server's subprocess boots on the other core during the ~2 s of Beam's imports
    (see `flows.server`); call the wait before the first flow runs.
    """
    from crimegeo.flows.server import start_temporary_server

    server = start_temporary_server()
    from crimegeo.flows import monthly

    return monthly, (server.join if server is not None else lambda: None)


def _watching(months: int = 1) -> RichProgress:
    from crimegeo.flows.progress import RichProgress

    return RichProgress(console, months)


@app.command(context_settings=BEAM_PASSTHROUGH)
@takes_settings()
def run(ctx: typer.Context, settings: RunSettings, month: MonthOpt,
        json_output: JsonOpt = False) -> None:
    """Run one month through the Prefect flow, showing progress.

    Discover, gazetteer, pipeline, verify, feedback, report: the report lands in
    OUTPUT/runs/YYYY-MM/report.html. Extra arguments after the options pass to Beam, e.g.
    `--runner multi-process -- --direct_num_workers 4`.
    """
    from crimegeo.flows import progress

    with one_line_errors(console):
        preflight(settings, month, check_key=True)
        monthly, prefect_ready = _flows_while_prefect_starts(settings)
        started = time.perf_counter()
        prefect_ready()
        with _watching() as display, progress.listen(display):
            outcome = monthly.monthly_flow(month, settings)
    _finish(outcome["manifest"], settings.output, json_output, started)
    if not json_output:
        console.print(f"Report: {outcome['report_url']}")


@app.command(context_settings=BEAM_PASSTHROUGH)
@takes_settings()
def backfill(ctx: typer.Context, settings: RunSettings,
             start: Annotated[str, typer.Option("--from", help="First month, YYYY-MM.")],
             end: Annotated[str, typer.Option("--to", help="Last month, YYYY-MM.")],
             force: Annotated[bool, typer.Option(
                 "--force", help="Run every month, even those unchanged since their last "
                                 "verified run.")] = False,
             json_output: JsonOpt = False) -> None:
    """Run a range of months, skipping those whose inputs and code are unchanged.

    A month reruns when a file was added, removed or resubmitted, or the code, gazetteer or
    options changed since its last verified run; `--force` runs them all. A month without
    input files is reported and left as it is. A failed month does not stop the others.
    """
    from crimegeo.flows import progress

    failed = None
    with one_line_errors(console):
        preflight(settings, start, end)
        monthly, prefect_ready = _flows_while_prefect_starts(settings)
        months = monthly.month_range(start, end)
        started = time.perf_counter()
        prefect_ready()
        with _watching(len(months)) as display, progress.listen(display):
            try:
                outcomes = monthly.backfill_flow(start, end, settings, force=force)
            except RuntimeError as error:  # some months failed; the others ran
                failed = str(error)
                outcomes = None
    if json_output and outcomes is not None:
        typer.echo(json.dumps(outcomes, indent=2, sort_keys=True))
    elif outcomes is not None:
        table = Table(title=f"Months {start} to {end}")
        for column in ("month", "status", "why", "missing forces"):
            table.add_column(column)
        for outcome in outcomes:
            table.add_row(outcome["month"], outcome["status"], "; ".join(outcome["why"]),
                          ", ".join(outcome["missing_forces"]))
        console.print(table)
        console.print(f"Done in {time.perf_counter() - started:.1f} s. Reports: "
                      f"{OutputLayout(settings.output).report('YYYY-MM')}")
    if failed:
        _fail(failed)


@app.command(context_settings=BEAM_PASSTHROUGH)
@takes_settings()
def serve(ctx: typer.Context, settings: RunSettings,
          cron: Annotated[str, typer.Option(
              "--cron", help="When to run, as cron (minute hour day month weekday).")]
          = DEFAULT_CRON,
          timezone: Annotated[str, typer.Option(
              "--timezone", help="IANA time zone the cron is read in, and in which the month "
                                 "just ended is decided.")] = DEFAULT_TIMEZONE,
          recheck_months: Annotated[int, typer.Option(
              "--recheck-months", min=0, help="Also rerun this many earlier months when their "
                                              "inputs changed (resubmissions).")] = 2,
          name: Annotated[str, typer.Option("--name", help="Deployment name.")]
          = DEPLOYMENT_NAME,
          ) -> None:
    """Serve the monthly flow on a schedule from this process, until Ctrl-C.

    Each scheduled run closes the month just ended (in --timezone) and reruns the
    --recheck-months before it whose inputs changed. Runs show in the Prefect UI. For a
    Prefect server with a work pool, use prefect.yaml instead (docs/operations.md).
    """
    from crimegeo.flows.deploy import build_deployment, serve_deployment
    from crimegeo.flows.runners import resolve_runner

    with one_line_errors(console):
        preflight(settings, input_may_be_missing=True)
        resolve_runner(settings.runner.runner, settings.runner.beam_options,
                       urls=settings.resource_urls(), dask_address=settings.runner.dask_address)
        deployment = build_deployment(settings, recheck_months=recheck_months, name=name,
                                      cron=cron, timezone=timezone)
    console.print(f"Serving {name}: cron '{cron}' in {timezone}; input "
                  f"{settings.inputs.input}, output {settings.output}. Ctrl-C stops.")
    serve_deployment(deployment)


@app.command(context_settings=BEAM_PASSTHROUGH)
@takes_settings(exclude=FLOW_ONLY)
def pipeline(ctx: typer.Context, settings: RunSettings, month: MonthOpt,
             json_output: JsonOpt = False) -> None:
    """Run one month through the Beam pipeline only, without Prefect."""
    from crimegeo.flows.runners import resolve_runner

    with one_line_errors(console):
        preflight(settings, month, check_key=True)
        choice = resolve_runner(settings.runner.runner, settings.runner.beam_options,
                                urls=settings.resource_urls(),
                                dask_address=settings.runner.dask_address)
        settings = settings.with_runner(choice.runner, choice.beam_options)
        from crimegeo.pipelines.ahead import month_started, start_fork_server_early

        start_fork_server_early(settings)  # its imports run beside the driver's
        started = time.perf_counter()
        # The month's worker processes start, and begin on its files, while Beam is
        # imported and the pipeline built.
        with month_started(settings, month) as start:
            from crimegeo.pipelines.monthly import run_month

            for warning in choice.warnings:
                console.print(f"[yellow]warning:[/] {printable(warning)}")
            with console.status(f"Running month {month} through Beam ({choice.runner})..."):
                result = run_month(settings, month, started=start)
    _finish(result.manifest, settings.output, json_output, started)


def _finish(manifest: dict, output: str, json_output: bool, started: float) -> None:
    if json_output:
        typer.echo(json.dumps(manifest, indent=2, sort_keys=True))
        return
    print_manifest(manifest, output)
    console.print(f"Done in {time.perf_counter() - started:.1f} s.")


@app.command()
def sample(
    out: Annotated[Path, typer.Option("--out", help="Folder to write the sample into.")],
    month: Annotated[str, typer.Option("--month", help="Month, YYYY-MM.")] = "2024-03",
    rows: Annotated[int, typer.Option("--rows", min=10, help="Rows across all forces.")]
    = 6000,
    seed: Annotated[int, typer.Option("--seed", help="Random seed; same seed, same data.")]
    = 7,
) -> None:
    """Generate a deterministic demo month (four forces, four formats) and its gazetteer."""
    from crimegeo.flows.sample import generate_sample
    from crimegeo.gazetteer import build_gazetteer
    from crimegeo.pipelines.monthly import check_month

    try:
        check_month(month)
    except ValueError as error:
        _fail(str(error))
    with console.status("Generating the sample month..."):
        summary = generate_sample(out, month=month, rows=rows, seed=seed)
    with console.status("Building its gazetteer..."):
        build_gazetteer([summary["gazetteer_source"]], str(out / "gazetteer"), format="csv")
    summary["gazetteer"] = str(out / "gazetteer")
    table = Table(title=f"Sample month {month} in {out}")
    table.add_column("file")
    table.add_column("force")
    table.add_column("profile")
    table.add_column("rows", justify="right")
    for name, info in summary["files"].items():
        table.add_row(name, info["force"], info["profile"], str(info["rows"]))
    console.print(table)
    console.print("Defects injected: " + ", ".join(
        f"{k} {v}" for k, v in sorted(summary["defects"].items()) if k != "none"))
    console.print(f"Input: {summary['input']}\nGazetteer: {summary['gazetteer']}\n"
                  f"Truth: {summary['truth']}")


@app.command()
def demo(
    out: Annotated[Path, typer.Option("--out", help="Folder for the demo data and outputs.")]
    = Path("demo-output"),
    month: Annotated[str, typer.Option("--month", help="Month, YYYY-MM.")] = "2024-03",
    rows: Annotated[int, typer.Option("--rows", min=10, help="Rows across all forces.")]
    = 6000,
) -> None:
    """Generate the demo month and run it through the Prefect flow, then show the outputs."""
    sample(out=out, month=month, rows=rows, seed=7)
    output = str(out / "output")
    # A throwaway key of the demo's own, beside the output and never in it; kept, so that
    # running the demo again gives the same public ids.
    key_file = out / DEMO_KEY_FILE
    if not key_file.exists():
        write_new_key(key_file)
        console.print(f"Made a throwaway public id key for the demo: {key_file}")
    console.print(f"Running the monthly flow for {month} (Prefect temporary server, "
                  "in-process Beam runner)...")
    monthly, prefect_ready = _flows_while_prefect_starts()
    started = time.perf_counter()
    prefect_ready()
    settings = RunSettings(inputs=Inputs(input=str(out / "input")), output=output,
                           gazetteer=GazetteerSource(gazetteer=str(out / "gazetteer")),
                           anonymising=Anonymising(public_id_key_file=str(key_file)))
    outcome = monthly.monthly_flow(month, settings)
    _finish(outcome["manifest"], output, False, started)


@app.command("public-id-key")
def public_id_key(
    file: Annotated[Path, typer.Argument(help="Where to write the new key (a new file).")],
) -> None:
    """Make a new random key for public ids in FILE (readable by you only).

    Keep it outside the output and the repository, and give it to runs with
    --public-id-key-file FILE (or its text in CRIMEGEO_PUBLIC_ID_KEY). The same key gives the
    same public ids in every month; a new key gives new ones (docs/anonymisation.md).
    """
    with one_line_errors(console):
        key = write_new_key(file)
    console.print(f"wrote a new public id key to {file} (key id {key.key_id}); pass "
                  f"--public-id-key-file {file} to runs")


@app.command()
def profiles(
    folder: Annotated[list[str] | None, typer.Option(
        "--profiles", help="Extra folder of profiles (repeatable).")] = None,
) -> None:
    """List the force input profiles and how each recognises a file."""
    from crimegeo.standards.profiles import load_profiles

    table = Table(title="Force input profiles")
    for column in ("name", "format", "force", "file names", "header signature", "ids",
                   "publishable"):
        table.add_column(column)
    for profile in load_profiles(folder or []):
        table.add_row(profile.name, profile.format, profile.force_code or "(from rows)",
                      ", ".join(profile.filename_globs),
                      ", ".join(profile.header_signature), profile.id_kind,
                      ", ".join(profile.publishable) or "(none)")
    console.print(table)


@app.command()
def standard(
    out: Annotated[Path | None, typer.Option(
        "--out", help="Write the JSON Schema here instead of printing it.")] = None,
) -> None:
    """Print the location standard's record JSON Schema."""
    from crimegeo.standards.schema import record_json_schema_text

    text = record_json_schema_text()
    if out:
        out.write_text(text, encoding="utf-8")
        console.print(f"wrote {out}")
    else:
        sys.stdout.write(text)


def main() -> None:
    """The command line (`python -m crimegeo.flows` and `crimegeo` run it through `__main__`)."""
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    app()


if __name__ == "__main__":
    main()
