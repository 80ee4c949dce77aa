"""The run manifest's shape: what a committed month records about the run that made it.

`runs/YYYY-MM/manifest.json` is written once per run, at the commit point, and read by the
flows (verification, skipping unchanged months, expected forces), the report and the feeds.
`RunManifest` is its one definition: a manifest is checked against it before it is written,
so a field cannot drift away from what its readers expect. Must not import Beam or Prefect.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from crimegeo.standards.months import MONTH_ANCHORED


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FileRecord(_Strict):
    """One input file of the run: where it came from, and rows in = written + rejected."""

    url: str
    profile: str
    bytes: int = Field(ge=0)
    checksum: str
    rows_in: int = Field(ge=0)
    #: The data rows counted from the file's lines, apart from the parser, where the
    #: format's fields never span lines; None otherwise.
    rows_counted: int | None = None
    rows_written: int = Field(ge=0)
    rows_rejected: int = Field(ge=0)
    rejected_by_reason: dict[str, int]
    rows_by_status: dict[str, int]
    #: Located records in none of an area layer's polygons (they keep the area they came
    #: with, reason OUTSIDE_AREA_LAYER), per layer.
    outside_area_layer: dict[str, int] = {}
    seconds: dict[str, float]


class SkippedFile(_Strict):
    """A file found under the input and not read, with why."""

    url: str | None
    why: str


class Totals(_Strict):
    """The month's rows, over every file."""

    rows_in: int = Field(ge=0)
    rows_written: int = Field(ge=0)
    rows_rejected: int = Field(ge=0)
    rows_by_status: dict[str, int]
    outside_area_layer: dict[str, int] = {}


class RunManifest(_Strict):
    """A committed month's run manifest."""

    run_id: str
    month: str = Field(pattern=MONTH_ANCHORED)
    started_at: str
    seconds: float
    pipeline_seconds: float
    #: Input files the in-process runner worked on at once, each in a worker process (1:
    #: in the run's own process, and on every other runner).
    files_at_once: int = 1
    code_version: str
    standard_version: str
    beam_version: str
    runner: str | None
    coordinate_transformation: str
    input: str | None
    output: str | None
    gazetteer: str | None
    gazetteer_checksum: str | None
    #: Whether the gazetteer's names were read into keys by the run's code's rules: "current",
    #: "other" (rebuild it: names may be missed), "unrecorded" (built before they were
    #: recorded); None without a gazetteer or in manifests from before this field.
    gazetteer_name_rules: str | None = None
    #: How records were located and anonymised: the run settings' `manifest_options()`.
    options: dict[str, Any]
    files: dict[str, FileRecord]
    skipped_files: list[SkippedFile]
    totals: Totals
    forces: list[str]
    recovered: list[str]
    #: Forces whose public month the run withheld (`--max-unique-share`), with why; their
    #: restricted records and feedback were published.
    public_withheld: dict[str, str] = {}
    #: Per force, the disclosure report's status (`ok`, `warning`, `withheld`); the report
    #: itself is `runs/YYYY-MM/disclosure.json`.
    disclosure: dict[str, str] = {}


def checked_manifest(manifest: dict) -> dict:
    """`manifest` itself once it matches `RunManifest`; pydantic's ValidationError if not."""
    RunManifest.model_validate(manifest)
    return manifest
