"""The Prefect flows: one month, a range of months, and the scheduled monthly run.

They read like the operator's runbook: discover the month's inputs, ensure the gazetteer,
run the Beam pipeline, verify the outputs against the manifest, publish the forces' feedback,
report, and record what the month was made from. Configuration arrives from the command line
or a deployment as flow parameters; tasks are small and typed. Transient storage errors are
retried with backoff; bad data is never retried: the pipeline rejects and reports it, and a
file no profile recognises fails its month at once with an error naming it.

- `monthly_flow` runs one month (`crimegeo run`);
- `backfill_flow` runs a range, skipping months whose inputs, code, gazetteer and options are
  unchanged since their last verified run, unless forced (`crimegeo backfill`);
- `scheduled_flow` is what a schedule runs (`crimegeo serve`, `prefect.yaml`): the month just
  ended plus a few before it, so a resubmitted or late file reruns its month.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from crimegeo.flows import progress
from crimegeo.flows.fingerprint import (
    code_fingerprint,
    differences,
    fingerprint_url,
    gazetteer_cache_key,
    month_fingerprint,
    read_fingerprint,
    resource_checksums,
    sha256_tree,
)
from crimegeo.flows.report import build_report, report_markdown, write_report
from crimegeo.flows.runners import resolve_runner
from crimegeo.gazetteer import Gazetteer, GazetteerError, build_gazetteer
from crimegeo.pipelines.local import DASK_NAMES, IN_PROCESS_NAMES
from crimegeo.pipelines.monthly import check_month, months_at_once, new_run_id
from crimegeo.pipelines.settings import (
    FILES,
    GAZETTEER,
    TREE,
    GazetteerSource,
    RunSettings,
    fingerprint_fields,
)
from crimegeo.pipelines.streaming import close_month
from crimegeo.standards.months import previous_month
from crimegeo.standards.profiles import load_profiles
from crimegeo.store.feedback import published_feedback
from crimegeo.store.files import read_json, write_json_atomic
from crimegeo.store.inputs import Discovery, discover_month
from crimegeo.store.layout import OutputLayout
from crimegeo.store.parts import rows_by_force
from crimegeo.store.publish import (
    ReconciliationError,
    check_reconciliation,
    manifest_url,
    read_manifest,
)

#: HTTP statuses object stores use for "try again".
TRANSIENT_HTTP = {408, 429, 500, 502, 503, 504}
#: How many earlier months decide which forces a month is expected to have.
EXPECTED_FORCES_LOOKBACK = 12
#: Months a range runs at once on a Dask cluster unless `--concurrent-months` says: enough
#: to keep a few workers busy while other months are between pipelines (discovery, commit,
#: verification and the report run on the driver).
DASK_MONTHS_AT_ONCE = 4


def is_transient(exception: BaseException | None) -> bool:
    """Storage hiccups are worth retrying; missing files and bad data are not."""
    if isinstance(exception, FileNotFoundError | PermissionError | IsADirectoryError
                  | NotADirectoryError):
        return False
    if isinstance(exception, OSError | ConnectionError | TimeoutError):
        return True
    return getattr(exception, "code", None) in TRANSIENT_HTTP  # gcsfs / s3fs HTTP errors


def _retry_transient(task: Any, task_run: Any, state: Any) -> bool:
    """Prefect retry condition: retry only when the task failed on a transient error."""
    try:
        state.result()
    except Exception as error:  # noqa: BLE001 - we only classify it
        return is_transient(error)
    return False


RETRY = {"retries": 3, "retry_delay_seconds": [2, 5, 15],
         "retry_condition_fn": _retry_transient, "cache_policy": NO_CACHE}


@dataclass
class MonthOutcome:
    """What happened to one month: ran, skipped (unchanged), had no inputs, or failed."""

    month: str
    status: str
    why: list[str] = field(default_factory=list)
    manifest: dict | None = None
    report_url: str | None = None
    missing_forces: list[str] = field(default_factory=list)

    def as_dict(self, *, with_manifest: bool = False) -> dict:
        """JSON-ready; the manifest (also in `runs/YYYY-MM/manifest.json`) only if asked."""
        values = asdict(self)
        if not with_manifest:
            values.pop("manifest")
        if self.manifest:
            values["run_id"] = self.manifest["run_id"]
            values["rows_in"] = self.manifest["totals"]["rows_in"]
        return values


# --------------------------------------------------------------------------------- tasks


@task(task_run_name="discover-inputs-{month}", **RETRY)
def discover_inputs(month: str, input_url: str, profile_dirs: Sequence[str]) -> Discovery:
    """List the month's input files and match each to a force profile."""
    progress.emit("stage", month=month, stage="discovering inputs")
    discovery = discover_month(input_url, month, load_profiles(profile_dirs))
    logger = get_run_logger()
    for item in discovery.files:
        logger.info("input %s (%d bytes) read by profile %s", item.name, item.size,
                    item.profile)
    for url, why in discovery.skipped:
        logger.info("skipped %s: %s", url, why)
    progress.emit("files", month=month, files=len(discovery.files),
                  bytes=sum(item.size for item in discovery.files))
    return discovery


