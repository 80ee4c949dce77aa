"""The force registry: the police forces of England and Wales that crimegeo knows.

Each force has its police.uk code (``metropolitan``, ``btp`` ...), its police.uk name (the
"Reported by" value of street-level CSVs), the other names it goes by in real files, and an
approximate bounding box used to flag points that fall outside the force's area. The data lives
in ``standards/data/forces.yaml``; :func:`load_registry` reads it.

Part of ``standards``: imports nothing but the standard library and PyYAML, and must never
import Beam or Prefect.
"""

from __future__ import annotations

import difflib
import functools
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any

import yaml

from crimegeo.standards._yaml import load_yaml

API_BASE = "https://data.police.uk/api/forces/"

_SUFFIXES = ("police service", "police force", "constabulary", "police")


def normalise_name(value: str) -> str:
    """A force name folded for matching.

    Case, surrounding and repeated whitespace, punctuation and the difference between ``&``
    and ``and`` are ignored: ``"Devon & Cornwall Police"``, ``"devon and cornwall police"`` and
    ``"Devon-and-Cornwall  POLICE"`` all fold to ``"devon and cornwall police"``.
    """
    folded = value.casefold().replace("&", " and ")
    return " ".join(re.sub(r"[\W_]+", " ", folded).split())


def _strip_suffix(key: str) -> str | None:
    """``key`` without a trailing "police", "constabulary" etc., or None if it has none."""
    for suffix in _SUFFIXES:
        if key.endswith(" " + suffix):
            return key[: -len(suffix) - 1]
    return None


@dataclass(frozen=True)
class Force:
    """One police force.

    ``code`` is police.uk's force id, ``name`` exactly its police.uk "Reported by" value and
    ``extent_wgs84`` a padded bounding box ``(min_lon, min_lat, max_lon, max_lat)`` of the force
    area in WGS84 degrees.
    """

    code: str
    name: str
    aliases: tuple[str, ...]
    territorial: bool
    country: str
    extent_wgs84: tuple[float, float, float, float]

    def __post_init__(self) -> None:
        if not self.code or self.code != self.code.strip().lower():
            raise ValueError(f"force code {self.code!r} must be non-empty and lower-case")
        if not self.name.strip():
            raise ValueError(f"force {self.code!r} has an empty name")
        if len(self.extent_wgs84) != 4:
            raise ValueError(f"force {self.code!r}: extent_wgs84 must have four numbers")
        min_lon, min_lat, max_lon, max_lat = self.extent_wgs84
        if not (-180 <= min_lon < max_lon <= 180 and -90 <= min_lat < max_lat <= 90):
            raise ValueError(
                f"force {self.code!r}: extent_wgs84 {list(self.extent_wgs84)} is not a box "
                "[min_lon, min_lat, max_lon, max_lat]"
            )

    @property
    def uri(self) -> str:
        """The force's police.uk API URI, e.g. ``https://data.police.uk/api/forces/kent``.

        British Transport Police's police.uk id is ``btp``; police.uk leaves it out of its
        ``/forces`` list, but ``btp`` is what its archive files and force-level endpoints use.
        """
        return f"{API_BASE}{self.code}"

    def contains(self, lon: float, lat: float) -> bool:
        """Whether the WGS84 point lies inside the force's (padded) bounding box."""
        min_lon, min_lat, max_lon, max_lat = self.extent_wgs84
        return min_lon <= lon <= max_lon and min_lat <= lat <= max_lat


class UnknownForceError(KeyError):
    """A force code that is not in the registry; the message suggests close codes."""

    def __init__(self, value: str, suggestions: Iterable[str] = ()) -> None:
        self.value = value
        self.suggestions = tuple(suggestions)
        message = f"unknown force {value!r}"
        if self.suggestions:
            message += "; did you mean " + " or ".join(repr(s) for s in self.suggestions) + "?"
        else:
            message += "; see standards/data/forces.yaml for the known force codes"
        self.message = message
        super().__init__(message)

    def __str__(self) -> str:
        return self.message


