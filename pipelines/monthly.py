"""The monthly Beam pipeline: a month of force exports in, the location standard out.

Run it on its own (no Prefect) with:

    crimegeo pipeline --month 2024-03 --input demo/input --output demo/output \
        --gazetteer demo/gazetteer

or from Python:

    from crimegeo.pipelines.monthly import MonthlyOptions, run_month
    result = run_month(MonthlyOptions(["--month", "2024-03", "--input", ..., "--output", ...]))

`build_pipeline()` returns the pipeline without running it, so tests and the Prefect task reuse
it; `run_month()` discovers the inputs, runs the pipeline, commits the month and writes the run
manifest. Locally the in-process DirectRunner is chosen explicitly: since Beam 2.68 the default
first tries to download the Prism runner, which fails or hangs offline.
"""

from __future__ import annotations

import datetime as dt
import re
import time
import uuid
from dataclasses import dataclass, field
from importlib.metadata import version
from typing import Any

import apache_beam as beam
from apache_beam.options.pipeline_options import (
    DirectOptions,
    PipelineOptions,
    StandardOptions,
)
from apache_beam.runners.runner import PipelineRunner

from crimegeo.pipelines.runtime import fewer_collections, quick_gil_handover
from crimegeo.pipelines.settings import RunSettings
from crimegeo.standards.coordinates import TRANSFORMATION
from crimegeo.standards.months import Month
from crimegeo.standards.profiles import load_profiles
from crimegeo.standards.schema import STANDARD_VERSION
from crimegeo.store.inputs import Discovery, InputFile, discover_month
from crimegeo.store.layout import OutputLayout
from crimegeo.store.parts import partition_forces
from crimegeo.store.publish import (
    check_reconciliation,
    commit_month,
    manifest_url,
    recover,
    take_file_stats,
    write_file_stats,
)
from crimegeo.transforms.locate import LocateOptions
from crimegeo.transforms.steps import ProcessMonth, Resources

#: What `flows/` uses from this module: flows may import pipelines and the store, never
#: transforms.
__all__ = [
    "MonthResult", "MonthlyOptions", "RunSettings", "build_pipeline", "check_month",
    "local_runner", "local_runner_options", "run_month",
]

class MonthlyOptions(PipelineOptions):
    """Options of the monthly pipeline; unknown flags pass through to Beam."""

    @classmethod
    def _add_argparse_args(cls, parser: Any) -> None:
        parser.add_argument("--month", default=None, help="Month to run, YYYY-MM.")
        parser.add_argument("--input", default=None,
                            help="Folder (any fsspec URL) holding the month's force files.")
        parser.add_argument("--output", default=None,
                            help="Output root (any fsspec URL).")
        parser.add_argument("--gazetteer", default=None,
                            help="Gazetteer artifact folder built by `crimegeo gazetteer "
                                 "build`; without one nothing is geocoded by name.")
        parser.add_argument("--profiles", action="append", default=[],
                            help="Extra folder of force input profiles (repeatable).")
        parser.add_argument("--min_geocode_score", type=float, default=0.8,
                            help="Geocodes scoring below this are suggestions, not locations.")
        parser.add_argument("--far_from_street_m", type=float, default=1000.0,
                            help="Flag supplied points further than this from their street.")
        parser.add_argument("--boundaries", action="append", default=[],
                            help="Force boundary file or folder (police.uk KML or any vector "
                                 "format; repeatable); without it the registry's extents.")
        parser.add_argument("--boundary_tolerance_m", type=float, default=250.0,
                            help="Points this close outside a boundary count as inside.")
        parser.add_argument("--areas", action="append", default=[],
                            help="[NAME=]URI of an area layer such as LSOA polygons "
                                 "(repeatable); fills lsoa_code/lsoa_name or NAME_code.")
        parser.add_argument("--map_points", default=None,
                            help="Gazetteer of public map points to anonymise to, instead of "
                                 "the main gazetteer's roads and public places.")
        parser.add_argument("--min_public_count", type=int, default=1,
                            help="k: map points used by fewer records are merged into the "
                                 "nearest larger one (1 = off).")
        parser.add_argument("--run_id", default=None, help="Identifier of this run.")