def _gazetteer_complete(url: str) -> bool:
    return _gazetteer_checksum(url) is not None


@task(task_run_name="ensure-gazetteer", **RETRY)
def ensure_gazetteer(source: GazetteerSource, output: str) -> str | None:
    """The gazetteer to use: the one given, or one built from the sources once and cached.

    The cache folder (default OUTPUT/_gazetteer) is keyed by the sources' sha256 and the
    format, so the same sources are built once and a changed source builds a new gazetteer.
    """
    if not source.sources:
        return source.gazetteer
    sources, format = list(source.sources), source.format
    logger = get_run_logger()
    cache = source.cache or OutputLayout(output).gazetteer_cache()
    target = f"{cache.rstrip('/')}/{gazetteer_cache_key(sources, format)}"
    if _gazetteer_complete(target):
        logger.info("gazetteer %s is built from these sources already", target)
        return target
    logger.info("building the gazetteer from %s into %s", ", ".join(sources), target)
    manifest = build_gazetteer(list(sources), target, format=format)
    logger.info("gazetteer built: %d features, checksum %s", manifest["features"],
                manifest["checksum"][:12])
    return target


@task(task_run_name="run-pipeline-{month}", retries=2, retry_delay_seconds=[5, 15],
      retry_condition_fn=_retry_transient, cache_policy=NO_CACHE)
def run_pipeline(month: str, settings: RunSettings, discovery: Discovery) -> dict:
    """Run the Beam pipeline over the month and commit its outputs; returns the manifest.

    Each attempt is a new run with its own staging folder; the published month changes only
    when an attempt has finished and reconciled.
    """
    progress.emit("stage", month=month, stage="running the pipeline")
    run_id = new_run_id(month)
    with progress.watch_rows(month, OutputLayout(settings.output).staging(run_id)):
        # Closing the month: one batch run over its files replaces whatever streaming
        # ingestion wrote for it (identical by construction) and records the close.
        result = close_month(settings, month, discovery, run_id=run_id)
    get_run_logger().info("pipeline wrote %s", result.manifest_url)
    return result.manifest


@task(task_run_name="verify-outputs-{month}", **RETRY)
def verify_outputs(output: str, month: str) -> dict:
    """Check the published month against its manifest: every row written or rejected."""
    progress.emit("stage", month=month, stage="verifying outputs")
    manifest = read_manifest(output, month)
    check_reconciliation(manifest["files"])
    restricted = rows_by_force(output, "restricted", month)
    public = rows_by_force(output, "public", month)
    rejected = rows_by_force(output, "rejected", month)
    totals = manifest["totals"]
    problems = []
    if sum(restricted.values()) != totals["rows_written"]:
        problems.append(f"restricted holds {sum(restricted.values())} rows, manifest says "
                        f"{totals['rows_written']}")
    withheld = set(manifest.get("public_withheld", {}))
    expected_public = {force: rows for force, rows in restricted.items()
                       if force not in withheld}
    if public != expected_public:
        problems.append(f"public rows by force {public} differ from restricted "
                        f"{expected_public} (less the forces withheld: "
                        f"{', '.join(sorted(withheld)) or 'none'})")
    if sum(rejected.values()) != totals["rows_rejected"]:
        problems.append(f"rejected holds {sum(rejected.values())} rows, manifest says "
                        f"{totals['rows_rejected']}")
    if problems:
        raise ReconciliationError(f"{output} month {month}: " + "; ".join(problems))
    return {"restricted": restricted, "public": public, "rejected": rejected}


