"""The 14 police.uk crime categories, and mapping forces' offence labels onto them.

Every record in the standard carries one of police.uk's street-level crime categories. Forces'
own exports use Home Office offence names or record-system labels instead ("Theft from motor
vehicle", "S5 PUBLIC ORDER"); :func:`map_offence` and its vectorised form :func:`map_offences`
turn those into categories, consulting a force profile's own labels first and then the packaged
list in ``standards/data/crime_categories.yaml``.

Part of ``standards``: imports nothing but the standard library, PyYAML and pyarrow, and must
never import Beam or Prefect.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from importlib.resources import files
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from crimegeo.standards._yaml import load_yaml


def _fold(label: str) -> str:
    """A label folded for matching: case, whitespace, punctuation and '&'/'and' ignored."""
    folded = label.casefold().replace("&", " and ")
    return " ".join(re.sub(r"[\W_]+", " ", folded).split())


@dataclass(frozen=True)
class _Vocabulary:
    names: tuple[str, ...]
    slugs: dict[str, str]  # name -> slug
    descriptions: dict[str, str]  # name -> description
    by_key: dict[str, str]  # folded name or slug -> name
    labels: dict[str, str]  # folded offence label -> name


def _parse(data: Any, source: str) -> _Vocabulary:
    if not isinstance(data, Mapping) or not isinstance(data.get("categories"), list):
        raise ValueError(f"{source}: expected a mapping with a 'categories' list")
    names: list[str] = []
    slugs: dict[str, str] = {}
    descriptions: dict[str, str] = {}
    by_key: dict[str, str] = {}
    for entry in data["categories"]:
        if not isinstance(entry, Mapping) or not entry.get("name") or not entry.get("slug"):
            raise ValueError(f"{source}: each category needs a name and a slug: {entry!r}")
        name, slug = str(entry["name"]), str(entry["slug"])
        names.append(name)
        slugs[name] = slug
        descriptions[name] = str(entry.get("description", "")).strip()
        for key in (_fold(name), _fold(slug)):
            if by_key.setdefault(key, name) != name:
                raise ValueError(f"{source}: {key!r} names two categories")
    labels: dict[str, str] = {}
    raw_labels = data.get("offence_labels") or {}
    if not isinstance(raw_labels, Mapping):
        raise ValueError(f"{source}: 'offence_labels' must be a mapping")
    for label, category in raw_labels.items():
        name = by_key.get(_fold(str(category)))
        if name is None:
            raise ValueError(f"{source}: offence label {label!r} maps to unknown category "
                             f"{category!r}")
        key = _fold(str(label))
        if labels.setdefault(key, name) != name:
            raise ValueError(f"{source}: offence label {label!r} is mapped twice, differently")
    return _Vocabulary(tuple(names), slugs, descriptions, by_key, labels)


@functools.lru_cache(maxsize=1)
def _vocabulary() -> _Vocabulary:
    resource = files(__package__) / "data" / "crime_categories.yaml"
    return _parse(load_yaml(resource.read_text(encoding="utf-8")), str(resource))


#: The 14 police.uk crime category names, in the order police.uk's API lists them.
CRIME_CATEGORIES: tuple[str, ...] = _vocabulary().names


def _category(value: str) -> str | None:
    """The canonical category a category name or slug refers to, or None."""
    return _vocabulary().by_key.get(_fold(value))


def category_slug(name: str) -> str:
    """police.uk's API slug for a category name (``"Violence and sexual offences"`` ->
    ``"violent-crime"``); case and spacing are ignored. Raises ValueError for a non-category.
    """
    category = _category(name) if isinstance(name, str) else None
    if category is None:
        raise ValueError(f"{name!r} is not a police.uk crime category; expected one of "
                         f"{', '.join(CRIME_CATEGORIES)}")
    return _vocabulary().slugs[category]


def category_description(name: str) -> str:
    """The one-line description of a category (by name or slug); ValueError if not one."""
    slug = category_slug(name)  # raises for a non-category
    return _vocabulary().descriptions[_vocabulary().by_key[_fold(slug)]]


def _fold_extra(extra: Mapping[str, str] | None) -> dict[str, str]:
    """A profile's offence mapping with folded keys and canonical category values."""
    folded: dict[str, str] = {}
    for label, value in (extra or {}).items():
        category = _category(str(value))
        if category is None:
            raise ValueError(f"offence label {label!r} is mapped to {value!r}, which is not a "
                             "police.uk crime category")
        folded[_fold(str(label))] = category
    return folded


def _map_folded(label: str | None, extra: Mapping[str, str]) -> str | None:
    if label is None:
        return None
    key = _fold(str(label))
    if not key:
        return None
    vocabulary = _vocabulary()
    return vocabulary.by_key.get(key) or extra.get(key) or vocabulary.labels.get(key)


def map_offence(label: str | None, extra: Mapping[str, str] | None = None) -> str | None:
    """The police.uk crime category of an offence label, or None when it is unknown.

    Empty or None gives None. A category name (or slug) gives the canonical name; otherwise
    ``extra`` (a force profile's own labels) is consulted, then the packaged offence labels.
    Matching ignores case, whitespace, punctuation and ``&`` versus ``and``. Raises
    ValueError if ``extra`` maps a label to something that is not a category.
    """
    return _map_folded(label, _fold_extra(extra))


def map_offences(labels: pa.Array | pa.ChunkedArray,
                 extra: Mapping[str, str] | None = None) -> pa.Array:
    """:func:`map_offence` over an Arrow array, mapping each distinct label once.

    Returns a ``pa.string()`` array of the same length, null where the label is null, empty
    or unknown.
    """
    folded_extra = _fold_extra(extra)
    memo: dict[Any, str | None] = {}

    def one(chunk: pa.Array) -> pa.Array:
        if pa.types.is_null(chunk.type):
            return pa.nulls(len(chunk), pa.string())
        if not pa.types.is_dictionary(chunk.type):
            chunk = pc.dictionary_encode(chunk)
        values = chunk.dictionary.to_pylist()
        mapped = []
        for value in values:
            if value not in memo:
                memo[value] = _map_folded(None if value is None else str(value), folded_extra)
            mapped.append(memo[value])
        return pc.take(pa.array(mapped, pa.string()), chunk.indices)

    if isinstance(labels, pa.ChunkedArray):
        if labels.num_chunks == 0:
            return pa.array([], pa.string())
        return pa.concat_arrays([one(chunk) for chunk in labels.chunks])
    return one(labels)