class ForceRegistry:
    """The forces by code, with lookup by any of their names."""

    def __init__(self, forces: Iterable[Force]) -> None:
        """Index ``forces``; codes must be unique and no name or alias may name two forces."""
        self._forces: dict[str, Force] = {}
        self._names: dict[str, Force] = {}
        for force in forces:
            if force.code in self._forces:
                raise ValueError(f"duplicate force code {force.code!r}")
            self._forces[force.code] = force
        for force in self._forces.values():
            for value in (force.code, force.name, *force.aliases):
                key = normalise_name(value)
                if not key:
                    raise ValueError(f"force {force.code!r} has an empty alias")
                other = self._names.setdefault(key, force)
                if other is not force:
                    raise ValueError(
                        f"{value!r} names both {other.code!r} and {force.code!r}"
                    )

    def __len__(self) -> int:
        return len(self._forces)

    def __iter__(self) -> Iterator[Force]:
        return iter(self._forces.values())

    def __contains__(self, code: object) -> bool:
        return isinstance(code, str) and code in self._forces

    def __repr__(self) -> str:
        return f"ForceRegistry({len(self)} forces)"

    @property
    def codes(self) -> tuple[str, ...]:
        """The force codes, in registry order."""
        return tuple(self._forces)

    def get(self, code: str) -> Force:
        """The force with this police.uk code (surrounding space and case are ignored).

        Raises :class:`UnknownForceError` naming close codes when there is no such force.
        """
        force = self._forces.get(code.strip().lower()) if isinstance(code, str) else None
        if force is None:
            raise UnknownForceError(code, self._suggest(code))
        return force

    def resolve(self, value: str) -> Force | None:
        """The force a code, name or alias refers to, or None.

        Matching ignores case, whitespace, punctuation and ``&`` versus ``and``; failing an
        exact match, a trailing "Police", "Constabulary" or "Police Service" is dropped and
        the lookup tried again (``"Derbyshire Police"`` finds Derbyshire Constabulary).
        """
        if not isinstance(value, str):
            return None
        key = normalise_name(value)
        if not key:
            return None
        force = self._names.get(key)
        if force is None:
            stripped = _strip_suffix(key)
            if stripped:
                force = self._names.get(stripped)
        return force

    def _suggest(self, value: object) -> tuple[str, ...]:
        if not isinstance(value, str):
            return ()
        resolved = self.resolve(value)
        if resolved is not None:
            return (resolved.code,)
        guess = "-".join(normalise_name(value).split())
        return tuple(difflib.get_close_matches(guess, self.codes, n=3, cutoff=0.6))


def _as_float_box(value: Any, code: str) -> tuple[float, float, float, float]:
    if not isinstance(value, list | tuple) or len(value) != 4:
        raise ValueError(f"force {code!r}: extent_wgs84 must be a list of four numbers")
    try:
        min_lon, min_lat, max_lon, max_lat = (float(v) for v in value)
    except (TypeError, ValueError) as error:
        raise ValueError(f"force {code!r}: extent_wgs84 must be numbers") from error
    return (min_lon, min_lat, max_lon, max_lat)


def _force_from_mapping(entry: Mapping[str, Any]) -> Force:
    if not isinstance(entry, Mapping):
        raise ValueError(f"each force must be a mapping, not {entry!r}")
    missing = [k for k in ("code", "name", "territorial", "country", "extent_wgs84")
               if k not in entry]
    code = str(entry.get("code", "?"))
    if missing:
        raise ValueError(f"force {code!r} lacks {', '.join(missing)}")
    aliases = entry.get("aliases") or []
    if not isinstance(aliases, list):
        raise ValueError(f"force {code!r}: aliases must be a list")
    if not isinstance(entry["territorial"], bool):
        raise ValueError(f"force {code!r}: territorial must be true or false")
    return Force(
        code=code,
        name=str(entry["name"]),
        aliases=tuple(str(a) for a in aliases),
        territorial=entry["territorial"],
        country=str(entry["country"]),
        extent_wgs84=_as_float_box(entry["extent_wgs84"], code),
    )


def _parse(text: str, source: str) -> ForceRegistry:
    try:
        data = load_yaml(text)
    except yaml.YAMLError as error:
        raise ValueError(f"{source}: not valid YAML: {error}") from error
    if not isinstance(data, Mapping) or not isinstance(data.get("forces"), list):
        raise ValueError(f"{source}: expected a mapping with a 'forces' list")
    if data.get("version") != 1:
        raise ValueError(f"{source}: unsupported version {data.get('version')!r}; expected 1")
    try:
        return ForceRegistry(_force_from_mapping(entry) for entry in data["forces"])
    except ValueError as error:
        raise ValueError(f"{source}: {error}") from error


@functools.lru_cache(maxsize=1)
def _default_registry() -> ForceRegistry:
    resource = files(__package__) / "data" / "forces.yaml"
    return _parse(resource.read_text(encoding="utf-8"), str(resource))


def load_registry(path: str | Path | None = None) -> ForceRegistry:
    """The force registry from ``path``, or the packaged ``forces.yaml`` (read once, cached).

    Raises ValueError naming the file when it is malformed.
    """
    if path is None:
        return _default_registry()
    path = Path(path)
    return _parse(path.read_text(encoding="utf-8"), str(path))