@task(task_run_name="publish-feedback-{month}", **RETRY)
def publish_feedback(output: str, month: str, manifest: dict) -> dict[str, dict]:
    """Check each force's feedback for the month is published by this run, and announce it.

    The pipeline writes the feedback; this step proves every force's `corrections.csv`,
    `corrections.geojson` and `summary.json` are in place and listed in the force's
    `index.json` under this run, and logs what changed for each force since last month.
    """
    progress.emit("stage", month=month, stage="publishing feedback")
    logger = get_run_logger()
    published: dict[str, dict] = {}
    for feedback in published_feedback(output, month):
        force, summary = feedback.force, feedback.summary
        if feedback.missing:
            raise ReconciliationError(f"feedback for {force} {month} lacks {feedback.missing}")
        listed = {entry["month"]: entry.get("run_id")
                  for entry in (feedback.index or {}).get("months", [])}
        if listed.get(month) != manifest["run_id"] or summary.get("run_id") != manifest["run_id"]:
            raise ReconciliationError(
                f"feedback for {force} {month} is not from run {manifest['run_id']}")
        corrections = feedback.corrections
        change = summary.get("change_from_previous_month") or {}
        records_change = (f"{change['records']:+d} since {summary['previous_month']}"
                          if change else None)
        published[force] = {"corrections": corrections, "records": summary["records"],
                            "rejected": summary["rejected"], "records_change": records_change,
                            "corrections_csv": feedback.corrections_url}
        logger.info("feedback for %s: %d rows in corrections.csv%s", force, corrections,
                    f", records {records_change}" if records_change else "")
    return published


@task(task_run_name="report-{month}", **RETRY)
def report(output: str, month: str, manifest: dict, feedback: dict, gaps: dict) -> str:
    """Write `runs/YYYY-MM/report.html` and publish a Prefect markdown artifact."""
    progress.emit("stage", month=month, stage="writing the report")
    data = build_report(output, month, manifest, feedback=feedback, gaps=gaps)
    url = write_report(output, month, data)
    markdown = report_markdown(data) + f"\nFull report with maps: `{url}`\n"
    create_markdown_artifact(markdown=markdown, key=f"crimegeo-{month}",
                             description=f"crimegeo monthly run {month}")
    get_run_logger().info("report written to %s", url)
    return url


@task(task_run_name="record-fingerprint-{month}", **RETRY)
def record_fingerprint(output: str, month: str, fingerprint: dict, run_id: str) -> str:
    """Record what the verified month was made from; later runs compare against it."""
    return write_json_atomic(fingerprint_url(output, month), {**fingerprint, "run_id": run_id})


# --------------------------------------------------------------------------------- helpers


def month_range(start: str, end: str) -> list[str]:
    """Every month from `start` to `end` inclusive (YYYY-MM)."""
    check_month(start)
    check_month(end)
    if start > end:
        raise ValueError(f"--from {start} is after --to {end}")
    months, (year, mon) = [], (int(start[:4]), int(start[5:]))
    while f"{year}-{mon:02d}" <= end:
        months.append(f"{year}-{mon:02d}")
        year, mon = (year + 1, 1) if mon == 12 else (year, mon + 1)
    return months


def month_before(now: dt.datetime, timezone: str) -> str:
    """The month that ended before `now` in `timezone` (the month a monthly run closes)."""
    local = now.astimezone(ZoneInfo(timezone))
    return previous_month(f"{local.year}-{local.month:02d}")


def expected_forces(output: str, month: str, given: Sequence[str] | None) -> tuple[list[str], str]:
    """The forces a month should have, and where that list came from.

    Given explicitly, it is that list; otherwise every force published in the
    `EXPECTED_FORCES_LOOKBACK` months before, so a force whose file stops arriving is
    reported month after month until it is a year gone.
    """
    if given:
        return sorted(given), "the expected_forces parameter"
    forces: set[str] = set()
    earlier = month
    for _ in range(EXPECTED_FORCES_LOOKBACK):
        earlier = previous_month(earlier)
        manifest = read_json(manifest_url(output, earlier))
        if manifest:
            forces.update(manifest.get("forces", []))
    return sorted(forces), f"the {EXPECTED_FORCES_LOOKBACK} months before {month}"


def _gazetteer_checksum(uri: str | None) -> str | None:
    if not uri:
        return None
    try:
        return Gazetteer.read_manifest(uri)["checksum"]
    except GazetteerError:  # not built yet: nothing to fingerprint
        return None


#: How each kind of resource setting enters the fingerprint: by its contents, not its name.
FINGERPRINT_OF = {
    FILES: resource_checksums,
    GAZETTEER: _gazetteer_checksum,
    TREE: lambda paths: {path: sha256_tree(path) for path in paths},
}


