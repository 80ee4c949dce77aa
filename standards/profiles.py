"""Force input profiles: how to read one force's export format, as data.

A profile is a YAML file saying how a file is recognised (file-name globs and/or a header
signature), how it is decoded (format, encoding, delimiter, null markers), where each field of
the standard comes from, the CRS of its coordinates and the force's own offence labels. Adding a
force format is adding one file; no code changes. Must not import Beam or Prefect.
"""

from __future__ import annotations

import csv
import fnmatch
import io
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import IO, Any

import yaml

from crimegeo.standards._yaml import load_yaml
from crimegeo.standards.outcomes import check_outcome_mapping

FORMATS = ("csv", "jsonl")
#: Standard fields a profile may map from a source column.
MAPPABLE_FIELDS = (
    "crime_id", "month", "force", "crime_type", "outcome", "context", "location_text",
    "street", "area", "x", "y", "lsoa_code", "lsoa_name",
)
_REQUIRED_FIELDS = ("month", "crime_type")
#: What a profile's `crime_id` column holds. A force's own reference (the default) is never
#: published: the public record carries a keyed one-way id made from it. police.uk's
#: published files already carry public persistent ids (64 hex characters), which pass.
FORCE_REFERENCE = "force-reference"
POLICE_UK_PERSISTENT_ID = "police-uk-persistent-id"
ID_KINDS = (FORCE_REFERENCE, POLICE_UK_PERSISTENT_ID)
#: Supplied free-text columns a profile may declare publishable as they are. Every other
#: supplied text reaches the public record only through a controlled vocabulary (crime
#: categories, outcome categories) or not at all.
PUBLISHABLE_COLUMNS = ("context",)


class ProfileError(ValueError):
    """A profile file is invalid; the message names the file and the problem."""


class UnmatchedFileError(LookupError):
    """No profile recognises an input file; the message names the file and the profiles tried."""


@dataclass(frozen=True)
class PublicRules:
    """What of a profile's records may reach the public dataset as supplied: which kind of
    id it has, which columns are publishable as they are, and its own outcome labels. The
    default is the safe one for a new profile: force references, no free text."""

    id_kind: str = FORCE_REFERENCE
    publishable: tuple[str, ...] = ()
    outcome_mapping: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ForceProfile:
    """How to read one export format into the location standard."""

    name: str
    description: str
    format: str
    columns: Mapping[str, str]
    month_format: str = "%Y-%m"
    encoding: str = "utf-8"
    delimiter: str = ","
    null_values: tuple[str, ...] = ("",)
    filename_globs: tuple[str, ...] = ()
    header_signature: tuple[str, ...] = ()
    force_code: str | None = None
    coordinate_crs: str | None = None
    strip_prefixes: tuple[str, ...] = ()
    #: Whether a quoted field may hold a line break. police.uk's files never do: there a
    #: stray double quote damages one row, not the rest of the file, and rows are counted
    #: from the file's lines, independently of the parser.
    fields_span_lines: bool = True
    offence_mapping: Mapping[str, str] = field(default_factory=dict)
    #: What the `crime_id` column holds: `FORCE_REFERENCE` or `POLICE_UK_PERSISTENT_ID`.
    id_kind: str = FORCE_REFERENCE
    #: Supplied columns published as they are (some of `PUBLISHABLE_COLUMNS`); none by
    #: default.
    publishable: tuple[str, ...] = ()
    #: The force's own outcome labels mapped onto police.uk's outcome categories.
    outcome_mapping: Mapping[str, str] = field(default_factory=dict)
    source_path: str | None = None

    def matches(self, file_name: str, header: Sequence[str] | None) -> bool:
        """True when the file's base name and header agree with this profile's recognisers."""
        base = file_name.rsplit("/", 1)[-1]
        if self.filename_globs and not any(
            fnmatch.fnmatch(base.lower(), glob.lower()) for glob in self.filename_globs
        ):
            return False
        if self.header_signature:
            if header is None:
                return False
            present = {column.strip() for column in header}
            if not set(self.header_signature) <= present:
                return False
        return True

    @property
    def public_rules(self) -> PublicRules:
        """What of this profile's records may be published as supplied."""
        return PublicRules(self.id_kind, self.publishable, dict(self.outcome_mapping))

    @property
    def specificity(self) -> int:
        """How much a match says: a header signature counts more than a name pattern."""
        return 2 * len(self.header_signature) + (1 if self.filename_globs else 0)


