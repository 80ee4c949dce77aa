"""Map a file's source columns onto the location standard, and reject what cannot be mapped.

Pure array work (no Beam): given the all-string table a reader produced and its profile, build
the standard's columns (month, force code, crime category, location text, supplied coordinates)
and split off rows that cannot be records, each with a reason code and its raw text.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from crimegeo.standards import reasons
from crimegeo.standards.categories import map_offences
from crimegeo.standards.months import MONTH_ANCHORED
from crimegeo.standards.profiles import ForceProfile
from crimegeo.standards.registry import load_registry
from crimegeo.standards.schema import REJECTED_SCHEMA
from crimegeo.transforms.readers import RAW_LINE_COLUMN, ReadResult

_NUMBER = r"^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$"

#: Columns of a parsed batch, before locations are worked out.
PARSED_SCHEMA = pa.schema([
    ("crime_id", pa.string()), ("month", pa.string()), ("force", pa.string()),
    ("crime_type", pa.string()), ("outcome", pa.string()), ("context", pa.string()),
    ("location_text", pa.string()), ("street_name", pa.string()), ("area_name", pa.string()),
    ("supplied_x", pa.float64()), ("supplied_y", pa.float64()), ("supplied_crs", pa.string()),
    ("coordinates_invalid", pa.bool_()), ("supplied_lsoa_code", pa.string()),
    ("supplied_lsoa_name", pa.string()), ("source_file", pa.string()),
    ("source_row", pa.int64()),
])


class MissingColumnError(ValueError):
    """A column the profile requires is absent from the file."""


@dataclass
class Standardised:
    """Rows mapped onto the standard, and the rows rejected with their reasons."""

    records: pa.Table
    rejected: pa.Table


def _column(table: pa.Table, name: str | None) -> pa.ChunkedArray | pa.Array:
    if name is None or name not in table.column_names:
        return pa.nulls(table.num_rows, pa.string())
    return pc.utf8_trim_whitespace(table[name])


def _empty_to_null(values: pa.ChunkedArray | pa.Array) -> pa.Array:
    return pc.if_else(pc.equal(values, ""), pa.scalar(None, pa.string()), values)


def parse_numbers(values: pa.ChunkedArray | pa.Array) -> tuple[pa.Array, pa.Array]:
    """Floats from strings; returns (numbers, invalid) where invalid marks non-numeric text."""
    is_number = pc.fill_null(pc.match_substring_regex(values, _NUMBER), False)
    present = pc.is_valid(values)
    invalid = pc.and_(present, pc.invert(is_number))
    cleaned = pc.if_else(is_number, pc.utf8_trim_whitespace(values),
                         pa.scalar(None, pa.string()))
    return pc.cast(cleaned, pa.float64()), invalid


def _months(values: pa.ChunkedArray | pa.Array, month_format: str) -> pa.Array:
    if month_format == "%Y-%m":
        ok = pc.fill_null(pc.match_substring_regex(values, MONTH_ANCHORED), False)
        return pc.if_else(ok, values, pa.scalar(None, pa.string()))
    stamps = pc.strptime(values, format=month_format, unit="s", error_is_null=True)
    # strptime rolls impossible dates over (31/02 becomes 02/03): a date is only valid if
    # formatting it again gives back what was supplied.
    round_trip = pc.equal(pc.strftime(stamps, format=month_format), values)
    return pc.if_else(pc.fill_null(round_trip, False), pc.strftime(stamps, format="%Y-%m"),
                      pa.scalar(None, pa.string()))


def clean_street_label(values: pa.ChunkedArray | pa.Array,
                       prefixes: Sequence[str]) -> pa.Array:
    """The supplied location text with its 'On or near' prefix removed and casing repaired.

    police.uk title-cases after apostrophes ("Alderman'S Walk"); that is put right here so the
    published street name reads naturally.
    """
    result = values
    if prefixes:  # one pass for all prefixes: the first that matches is removed
        escaped = ["".join("\\" + c if not c.isalnum() and c != " " else c for c in prefix)
                   for prefix in prefixes]
        result = pc.replace_substring_regex(
            result, pattern=f"(?i)^(?:{'|'.join(escaped)})", replacement="", max_replacements=1)
    result = pc.replace_substring_regex(result, pattern=r"\s+", replacement=" ")
    result = pc.replace_substring_regex(result, pattern=r"(\w)['’]S\b", replacement=r"\1's")
    return _empty_to_null(pc.utf8_trim_whitespace(result))


def _per_distinct(values: pa.ChunkedArray | pa.Array,
                  transform: Callable[[pa.Array], pa.Array]) -> pa.Array:
    """`transform` applied to each distinct value once, then spread back over the rows.

    Location labels repeat (a month of ~100k rows holds a few thousand), so regex work on
    the distinct labels is a small fraction of the work on every row.
    """
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    encoded = pc.dictionary_encode(values)
    return pc.take(transform(encoded.dictionary), encoded.indices)


def _force_codes(values: pa.ChunkedArray | pa.Array) -> pa.Array:
    registry = load_registry()
    encoded = pc.dictionary_encode(values).combine_chunks() if isinstance(
        values, pa.ChunkedArray) else pc.dictionary_encode(values)
    resolved = []
    for name in encoded.dictionary.to_pylist():
        force = registry.resolve(name) if name else None
        resolved.append(force.code if force else None)
    return pc.take(pa.array(resolved, pa.string()), encoded.indices)


def derived_crime_ids(source_file: str, rows: np.ndarray) -> list[str]:
    """Stable ids for rows supplied without one: a hash of the file's name and row number.

    `cg-` and the first 20 hex digits of sha1("<file name>:<row>").
    """
    prefix = hashlib.sha1(f"{source_file}:".encode())
    ids = []
    for row in rows.tolist():
        digest = prefix.copy()  # the file name's part hashed once, not per row
        digest.update(str(row).encode())
        ids.append("cg-" + digest.hexdigest()[:20])
    return ids


def standardise(read: ReadResult, profile: ForceProfile, *, source_file: str,
                month: str | None) -> Standardised:
    """Map a read file onto the standard; rows that cannot be records go to `rejected`.

    `month` is the run's month: rows of any other month are rejected as WRONG_MONTH so a
    monthly partition only ever holds its own month.
    """
    table = read.table
    n = table.num_rows
    columns = profile.columns
    for required in ("month", "crime_type"):
        if n and columns[required] not in table.column_names:
            raise MissingColumnError(
                f"{source_file}: column {columns[required]!r} (the {required}) required by "
                f"profile {profile.name} is missing; columns present: "
                f"{', '.join(table.column_names)}"
            )

    supplied_month = _column(table, columns.get("month"))
    months = _months(supplied_month, profile.month_format)
    if profile.force_code:
        forces = pa.repeat(pa.scalar(profile.force_code, pa.string()), n)
        supplied_force = forces
    else:
        supplied_force = _column(table, columns.get("force"))
        forces = _force_codes(supplied_force)
    supplied_type = _empty_to_null(_column(table, columns.get("crime_type")))
    crime_types = map_offences(supplied_type, profile.offence_mapping)

    # Rejections, first failing check wins; each with a readable detail.
    reason = np.full(n, None, dtype=object)
    details = np.full(n, None, dtype=object)

    # Each check: rows failing it, its reason, the column its detail quotes and the detail.
    checks: list[tuple[Any, str, Any, Callable[[Any], str]]] = [
        (pc.is_null(months), reasons.INVALID_MONTH, supplied_month,
         lambda value: f"month {value!r} is not a date in the form {profile.month_format}"),
        (pc.not_equal(months, month) if month else pa.array([False] * n), reasons.WRONG_MONTH,
         months, lambda value: f"month {value} is not the run's month {month}"),
        (pc.is_null(forces), reasons.UNKNOWN_FORCE, supplied_force,
         lambda value: f"force {value!r} is not in the force registry"),
        (pc.is_null(supplied_type), reasons.MISSING_CRIME_TYPE, None,
         lambda value: "the crime type is empty"),
        (pc.is_null(crime_types), reasons.UNKNOWN_CRIME_TYPE, supplied_type,
         lambda value: f"offence {value!r} maps to no police.uk crime "
                       "category; add it to the profile's offence_mapping"),
    ]
    for failed, code, quoted, describe in checks:
        mask = np.asarray(pc.fill_null(failed, False)) if n else np.zeros(0, bool)
        mask &= reason == None  # noqa: E711 - elementwise on an object array
        rows_failed = np.flatnonzero(mask)
        if not len(rows_failed):
            continue
        reason[rows_failed] = code
        values = (pc.take(quoted, pa.array(rows_failed)).to_pylist() if quoted is not None
                  else [None] * len(rows_failed))  # only the failing rows' values
        details[rows_failed] = [describe(value) for value in values]
    rejected_mask = reason != None  # noqa: E711

    rows = read.row_numbers.to_numpy(zero_copy_only=False)
    crime_ids = _empty_to_null(_column(table, columns.get("crime_id")))
    missing_ids = np.asarray(pc.is_null(crime_ids)) if n else np.zeros(0, bool)
    if missing_ids.any():
        derived = pa.array(derived_crime_ids(source_file, rows[missing_ids]), pa.string())
        if isinstance(crime_ids, pa.ChunkedArray):
            crime_ids = crime_ids.combine_chunks()
        crime_ids = pc.replace_with_mask(crime_ids, pa.array(missing_ids), derived)

    location_text = _empty_to_null(_column(table, columns.get("location_text")))
    street_source = columns.get("street") or columns.get("location_text")
    street = _per_distinct(_column(table, street_source),
                           lambda labels: clean_street_label(labels, profile.strip_prefixes))
    x, x_invalid = parse_numbers(_column(table, columns.get("x")))
    y, y_invalid = parse_numbers(_column(table, columns.get("y")))
    records = pa.table({
        "crime_id": crime_ids,
        "month": months,
        "force": forces,
        "crime_type": crime_types,
        "outcome": _empty_to_null(_column(table, columns.get("outcome"))),
        "context": _empty_to_null(_column(table, columns.get("context"))),
        "location_text": location_text,
        "street_name": street,
        "area_name": _empty_to_null(_column(table, columns.get("area"))),
        "supplied_x": x,
        "supplied_y": y,
        "supplied_crs": pa.repeat(pa.scalar(profile.coordinate_crs, pa.string()), n),
        "coordinates_invalid": pc.or_(x_invalid, y_invalid),
        "supplied_lsoa_code": _empty_to_null(_column(table, columns.get("lsoa_code"))),
        "supplied_lsoa_name": _empty_to_null(_column(table, columns.get("lsoa_name"))),
        "source_file": pa.repeat(pa.scalar(source_file, pa.string()), n),
        "source_row": read.row_numbers,
    }, schema=PARSED_SCHEMA)

    keep = pa.array(~rejected_mask)
    accepted = records.filter(keep)
    rejected_rows = np.flatnonzero(rejected_mask)
    raw_lines = _raw_lines(table, rejected_rows, profile)
    rejected = pa.table({
        "source_file": [source_file] * len(rejected_rows),
        "source_row": rows[rejected_rows].tolist(),
        "force": pc.take(forces, pa.array(rejected_rows, pa.int64())),
        "month": [month] * len(rejected_rows),
        "profile": [profile.name] * len(rejected_rows),
        "reason": reason[rejected_rows].tolist(),
        "detail": details[rejected_rows].tolist(),
        "raw": raw_lines,
    }, schema=REJECTED_SCHEMA)
    unreadable = pa.table({
        "source_file": [source_file] * len(read.unreadable),
        "source_row": [u.source_row for u in read.unreadable],
        "force": [profile.force_code] * len(read.unreadable),
        "month": [month] * len(read.unreadable),
        "profile": [profile.name] * len(read.unreadable),
        "reason": [reasons.MALFORMED_ROW] * len(read.unreadable),
        "detail": [u.detail for u in read.unreadable],
        "raw": [u.raw for u in read.unreadable],
    }, schema=REJECTED_SCHEMA)
    all_rejected = pa.concat_tables([unreadable, rejected]).sort_by("source_row")
    # A row we could not read names no force; if the file is one force's, it is that force's.
    file_forces = set(pc.unique(forces.filter(pc.is_valid(forces))).to_pylist()) if n else set()
    if len(file_forces) == 1 and all_rejected.num_rows:
        only = file_forces.pop()
        fill = pc.if_else(pc.equal(all_rejected["reason"], reasons.UNKNOWN_FORCE),
                          all_rejected["force"], pc.fill_null(all_rejected["force"], only))
        all_rejected = all_rejected.set_column(
            all_rejected.schema.get_field_index("force"), "force", fill)
    return Standardised(accepted, all_rejected)


def _raw_lines(table: pa.Table, rows: np.ndarray, profile: ForceProfile) -> list[str]:
    """The source text of rows, rebuilt from their fields (CSV) or as a JSON object."""
    if len(rows) == 0:
        return []
    taken = table.take(pa.array(rows, pa.int64()))
    if RAW_LINE_COLUMN in taken.column_names:
        return taken[RAW_LINE_COLUMN].to_pylist()
    subset = taken.to_pylist()
    delimiter = profile.delimiter
    return [delimiter.join("" if v is None else v for v in row.values()) for row in subset]