def _fingerprint(settings: RunSettings, discovery: Discovery) -> dict:
    options = {name: FINGERPRINT_OF[resource](value) if resource else value
               for name, value, resource in fingerprint_fields(settings)}
    return month_fingerprint(
        inputs={item.name: item.checksum for item in discovery.files}, code=code_fingerprint(),
        gazetteer_checksum=_gazetteer_checksum(settings.gazetteer.gazetteer), options=options)


def _unchanged(output: str, month: str, current: dict) -> list[str]:
    """Why the month must run; empty when it is unchanged since its last verified run."""
    recorded = read_fingerprint(output, month)
    changes = differences(recorded, current)
    if not changes:
        try:
            published = read_manifest(output, month)["run_id"]
        except FileNotFoundError:
            return ["no published month"]
        if published != recorded.get("run_id"):
            changes.append(f"the published month is from run {published}, not the verified "
                           f"run {recorded.get('run_id')}")
    return changes


def run_one_month(month: str, settings: RunSettings, *, skip_unchanged: bool = False
                  ) -> MonthOutcome:
    """The runbook for one month, as tasks of the calling flow."""
    output = settings.output
    logger = get_run_logger()
    progress.emit("stage", month=month, stage="starting")
    discovery = discover_inputs(month, settings.inputs.input, list(settings.inputs.profiles))
    if not discovery.files:
        why = f"no input files for {month} under {settings.inputs.input}"
        progress.emit("done", month=month, status="no inputs", rows=0)
        return MonthOutcome(month, "no-inputs", [why])
    settings = settings.with_gazetteer(ensure_gazetteer(settings.gazetteer, output))
    current = _fingerprint(settings, discovery)
    if skip_unchanged:
        changes = _unchanged(output, month, current)
        if not changes:
            logger.info("month %s is unchanged since its last verified run: skipped", month)
            manifest = read_manifest(output, month)
            progress.emit("done", month=month, status="unchanged, skipped",
                          rows=manifest["totals"]["rows_in"])
            return MonthOutcome(month, "skipped", ["inputs, code, gazetteer and options "
                                                   "unchanged"], manifest)
        logger.info("month %s runs: %s", month, "; ".join(changes))
    else:
        changes = ["run requested"]
    manifest = run_pipeline(month, settings, discovery)
    verify_outputs(output, month)
    feedback = publish_feedback(output, month, manifest)
    want, source = expected_forces(output, month, settings.expected_forces)
    missing = sorted(set(want) - set(manifest["forces"]))
    gaps = {"expected": want, "expected_from": source, "missing_forces": missing}
    if missing:
        # "No file" would be wrong when the force's file came but was skipped (all of
        # another month, empty): name what was skipped beside the forces with no records.
        skipped = [f"{entry['url'].rsplit('/', 1)[-1]} ({entry['why']})"
                   for entry in manifest.get("skipped_files") or []]
        logger.warning("month %s has no records for %s (expected from %s)%s; published for "
                       "the other forces", month, ", ".join(missing), source,
                       f"; skipped: {'; '.join(skipped)}" if skipped else "")
    url = report(output, month, manifest, feedback, gaps)
    record_fingerprint(output, month, current, manifest["run_id"])
    progress.emit("done", month=month, status="done", rows=manifest["totals"]["rows_in"],
                  why=f"missing {', '.join(missing)}" if missing else "")
    return MonthOutcome(month, "ran", changes, manifest, url, missing)


def resolve_settings(settings: RunSettings) -> RunSettings:
    """Check the settings a month runs with and resolve the runner choice."""
    if settings.gazetteer.gazetteer and settings.gazetteer.sources:
        raise ValueError("give either --gazetteer or --gazetteer-source, not both")
    choice = resolve_runner(settings.runner.runner, settings.runner.beam_options,
                            urls=settings.resource_urls(),
                            dask_address=settings.runner.dask_address)
    for warning in choice.warnings:
        get_run_logger().warning(warning)
    return settings.with_runner(choice.runner, choice.beam_options)


def months_at_a_time(settings: RunSettings) -> int:
    """How many months a range runs at once: `--concurrent-months`, else four on a Dask
    cluster (whose workers take the months' files side by side) and one on this machine's
    runners (the in-process runner has one core's worth of Python to give)."""
    runner = settings.runner
    if runner.runner in IN_PROCESS_NAMES:
        return 1  # months in threads of one process would only contend for its GIL
    if runner.concurrent_months:
        return runner.concurrent_months
    return DASK_MONTHS_AT_ONCE if runner.runner in DASK_NAMES else 1