def require_run_options(monthly: MonthlyOptions) -> None:
    """Raise a clear error unless --month, --input and --output were given.

    They are checked here, not by argparse: Beam parses every registered options class at
    once, so a required flag would break any other pipeline in the same process.
    """
    missing = [f"--{name}" for name in ("month", "input", "output")
               if not getattr(monthly, name)]
    if missing:
        raise ValueError(f"the monthly pipeline needs {', '.join(missing)}")


def check_month(month: str) -> str:
    """Return `month` if it is YYYY-MM, else raise a clear ValueError."""
    Month(month)  # raises the ValueError
    return month


def local_runner_options(options: PipelineOptions) -> PipelineOptions:
    """Make the in-process DirectRunner explicit unless another runner was chosen."""
    standard = options.view_as(StandardOptions)
    if standard.runner in (None, "direct", "in-process"):
        standard.runner = "DirectRunner"
    if standard.runner == "DirectRunner":
        direct = options.view_as(DirectOptions)
        if not direct.direct_running_mode:
            direct.direct_running_mode = "in_memory"
    return options


def local_runner(options: PipelineOptions) -> PipelineRunner | None:
    """The runner object for a local batch run, or None to let Beam resolve `--runner`.

    Beam's `DirectRunner` (2.68+) tries to download and start Prism before anything else,
    whatever `direct_running_mode` says; offline that costs a failed look-up and on a network
    that drops packets it hangs. For a batch run we hand Beam its FnApiRunner directly, as
    the DirectRunner's own fallback does, so `direct_running_mode` (`in_memory`,
    `multi_threading`, `multi_processing`) and `direct_num_workers` apply and nothing is
    downloaded.
    """
    standard = options.view_as(StandardOptions)
    if standard.runner != "DirectRunner" or standard.streaming:
        return None
    from apache_beam.portability.api import beam_provision_api_pb2
    from apache_beam.runners.portability.fn_api_runner import fn_runner
    from apache_beam.runners.portability.portable_runner import JobServiceHandle

    encoded = JobServiceHandle.encode_pipeline_options(options.get_all_options())
    return fn_runner.FnApiRunner(provision_info=fn_runner.ExtendedProvisionInfo(
        beam_provision_api_pb2.ProvisionInfo(pipeline_options=encoded)))


def build_pipeline(options: PipelineOptions, files: list[InputFile], run_id: str
                   ) -> tuple[beam.Pipeline, Any]:
    """The monthly pipeline over `files`, writing to the run's staging folder; not run.

    Returns the pipeline and the PCollection holding the per-file stats dict.
    """
    monthly = options.view_as(MonthlyOptions)
    require_run_options(monthly)
    layout = OutputLayout(monthly.output)
    options = local_runner_options(options)
    pipeline = beam.Pipeline(runner=local_runner(options), options=options)
    stats = (
        pipeline
        | "InputFiles" >> beam.Create(files, reshuffle=False)
        | "ProcessMonth" >> ProcessMonth(
            month=monthly.month, staging=layout.staging(run_id), output=monthly.output,
            run_id=run_id,
            resources=Resources(
                gazetteer=monthly.gazetteer, map_points=monthly.map_points,
                boundaries=tuple(monthly.boundaries),
                boundary_tolerance_m=monthly.boundary_tolerance_m,
                areas=tuple(monthly.areas)),
            profile_dirs=tuple(monthly.profiles),
            locate_options=LocateOptions(min_geocode_score=monthly.min_geocode_score,
                                         far_from_street_m=monthly.far_from_street_m),
            min_public_count=monthly.min_public_count)
    )
    _ = stats | "WriteFileStats" >> beam.Map(write_file_stats,
                                                       layout.file_stats(run_id))
    return pipeline, stats


@dataclass
class MonthResult:
    """What a monthly run did: its manifest and where it wrote."""

    manifest: dict
    manifest_url: str
    published: list[str] = field(default_factory=list)


def _gazetteer_checksum(uri: str | None) -> str | None:
    if not uri:
        return None
    from crimegeo.gazetteer import Gazetteer  # only on the driver, and only for its manifest

    # The manifest alone: loading would copy a bucket's whole artifact to the driver.
    return Gazetteer.read_manifest(uri)["checksum"]


