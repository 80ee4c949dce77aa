"""police.uk's outcome categories: the controlled vocabulary a public outcome must come from.

A force's `outcome` column is free text as far as crimegeo knows: a records system can put
anything there, including names. The public dataset therefore carries an outcome only when it
is one of police.uk's outcome categories (`standards/data/outcome_categories.yaml`), or a
force's own label that its profile maps onto one (`outcome_mapping`). Everything else is
withheld from the public record. Must not import Beam or Prefect.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from importlib.resources import files
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from crimegeo.standards._yaml import load_yaml


def _fold(label: str) -> str:
    """A label folded for matching: case, whitespace and punctuation ignored."""
    return " ".join(re.sub(r"[\W_]+", " ", label.casefold()).split())


def _parse(data: Any, source: str) -> tuple[tuple[str, ...], dict[str, str]]:
    if not isinstance(data, Mapping) or not isinstance(data.get("outcomes"), list):
        raise ValueError(f"{source}: expected a mapping with an 'outcomes' list")
    names: list[str] = []
    by_key: dict[str, str] = {}
    for entry in data["outcomes"]:
        if not isinstance(entry, Mapping) or not entry.get("name"):
            raise ValueError(f"{source}: each outcome needs a name: {entry!r}")
        name = str(entry["name"])
        names.append(name)
        for label in (name, *(entry.get("aliases") or ())):
            if by_key.setdefault(_fold(str(label)), name) != name:
                raise ValueError(f"{source}: {label!r} names two outcomes")
    return tuple(names), by_key


@functools.lru_cache(maxsize=1)
def _vocabulary() -> tuple[tuple[str, ...], dict[str, str]]:
    resource = files(__package__) / "data" / "outcome_categories.yaml"
    return _parse(load_yaml(resource.read_text(encoding="utf-8")), str(resource))


#: police.uk's outcome category names, as its street-level files spell them.
OUTCOME_CATEGORIES: tuple[str, ...] = _vocabulary()[0]


def outcome_category(label: str | None) -> str | None:
    """The outcome category a label names (case, spacing and punctuation ignored), or None."""
    if not label:
        return None
    return _vocabulary()[1].get(_fold(str(label)))


def check_outcome_mapping(mapping: Mapping[str, str], source: str) -> dict[str, str]:
    """A profile's `outcome_mapping` with folded keys and canonical values; a ValueError
    naming `source` and the label when a value is not an outcome category."""
    folded: dict[str, str] = {}
    for label, value in mapping.items():
        category = outcome_category(str(value))
        if category is None:
            raise ValueError(f"{source}: outcome label {label!r} is mapped to {value!r}, which "
                             "is not a police.uk outcome category (see "
                             "standards/data/outcome_categories.yaml)")
        folded[_fold(str(label))] = category
    return folded


def public_outcomes(supplied: pa.Array | pa.ChunkedArray,
                    mapping: Mapping[str, str] | None = None) -> pa.Array:
    """Each supplied outcome as a police.uk outcome category, or null where it maps to none.

    `mapping` is a profile's own labels (see `check_outcome_mapping`), consulted first. Each
    distinct value is mapped once.
    """
    own = check_outcome_mapping(mapping or {}, "outcome_mapping")
    vocabulary = _vocabulary()[1]
    if isinstance(supplied, pa.ChunkedArray):
        supplied = (supplied.combine_chunks() if supplied.num_chunks
                    else pa.array([], pa.string()))
    if pa.types.is_null(supplied.type):
        return pa.nulls(len(supplied), pa.string())
    encoded = supplied if pa.types.is_dictionary(supplied.type) else pc.dictionary_encode(
        supplied)
    mapped = []
    for value in encoded.dictionary.to_pylist():
        key = _fold(str(value)) if value is not None else ""
        mapped.append(own.get(key) or vocabulary.get(key) if key else None)
    return pc.take(pa.array(mapped, pa.string()), encoded.indices)