def _run_range(months: Sequence[str], settings: RunSettings, *, force: bool) -> list[dict]:
    """Run each month as a nested monthly flow; a failed month does not stop the others, but
    fails the run. On a cluster several months run at once, under one hold of the output's
    lease, each committed on its own (`pipelines.monthly.months_at_once`)."""
    logger = get_run_logger()
    failures = []

    def one_month(month: str) -> dict:
        try:
            return monthly_flow(month, settings, skip_unchanged=not force,
                                require_inputs=False)
        except Exception as error:  # noqa: BLE001 - reported below, the range goes on
            logger.error("month %s failed: %s", month, error)
            progress.emit("done", month=month, status="failed", why=str(error)[:80])
            failures.append(f"{month}: {error}")
            return MonthOutcome(month, "failed", [str(error)]).as_dict()

    at_once = min(months_at_a_time(settings), len(months))
    if at_once <= 1:
        outcomes = [one_month(month) for month in months]
    else:
        logger.info("running %d months at once on %s", at_once, settings.runner.runner)
        holder = f"range-{months[0]}-{months[-1]}-{uuid.uuid4().hex[:6]}"
        with months_at_once(settings, holder), ThreadPoolExecutor(
                at_once, thread_name_prefix="crimegeo-month") as pool:
            # Each thread runs in a copy of this context: the parent flow run (the months
            # nest under it) and the lease held for them.
            outcomes = list(pool.map(
                lambda month: contextvars.copy_context().run(one_month, month), months))
        failures.sort()
    summary = [{key: value for key, value in outcome.items() if key != "manifest"}
               for outcome in outcomes]
    lines = ["# crimegeo backfill", "", "| month | status | why | missing forces |",
             "|---|---|---|---|"]
    lines += [f"| {o['month']} | {o['status']} | {'; '.join(o['why'])} | "
              f"{', '.join(o['missing_forces'])} |" for o in summary]
    create_markdown_artifact(markdown="\n".join(lines) + "\n",
                             key=f"crimegeo-range-{months[0]}-{months[-1]}",
                             description="crimegeo months run, skipped and failed")
    if failures:
        raise RuntimeError(f"{len(failures)} of {len(months)} months failed: "
                           + " | ".join(failures))
    return summary


# --------------------------------------------------------------------------------- flows


@flow(name="crimegeo-monthly", flow_run_name="crimegeo-{month}")
def monthly_flow(month: str, settings: RunSettings, skip_unchanged: bool = False,
                 require_inputs: bool = True) -> dict:
    """Run one month: discover, gazetteer, pipeline, verify, feedback, report.

    Returns what happened (`MonthOutcome`, with the run manifest under `manifest`). A month
    with no input files is an error unless `require_inputs` is off (nothing is published or
    removed either way).
    """
    check_month(month)
    outcome = run_one_month(month, resolve_settings(settings), skip_unchanged=skip_unchanged)
    if outcome.status == "no-inputs" and require_inputs:
        raise FileNotFoundError(outcome.why[0] + "; nothing was published or removed")
    return outcome.as_dict(with_manifest=True)


@flow(name="crimegeo-backfill")
def backfill_flow(start: str, end: str, settings: RunSettings, force: bool = False
                  ) -> list[dict]:
    """Run every month from `start` to `end`; unchanged months are skipped unless `force`."""
    return _run_range(month_range(start, end), settings, force=force)


@flow(name="crimegeo-scheduled")
def scheduled_flow(settings: RunSettings, month: str | None = None, recheck_months: int = 2,
                   timezone: str = "Europe/London") -> list[dict]:
    """The scheduled run: the month just ended, and `recheck_months` before it.

    The month is the one that ended before the run's scheduled time in `timezone` unless
    given. Earlier months rerun only when something changed (a resubmitted or late file), so
    a force's resubmission is published at the next scheduled run.
    """
    if month is None:
        from prefect.runtime import flow_run

        scheduled = flow_run.scheduled_start_time or dt.datetime.now(dt.UTC)
        month = month_before(scheduled, timezone)
    first = month
    for _ in range(max(recheck_months, 0)):
        first = previous_month(first)
    return _run_range(month_range(first, month), settings, force=False)