def run_month(options: PipelineOptions, discovery: Discovery | None = None) -> MonthResult:
    """Discover inputs, run the pipeline, commit the month and write its manifest.

    Raises `UnmatchedFileError` for an unrecognised input file and `ReconciliationError` when
    any file's rows do not add up; in both cases the published month is left untouched.
    """
    monthly = options.view_as(MonthlyOptions)
    require_run_options(monthly)
    month = check_month(monthly.month)
    started = time.perf_counter()
    started_at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    profiles = load_profiles(monthly.profiles)
    if discovery is None:
        discovery = discover_month(monthly.input, month, profiles)
    run_id = monthly.run_id or (
        f"{month}-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}")
    recovered = recover(monthly.output)
    staging = OutputLayout(monthly.output).staging(run_id)
    gazetteer_checksum = _gazetteer_checksum(monthly.gazetteer)

    pipeline, _ = build_pipeline(options, list(discovery.files), run_id)
    with fewer_collections(), quick_gil_handover():
        pipeline.run().wait_until_finish()
    pipeline_seconds = time.perf_counter() - started

    file_stats = take_file_stats(monthly.output, run_id) if discovery.files else {}
    files = {}
    for item in discovery.files:
        stats = file_stats.get(item.name, {})
        files[item.name] = {
            "url": item.url, "profile": item.profile, "bytes": item.size,
            "checksum": item.checksum, "rows_in": stats.get("rows_in", 0),
            "rows_written": stats.get("rows_written", 0),
            "rows_rejected": stats.get("rows_rejected", 0),
            "rejected_by_reason": stats.get("rejected_by_reason", {}),
            "rows_by_status": stats.get("rows_by_status", {}),
            "seconds": {k.removesuffix("_seconds"): round(v, 3)
                        for k, v in stats.items() if k.endswith("_seconds")},
        }
    check_reconciliation(files)
    totals = {key: sum(f[key] for f in files.values())
              for key in ("rows_in", "rows_written", "rows_rejected")}
    status_totals: dict[str, int] = {}
    for f in files.values():
        for status, count in f["rows_by_status"].items():
            status_totals[status] = status_totals.get(status, 0) + count
    manifest = {
        "run_id": run_id,
        "month": month,
        "started_at": started_at,
        "seconds": round(time.perf_counter() - started, 3),
        "pipeline_seconds": round(pipeline_seconds, 3),
        "code_version": version("crimegeo") if _installed() else "unknown",
        "standard_version": STANDARD_VERSION,
        "beam_version": beam.__version__,
        "runner": options.view_as(StandardOptions).runner,
        "coordinate_transformation": TRANSFORMATION,
        "input": _redact(monthly.input),
        "output": _redact(monthly.output),
        "gazetteer": _redact(monthly.gazetteer) if monthly.gazetteer else None,
        "gazetteer_checksum": gazetteer_checksum,
        "options": {"min_geocode_score": monthly.min_geocode_score,
                    "far_from_street_m": monthly.far_from_street_m,
                    "boundaries": [_redact(b) for b in monthly.boundaries],
                    "boundary_tolerance_m": monthly.boundary_tolerance_m,
                    "areas": [_redact(a) for a in monthly.areas],
                    "map_points": _redact(monthly.map_points),
                    "min_public_count": monthly.min_public_count,
                    "profiles": [_redact(p) for p in monthly.profiles]},
        "files": files,
        "skipped_files": [{"url": _redact(url), "why": why} for url, why in discovery.skipped],
        "totals": {**totals, "rows_by_status": status_totals},
        "forces": partition_forces(staging, "restricted", month),
        "recovered": recovered,
    }
    published = commit_month(monthly.output, run_id, month, manifest)
    return MonthResult(manifest, manifest_url(monthly.output, month), published)


def _installed() -> bool:
    try:
        version("crimegeo")
    except Exception:  # noqa: BLE001 - not installed as a distribution
        return False
    return True


def _redact(url: str | None) -> str | None:
    """Drop any credentials embedded in a URL (user:secret@host) before it is recorded."""
    if url is None:
        return None
    return re.sub(r"(://)[^/@]+@", r"\1", url)
