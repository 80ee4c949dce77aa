"""The one model a run is configured by: every setting and its default, written once.

Everything else is derived from `RunSettings`: the command line's options (`flows.options`
builds them from these fields, their descriptions and their `flag`), the Prefect flows' one
parameter, the pipeline's Beam options and the DoFns' resources (`pipelines.monthly`), the
run manifest's `options` and the month fingerprint (`manifest_options`, `fingerprint_fields`).

Kept apart from `pipelines.monthly` so that the command line and the watcher can build settings
without importing Beam. Must not import Beam or Prefect.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, get_origin

from pydantic import BaseModel, ConfigDict, Field
from pydantic.fields import FieldInfo

from crimegeo.standards.public_ids import (
    KEY_ENVIRONMENT_VARIABLE,
    PublicIdKey,
    load_public_id_key,
)

#: Options only the flows use (building a gazetteer, which forces a month must have): not
#: for a command or launcher that runs the Beam pipeline alone.
FLOW_ONLY = ("gazetteer_source", "gazetteer_format", "gazetteer_cache", "expected_force")
#: How a setting that names a resource is fingerprinted (`flows.fingerprint`): a file or
#: folder's bytes, a gazetteer's manifest checksum, or a folder tree's.
FILES, GAZETTEER, TREE = "files", "gazetteer", "tree"
#: Settings that locate the public id key: kept out of the manifest and the fingerprint (not
#: even the path), which carry the key's one-way `key_id` instead.
KEY_SETTINGS = ("public_id_key_file",)


def setting(default: Any, description: str, *, flag: str | None = None,
            resource: str | None = None, **constraints: Any) -> Any:
    """A field of the settings model: its default, its help text and how it is exposed.

    `flag` overrides the command-line flag (default: `--field-name`); `resource` marks a
    setting naming files whose contents, not name, belong in the month fingerprint.
    """
    extra = {key: value for key, value in (("flag", flag), ("resource", resource)) if value}
    return Field(default, description=description, json_schema_extra=extra or None,
                 **constraints)


class _Group(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Inputs(_Group):
    """Where the force files come from and which profiles read them."""

    input: str = setting(..., "Folder or prefix (any fsspec URL) of force files, in YYYY-MM/ "
                              "(or month=YYYY-MM/) folders or with the month in the name.")
    profiles: tuple[str, ...] = setting((), "Extra folder of force input profiles "
                                            "(repeatable).", resource=TREE)


class GazetteerSource(_Group):
    """The gazetteer to geocode with: a built one, or sources to build it from once."""

    gazetteer: str | None = setting(None, "Gazetteer folder from `crimegeo gazetteer build`; "
                                          "without one nothing is geocoded by name.")
    sources: tuple[str, ...] = setting(
        (), "Build the gazetteer from this source (repeatable) once, cached by the sources' "
            "checksums; instead of --gazetteer.", flag="--gazetteer-source")
    format: str | None = setting(
        None, "Format of --gazetteer-source (os-open-names, csv, vector, police-uk); detected "
              "when omitted.", flag="--gazetteer-format")
    cache: str | None = setting(None, "Where built gazetteers are cached (default "
                                      "OUTPUT/_gazetteer).", flag="--gazetteer-cache")


class Locating(_Group):
    """How supplied points are checked and names geocoded, and which areas are assigned."""

    min_geocode_score: float = setting(
        0.8, "Geocodes below this score are suggestions, not locations. Scores are "
        "calibrated: at the default 0.8, at least 98 percent of the answers kept are right "
        "(measured 99.8 percent on held-out real labels, docs/gazetteer.md).", ge=0.0, le=1.0)
    far_from_street_m: float = setting(
        1000.0, "Flag supplied points further than this (metres) from the street they name.",
        gt=0.0)
    boundaries: tuple[str, ...] = setting(
        (), "Force boundary file or folder (police.uk KML or any vector format); repeatable. "
            "Without it, the registry's force extents are used.", resource=FILES)
    boundary_tolerance_m: float = setting(
        250.0, "Points this close (metres) outside a boundary count as inside.", ge=0.0)
    areas: tuple[str, ...] = setting(
        (), "[NAME=]URI of an area layer such as LSOA polygons (repeatable); fills "
            "lsoa_code/lsoa_name or NAME_code.", resource=FILES)


class Anonymising(_Group):
    """How records are moved to public map points."""

    map_points: str | None = setting(
        None, "Gazetteer of public map points to anonymise to, instead of the gazetteer's "
              "roads and public places.", resource=GAZETTEER)
    min_public_count: int = setting(
        1, "k: map points used by fewer records in the month are merged into the nearest "
           "larger one (1 = off).", ge=1)
    public_id_key_file: str | None = setting(
        None, "File (any fsspec URL) holding the operator's key for public ids; without it, "
              f"the environment variable {KEY_ENVIRONMENT_VARIABLE}. Make one with "
              "`crimegeo public-id-key FILE`, outside the output (docs/anonymisation.md).")
    max_unique_share: float | None = setting(
        None, "Withhold a force's public month (its restricted records and feedback are "
              "still published) when more than this share of its located records are alone "
              "in their (map point, crime type) cell; default: warn only "
              "(docs/anonymisation.md).", ge=0.0, le=1.0)

    def public_id_key(self) -> PublicIdKey | None:
        """The operator's public id key, from the key file or the environment; None when
        neither gives one. Raises `PublicIdKeyError` for an unreadable or short key."""
        return load_public_id_key(self.public_id_key_file)


class Runner(_Group):
    """Which Beam runner runs the pipeline, and the Beam options passed through to it."""

    runner: str = setting(
        "DirectRunner", "Beam runner: DirectRunner (in-process, the default), multi-process, "
                        "dask, PortableRunner, DataflowRunner, FlinkRunner, SparkRunner; Beam "
                        "options follow the command's options (see docs/scaling.md).")
    dask_address: str | None = setting(
        None, "With --runner dask: the dask.distributed scheduler to submit to "
              "(tcp://HOST:PORT); without it a local cluster sized to this machine is "
              "started.", flag="--dask-address")
    concurrent_months: int = setting(
        0, "Months a backfill runs at once, each published atomically on its own: 0 = one "
           "at a time on this machine's runners, four on a Dask cluster.", ge=0)
    local_tuning: bool = setting(
        True, "On the in-process runner, one file at a time: overlap reads and writes with "
              "the work on threads (docs/scaling.md).")
    parallel_files: int = setting(
        0, "On the in-process runner: input files worked on at once, each in a worker "
           "process of this machine with its own gazetteer (0 = one per core, as many as "
           "memory holds, for a month of 16 MiB or more, else 1; 1 = all in this process). "
           "k-merging (--min-public-count > 1) runs in this process.", ge=0)
    beam_options: tuple[str, ...] = Field(
        (), description="Beam's own options, passed through unparsed (the command line's "
                        "arguments after its options).")


class Publishing(_Group):
    """When a run may replace what is published."""

    wait_for_output: float = setting(
        0.0, "Seconds to wait for another run writing the same output to finish; 0 refuses "
             "at once, naming that run.", ge=0.0)
    max_shrink: float = setting(
        0.5, "Refuse to replace a force's published month with fewer records than this "
             "share less (0.5: half as many or fewer; a force dropping to none always "
             "counts).", gt=0.0, le=1.0)
    allow_shrink: bool = setting(
        False, "Publish even when a force's month would shrink past --max-shrink (a "
               "resubmission that really is smaller).")


class RunSettings(_Group):
    """Everything a run is configured by, as the command line, flows and pipelines share it."""

    inputs: Inputs
    output: str = setting(..., "Output root (any fsspec URL).")
    gazetteer: GazetteerSource = GazetteerSource()
    locating: Locating = Locating()
    anonymising: Anonymising = Anonymising()
    runner: Runner = Runner()
    publishing: Publishing = Publishing()
    expected_forces: tuple[str, ...] = setting(
        (), "A force code every month must have (repeatable); default: the forces published "
            "in the 12 months before.", flag="--expected-force")

    def with_gazetteer(self, uri: str | None) -> RunSettings:
        """These settings with the gazetteer to use settled (built or given)."""
        return self.model_copy(update={"gazetteer": self.gazetteer.model_copy(
            update={"gazetteer": uri})})

    def with_runner(self, runner: str, beam_options: tuple[str, ...]) -> RunSettings:
        """These settings with the runner resolved to Beam's name and its options."""
        return self.model_copy(update={"runner": self.runner.model_copy(
            update={"runner": runner, "beam_options": beam_options})})

    def resource_urls(self) -> list[str]:
        """Every location the pipeline's workers read or write."""
        return [self.inputs.input, self.output, *(url for url in (
            self.gazetteer.gazetteer, self.anonymising.map_points) if url),
            *self.gazetteer.sources, *self.locating.boundaries, *self.locating.areas]

    def manifest_options(self) -> dict[str, Any]:
        """The run manifest's `options`: how records were located and anonymised."""
        options: dict[str, Any] = {}
        for group in (self.locating, self.anonymising):
            for name, value in group:
                if name in KEY_SETTINGS:
                    continue
                options[name] = ([redact(v) for v in value] if isinstance(value, tuple)
                                 else redact(value) if isinstance(value, str) else value)
        options["profiles"] = [redact(p) for p in self.inputs.profiles]
        key = self.anonymising.public_id_key()
        options["public_id_key_id"] = key.key_id if key is not None else None
        return options