def _as_tuple(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    return tuple(str(item) for item in value)


def profile_from_mapping(data: Mapping[str, Any], source: str = "<memory>") -> ForceProfile:
    """Build a profile from parsed YAML, checking it; errors name the source file."""

    def fail(message: str) -> ProfileError:
        return ProfileError(f"{source}: {message}")

    if not isinstance(data, Mapping):
        raise fail("a profile must be a YAML mapping")
    name = data.get("name")
    if not name or not re.fullmatch(r"[a-z0-9][a-z0-9-]*", str(name)):
        raise fail("'name' is required: lower-case letters, digits and hyphens")
    fmt = data.get("format", "csv")
    if fmt not in FORMATS:
        raise fail(f"'format' must be one of {', '.join(FORMATS)}, not {fmt!r}")
    columns = data.get("columns") or {}
    if not isinstance(columns, Mapping):
        raise fail("'columns' must map standard fields to source columns")
    unknown = sorted(set(columns) - set(MAPPABLE_FIELDS))
    if unknown:
        raise fail(f"unknown standard field(s) in 'columns': {', '.join(unknown)}; "
                   f"expected some of {', '.join(MAPPABLE_FIELDS)}")
    missing = [f for f in _REQUIRED_FIELDS if f not in columns]
    if missing:
        raise fail(f"'columns' must map {', '.join(missing)}")
    force_code = data.get("force")
    if "force" not in columns and not force_code:
        raise fail("give either a fixed 'force' code or a 'force' column in 'columns'")
    has_x, has_y = "x" in columns, "y" in columns
    if has_x != has_y:
        raise fail("'columns' must map both x and y, or neither")
    crs = data.get("coordinate_crs")
    if has_x and crs not in ("EPSG:4326", "EPSG:27700"):
        raise fail("'coordinate_crs' must be EPSG:4326 or EPSG:27700 when x/y are mapped")
    recognise = data.get("recognise") or {}
    globs = _as_tuple(recognise.get("filename"))
    header = _as_tuple(recognise.get("header"))
    if not globs and not header:
        raise fail("'recognise' needs a 'filename' glob or a 'header' signature")
    offences = data.get("offence_mapping") or {}
    if not isinstance(offences, Mapping):
        raise fail("'offence_mapping' must map offence labels to crime categories")
    id_kind = str(data.get("id_kind", FORCE_REFERENCE))
    if id_kind not in ID_KINDS:
        raise fail(f"'id_kind' must be one of {', '.join(ID_KINDS)}, not {id_kind!r}")
    publishable = _as_tuple(data.get("publishable"))
    not_allowed = sorted(set(publishable) - set(PUBLISHABLE_COLUMNS))
    if not_allowed:
        raise fail(f"'publishable' may list only {', '.join(PUBLISHABLE_COLUMNS)}, not "
                   f"{', '.join(not_allowed)}: other supplied text is published only through "
                   "a controlled vocabulary, or not at all")
    unmapped = [column for column in publishable if column not in columns]
    if unmapped:
        raise fail(f"'publishable' names {', '.join(unmapped)}, which 'columns' does not map")
    outcomes = data.get("outcome_mapping") or {}
    if not isinstance(outcomes, Mapping):
        raise fail("'outcome_mapping' must map outcome labels to police.uk outcome categories")
    try:
        check_outcome_mapping(outcomes, "'outcome_mapping'")
    except ValueError as error:
        raise fail(str(error)) from None
    try:
        return ForceProfile(
            name=str(name),
            description=str(data.get("description", "")).strip(),
            format=fmt,
            columns={str(k): str(v) for k, v in columns.items()},
            month_format=str(data.get("month_format", "%Y-%m")),
            encoding=str(data.get("encoding", "utf-8")),
            delimiter=str(data.get("delimiter", ",")),
            null_values=_as_tuple(data.get("null_values", [""])),
            filename_globs=globs,
            header_signature=header,
            force_code=str(force_code) if force_code else None,
            coordinate_crs=crs,
            strip_prefixes=_as_tuple(data.get("strip_prefixes")),
            fields_span_lines=bool(data.get("fields_span_lines", True)),
            offence_mapping={str(k): str(v) for k, v in offences.items()},
            id_kind=id_kind,
            publishable=publishable,
            outcome_mapping={str(k): str(v) for k, v in outcomes.items()},
            source_path=source,
        )
    except (TypeError, ValueError) as error:
        raise fail(str(error)) from error


def load_profile(path: str | Path) -> ForceProfile:
    """Read and check one profile file."""
    path = Path(path)
    try:
        data = load_yaml(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise ProfileError(f"{path}: not valid YAML: {error}") from error
    return profile_from_mapping(data, str(path))


def builtin_profiles_dir() -> Path:
    """The folder of profiles shipped with the package."""
    return Path(str(files(__package__) / "profiles"))


def load_profiles(directories: Iterable[str | Path] | None = None) -> list[ForceProfile]:
    """Load the built-in profiles plus those in `directories` (later names override earlier)."""
    folders = [builtin_profiles_dir(), *(Path(d) for d in directories or ())]
    by_name: dict[str, ForceProfile] = {}
    for folder in folders:
        if not folder.is_dir():
            raise ProfileError(f"{folder}: profile folder not found")
        for path in sorted(folder.glob("*.y*ml")):
            profile = load_profile(path)
            by_name[profile.name] = profile
    return list(by_name.values())


def match_profile(
    file_name: str, header: Sequence[str] | None, profiles: Sequence[ForceProfile]
) -> ForceProfile:
    """The most specific profile that recognises a file, or a clear error naming those tried."""
    candidates = [p for p in profiles if p.matches(file_name, header)]
    if not candidates:
        tried = ", ".join(p.name for p in profiles) or "(none loaded)"
        shown = ", ".join(list(header or [])[:12]) if header else "(no header read)"
        raise UnmatchedFileError(
            f"{file_name}: no input profile recognises this file (header: {shown}). "
            f"Profiles tried: {tried}. Add a profile file for this format with --profiles DIR."
        )
    candidates.sort(key=lambda p: p.specificity, reverse=True)
    best = candidates[0]
    if len(candidates) > 1 and candidates[1].specificity == best.specificity:
        raise UnmatchedFileError(
            f"{file_name}: profiles {best.name} and {candidates[1].name} both recognise this "
            "file equally; make one of them more specific"
        )
    return best


def python_encoding(encoding: str) -> str:
    """The Python codec for a profile's encoding (UTF-8 drops a byte-order mark)."""
    return "utf-8-sig" if encoding.lower().replace("_", "-") in ("utf-8", "utf8") else encoding


def read_header(opener: Callable[[], IO[bytes]], profile_format: str, encoding: str,
                delimiter: str = ",") -> list[str] | None:
    """The column names of a file (dotted key paths of the first object for JSON Lines)."""
    with opener() as raw:
        text = io.TextIOWrapper(raw, encoding=python_encoding(encoding), errors="replace",
                                newline="")
        if profile_format == "jsonl":
            for line in text:
                if line.strip():
                    try:
                        return sorted(_key_paths(json.loads(line)))
                    except (json.JSONDecodeError, AttributeError):
                        return None
            return None
        first = text.readline()
    if not first.strip():
        return None
    return [name.strip() for name in next(csv.reader([first], delimiter=delimiter))]


def _key_paths(obj: Any, prefix: str = "") -> set[str]:
    paths: set[str] = set()
    if isinstance(obj, dict):
        for key, value in obj.items():
            path = f"{prefix}{key}"
            paths.add(path)
            paths |= _key_paths(value, f"{path}.")
    return paths


def profile_for_file(opener: Callable[[], IO[bytes]], name: str,
                     profiles: Sequence[ForceProfile]) -> ForceProfile:
    """The profile that reads a file, by its name and its header as each profile decodes it.

    `opener` opens the file's bytes (it is called once per distinct format, encoding and
    delimiter). Raises `UnmatchedFileError` naming the file and the profiles tried.
    """
    headers: dict[tuple[str, str, str], list[str] | None] = {}
    candidates = []
    for profile in profiles:
        key = (profile.format, profile.encoding, profile.delimiter)
        if key not in headers:
            try:
                headers[key] = read_header(opener, *key)
            except (UnicodeDecodeError, ValueError):
                headers[key] = None
        if profile.matches(name, headers[key]):
            candidates.append(profile)
    if candidates:
        return match_profile(name, headers[(candidates[0].format, candidates[0].encoding,
                                            candidates[0].delimiter)], candidates)
    # Report the header as the most common reader sees it.
    shown = headers.get(("csv", "utf-8", ",")) or next(
        (h for h in headers.values() if h), None)
    return match_profile(name, shown, list(profiles))
