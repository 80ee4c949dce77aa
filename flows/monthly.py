"""The monthly Prefect flow: discover a month's files, run the Beam pipeline, verify, report.

It reads like the operator's runbook. Configuration arrives from the command line or a
deployment as flow parameters; tasks are small and typed. Transient storage errors are retried
with backoff; bad data is never retried: it is rejected and reported by the pipeline, and a file
no profile recognises fails the run at once with an error naming it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import fsspec
import pyarrow.parquet as pq
from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from pipelines.monthly import MonthlyOptions, RunSettings, check_month, run_month
from standards.profiles import load_profiles
from transforms.discover import Discovery, discover_month
from transforms.publish import ReconciliationError, check_reconciliation, read_manifest


def _transient(exception: BaseException | None) -> bool:
    """Storage hiccups are worth retrying; missing files and bad data are not."""
    return isinstance(exception, OSError | ConnectionError | TimeoutError) and not isinstance(
        exception, FileNotFoundError | PermissionError | IsADirectoryError)


def _retry_transient(task: Any, task_run: Any, state: Any) -> bool:
    try:
        state.result()
    except Exception as error:  # noqa: BLE001 - we only classify it
        return _transient(error)
    return False


@task(retries=3, retry_delay_seconds=[2, 5, 15], retry_condition_fn=_retry_transient,
      cache_policy=NO_CACHE)
def discover_inputs(month: str, input_url: str, profile_dirs: Sequence[str]) -> Discovery:
    """List the month's input files and match each to a force profile."""
    discovery = discover_month(input_url, month, load_profiles(profile_dirs))
    logger = get_run_logger()
    for item in discovery.files:
        logger.info("input %s (%d bytes) read by profile %s", item.name, item.size,
                    item.profile)
    for url, why in discovery.skipped:
        logger.info("skipped %s: %s", url, why)
    return discovery


@task(retries=2, retry_delay_seconds=[5, 15], retry_condition_fn=_retry_transient,
      cache_policy=NO_CACHE)
def run_pipeline(beam_args: list[str], discovery: Discovery) -> dict:
    """Run the Beam pipeline over the month and commit its outputs; returns the manifest."""
    result = run_month(MonthlyOptions(beam_args), discovery)
    get_run_logger().info("pipeline wrote %s", result.manifest_url)
    return result.manifest


def _parquet_rows(output: str, kind: str, month: str) -> dict[str, int]:
    fs, root = fsspec.core.url_to_fs(output)
    folder = f"{root.rstrip('/')}/{kind}/month={month}"
    counts: dict[str, int] = {}
    if not fs.exists(folder):
        return counts
    for path in fs.find(folder):
        if not path.endswith(".parquet"):
            continue
        force = path.split("force=", 1)[1].split("/", 1)[0]
        with fs.open(path, "rb") as handle:
            counts[force] = counts.get(force, 0) + pq.ParquetFile(handle).metadata.num_rows
    return counts


@task(cache_policy=NO_CACHE)
def verify_outputs(output: str, month: str) -> dict:
    """Check the published month against its manifest: every row written or rejected."""
    manifest = read_manifest(output, month)
    check_reconciliation(manifest["files"])
    restricted = _parquet_rows(output, "restricted", month)
    public = _parquet_rows(output, "public", month)
    rejected = _parquet_rows(output, "rejected", month)
    totals = manifest["totals"]
    problems = []
    if sum(restricted.values()) != totals["rows_written"]:
        problems.append(f"restricted holds {sum(restricted.values())} rows, manifest says "
                        f"{totals['rows_written']}")
    if public != restricted:
        problems.append(f"public rows by force {public} differ from restricted {restricted}")
    if sum(rejected.values()) != totals["rows_rejected"]:
        problems.append(f"rejected holds {sum(rejected.values())} rows, manifest says "
                        f"{totals['rows_rejected']}")
    if problems:
        raise ReconciliationError(f"{output} month {month}: " + "; ".join(problems))
    return {"restricted": restricted, "public": public, "rejected": rejected}


def summary_markdown(manifest: dict, verified: dict) -> str:
    """A short markdown report of the run, for the Prefect UI and the terminal."""
    lines = [f"# crimegeo month {manifest['month']}", "",
             f"Run `{manifest['run_id']}` in {manifest['seconds']} s on "
             f"{manifest['runner']}.", "",
             "| file | profile | rows in | written | rejected |",
             "|---|---|---:|---:|---:|"]
    for name, stats in sorted(manifest["files"].items()):
        lines.append(f"| {name} | {stats['profile']} | {stats['rows_in']} | "
                     f"{stats['rows_written']} | {stats['rows_rejected']} |")
    lines += ["", "| location status | records |", "|---|---:|"]
    for status, count in sorted(manifest["totals"]["rows_by_status"].items()):
        lines.append(f"| {status} | {count} |")
    lines += ["", f"Restricted rows by force: {verified['restricted']}"]
    return "\n".join(lines) + "\n"


@task(cache_policy=NO_CACHE)
def report(manifest: dict, verified: dict) -> str:
    """Publish the run's summary as a Prefect markdown artifact."""
    markdown = summary_markdown(manifest, verified)
    create_markdown_artifact(markdown=markdown, key=f"crimegeo-{manifest['month']}",
                             description=f"crimegeo monthly run {manifest['month']}")
    return markdown


@flow(name="crimegeo-monthly")
def monthly_flow(month: str, input: str, output: str, gazetteer: str | None = None,
                 profiles: list[str] | None = None, runner: str = "DirectRunner",
                 min_geocode_score: float = 0.8, far_from_street_m: float = 1000.0,
                 boundaries: list[str] | None = None, boundary_tolerance_m: float = 250.0,
                 areas: list[str] | None = None, map_points: str | None = None,
                 min_public_count: int = 1,
                 beam_options: list[str] | None = None) -> dict:
    """Run one month: discover, run the pipeline, verify the outputs, report."""
    check_month(month)
    settings = RunSettings(
        month=month, input=input, output=output, gazetteer=gazetteer,
        profiles=tuple(profiles or ()), runner=runner, min_geocode_score=min_geocode_score,
        far_from_street_m=far_from_street_m, boundaries=tuple(boundaries or ()),
        boundary_tolerance_m=boundary_tolerance_m, areas=tuple(areas or ()),
        map_points=map_points, min_public_count=min_public_count,
        beam_options=tuple(beam_options or ()))
    discovery = discover_inputs(month, input, list(settings.profiles))
    manifest = run_pipeline(settings.to_args(), discovery)
    verified = verify_outputs(output, month)
    report(manifest, verified)
    return manifest