@dataclass(frozen=True)
class CommandLineSetting:
    """One setting as a command-line option: where it sits in the model and its flag."""

    path: tuple[str, ...]
    info: FieldInfo

    @property
    def flag(self) -> str:
        """`--min-geocode-score`, or the field's own `flag`."""
        return extra(self.info).get("flag") or "--" + self.path[-1].replace("_", "-")

    @property
    def name(self) -> str:
        """The option's parameter name: the flag as an identifier."""
        return self.flag.removeprefix("--").replace("-", "_")

    @property
    def repeatable(self) -> bool:
        """True for a setting that takes a list (the flag is given once per value)."""
        return get_origin(self.info.annotation) is tuple

    @property
    def required(self) -> bool:
        """True when the setting has no default."""
        return self.info.is_required()


def command_line_settings(exclude: Iterable[str] = ()) -> list[CommandLineSetting]:
    """The settings a command exposes as options, less those named in `exclude`
    (by option name, e.g. `gazetteer_source`). Beam's own options are never among them:
    they pass through unparsed."""
    excluded = set(exclude) | {"beam_options"}

    def walk(model: type[BaseModel], path: tuple[str, ...]) -> Iterator[CommandLineSetting]:
        for name, info in model.model_fields.items():
            kind = info.annotation
            if isinstance(kind, type) and issubclass(kind, BaseModel):
                yield from walk(kind, (*path, name))
            else:
                yield CommandLineSetting((*path, name), info)

    return [item for item in walk(RunSettings, ()) if item.name not in excluded]


def settings_from_options(values: Mapping[str, Any], beam_options: Iterable[str] = ()
                          ) -> RunSettings:
    """The settings from command-line option values (by option name); an option left unset
    (None, or an empty list) takes the model's default. Raises pydantic's ValidationError."""
    nested: dict[str, Any] = {"runner": {"beam_options": tuple(beam_options)}}
    for item in command_line_settings():
        value = values.get(item.name)
        if value is None or (item.repeatable and not value):
            continue
        group = nested
        for key in item.path[:-1]:
            group = group.setdefault(key, {})
        group[item.path[-1]] = tuple(value) if item.repeatable else value
    return RunSettings.model_validate(nested)


def add_settings_arguments(parser: Any, exclude: Iterable[str] = ()) -> None:
    """The settings as `argparse` arguments (a pipeline launcher's, such as Dataflow's)."""
    for item in command_line_settings(exclude):
        kind = item.info.annotation
        if kind is bool:
            parser.add_argument(item.flag, dest=item.name, action=argparse.BooleanOptionalAction,
                                help=item.info.description)
            continue
        parser.add_argument(item.flag, dest=item.name, required=item.required,
                            action="append" if item.repeatable else "store",
                            type=kind if kind in (int, float) else str,
                            help=item.info.description)


def settings_from_argv(argv: Iterable[str], exclude: Iterable[str] = ()) -> RunSettings:
    """A launcher's one parse: the settings from its arguments; every argument that is not a
    setting passes through to Beam (`--runner` is a setting, Beam's own options are not)."""
    parser = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    add_settings_arguments(parser, exclude)
    known, beam_options = parser.parse_known_args(list(argv))
    return settings_from_options(vars(known), beam_options)


def fingerprint_fields(settings: RunSettings) -> Iterator[tuple[str, Any, str | None]]:
    """(name, value, resource kind or None) of each setting that changes a month's output.

    The public id key enters as its one-way `key_id` (a new key changes every keyed id),
    never as the key or its file's path.
    """
    for group in (settings.locating, settings.anonymising, settings.inputs):
        for name, info in type(group).model_fields.items():
            if name == "input" or name in KEY_SETTINGS:
                continue
            yield name, getattr(group, name), extra(info).get("resource")
    key = settings.anonymising.public_id_key()
    yield "public_id_key_id", key.key_id if key is not None else None, None


def extra(info: FieldInfo) -> dict[str, Any]:
    """A field's own metadata (`flag`, `resource`), empty when it has none."""
    value = info.json_schema_extra
    return value if isinstance(value, dict) else {}


def redact(url: str | None) -> str | None:
    """Drop any credentials embedded in a URL (user:secret@host) before it is recorded."""
    if url is None:
        return None
    return re.sub(r"(://)[^/@]+@", r"\1", url)
