"""police.uk's API shapes: crimes, categories, forces, and its parameter rules.

Rows of the public dataset become police.uk's crime objects exactly as data.police.uk gives
them (latitude and longitude as strings, integer `id` and `street.id`, `context` an empty string
when there is none), so existing police.uk clients read crimegeo unchanged. Parameter parsing
raises `ApiError` with police.uk's status codes: 400 for a malformed parameter, 404 for an
unknown force or category, 503 for an area holding more than 10,000 crimes.
No Beam, no Prefect.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable

import numpy as np
import pyarrow as pa

from crimegeo.standards.categories import CRIME_CATEGORIES, category_slug
from crimegeo.standards.months import is_month
from crimegeo.standards.registry import Force, load_registry

#: police.uk answers 503 when an area holds more crimes than this.
MAX_CRIMES = 10_000
#: police.uk's limit on a GET request's length (path and query).
MAX_GET_LENGTH = 4094
#: Vertices a custom area may have (a POST carries long ones), and its largest span in degrees:
#: a polygon wider than a county is refused before any data is read.
MAX_POLYGON_VERTICES = 2_000
MAX_POLYGON_SPAN_DEGREES = 1.5
ALL_CRIME = "all-crime"
#: A decimal degree as clients write it: Python's and JavaScript's shortest float text may run to
#: 17 decimals (-0.1 + 0.01 is "-0.09000000000000001"), so no cap on decimals, only on length;
#: and Python writes a longitude within 7 m of Greenwich with an exponent (str(0.00005) is
#: "5e-05").
_FLOAT = re.compile(r"^-?\d{1,3}(\.\d+)?([eE][-+]?\d{1,3})?$")
_MAX_NUMBER_LENGTH = 40
#: What JavaScript and some scripts send for an optional parameter left out (`ukpd` builds
#: `&date=${date}`, giving `date=undefined`): the parameter was not given.
_UNSET = frozenset({"undefined", "null"})
#: A public crime id: police.uk's 64 hex characters, or crimegeo's own shorter ids.
_PERSISTENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$")


class ApiError(Exception):
    """A request police.uk would refuse: `status` and a one-line `message`."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def given(value: str | None) -> bool:
    """Whether an optional parameter was given: not absent, empty, `undefined` or `null`."""
    return value is not None and value != "" and value not in _UNSET


def parse_month(value: str | None, latest: str | None) -> str:
    """`date=YYYY-MM`, defaulting to the latest published month when not `given`; 400 when
    malformed."""
    if not given(value):
        if latest is None:
            raise ApiError(404, "no month is published yet")
        return latest
    if not is_month(value):
        raise ApiError(400, f"date must be YYYY-MM, not {value[:20]!r}")
    return value


def parse_coordinate(value: str | None, name: str, limit: float) -> float:
    """A latitude or longitude parameter; 400 when missing, malformed or out of range."""
    if value is None or len(value) > _MAX_NUMBER_LENGTH or not _FLOAT.match(value.strip()):
        raise ApiError(400, f"{name} must be a decimal number")
    number = float(value)
    if not -limit <= number <= limit:
        raise ApiError(400, f"{name} must lie between -{limit:g} and {limit:g}")
    return number


def parse_polygon(poly: str) -> list[tuple[float, float]]:
    """police.uk's `poly=lat,lng:lat,lng:...` as (lon, lat) pairs, checked for size."""
    pairs = [p for p in poly.strip().strip(":").split(":") if p]
    if len(pairs) < 3:
        raise ApiError(400, "poly needs at least three lat,lng points")
    if len(pairs) > MAX_POLYGON_VERTICES:
        raise ApiError(400, f"poly has {len(pairs)} points; at most {MAX_POLYGON_VERTICES}")
    points = []
    for pair in pairs:
        parts = pair.split(",")
        if len(parts) != 2:
            raise ApiError(400, "poly must be lat,lng pairs separated by colons")
        lat = parse_coordinate(parts[0], "poly latitude", 90)
        lon = parse_coordinate(parts[1], "poly longitude", 180)
        points.append((lon, lat))
    lons = [p[0] for p in points]
    lats = [p[1] for p in points]
    if max(lons) - min(lons) > MAX_POLYGON_SPAN_DEGREES or \
            max(lats) - min(lats) > MAX_POLYGON_SPAN_DEGREES:
        raise ApiError(400, f"poly spans more than {MAX_POLYGON_SPAN_DEGREES} degrees; ask for "
                            "a smaller area")
    return points


def parse_category(slug: str) -> str | None:
    """The category name of a police.uk slug (None for `all-crime`); 404 when unknown."""
    if slug == ALL_CRIME:
        return None
    for name in CRIME_CATEGORIES:
        if category_slug(name) == slug:
            return name
    raise ApiError(404, f"unknown crime category {slug[:40]!r}")


def parse_force(code: str | None) -> Force:
    """A force by its police.uk id; 400 when missing, 404 when unknown."""
    if not code:
        raise ApiError(400, "force is required")
    registry = load_registry()
    if code not in registry:
        raise ApiError(404, f"unknown force {code[:40]!r}")
    return registry.get(code)


def parse_persistent_id(value: str) -> str:
    """A crime's public id from a path; 400 when it cannot be one."""
    if not _PERSISTENT_ID.match(value):
        raise ApiError(400, "not a crime id")
    return value


def parse_location_id(value: str | None) -> int:
    """A map point id: a non-negative integer below 2**53; 400 otherwise."""
    if value is None or not value.isdigit() or len(value) > 16 or int(value) >= 2**53:
        raise ApiError(400, "location_id must be an integer")
    return int(value)


def categories(date: str | None = None) -> list[dict]:
    """`/api/crime-categories`: `all-crime` then the 14 categories, as police.uk lists them."""
    del date  # the categories have not changed within the months crimegeo serves
    return [{"url": ALL_CRIME, "name": "All crime"}] + [
        {"url": category_slug(name), "name": name} for name in CRIME_CATEGORIES]


def force_summary(force: Force) -> dict:
    """A force as `/api/forces` lists it."""
    return {"id": force.code, "name": force.name}


def force_detail(force: Force) -> dict:
    """A force as `/api/forces/{id}` gives it (crimegeo has no contact details: empty)."""
    return {"id": force.code, "name": force.name, "url": None, "description": None,
            "telephone": None, "engagement_methods": []}


def crime_number(persistent_id: str | None, month: str, force: str, row: int) -> int:
    """police.uk's integer crime `id`: deterministic from the record, below 2**53."""
    key = f"{persistent_id}|{month}|{force}|{row}".encode()
    return int.from_bytes(hashlib.sha256(key).digest()[:7], "big") >> 4


def _coordinate(value: float | None) -> str | None:
    return None if value is None or np.isnan(value) else f"{value:.6f}"


def _outcome_code(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def crimes(rows: pa.Table, *, with_outcome: bool = True) -> list[dict]:
    """Public rows as police.uk crime objects, in the rows' order.

    `outcome_status.date` is the crime's month: crimegeo holds each crime's last outcome but
    not the month it was recorded.
    """
    out = []
    columns = {name: rows[name].to_pylist() for name in (
        "persistent_id", "month", "force", "crime_type", "outcome", "context", "public_label",
        "public_lon", "public_lat", "location_id")}
    seen: dict[tuple, int] = {}
    for i in range(rows.num_rows):
        pid, month, force = columns["persistent_id"][i], columns["month"][i], \
            columns["force"][i]
        # Duplicate ids are real (the same Crime ID twice in a month): number them apart.
        key = (pid, month, force)
        seen[key] = seen.get(key, -1) + 1
        located = columns["location_id"][i] is not None and columns["public_lat"][i] is not None
        crime = {
            "category": category_slug(columns["crime_type"][i]),
            "location_type": ("BTP" if force == "btp" else "Force") if located else None,
            "location": {
                "latitude": _coordinate(columns["public_lat"][i]),
                "street": {"id": int(columns["location_id"][i]),
                           "name": columns["public_label"][i]},
                "longitude": _coordinate(columns["public_lon"][i]),
            } if located else None,
            "context": columns["context"][i] or "",
            "persistent_id": pid,
            "id": crime_number(pid, month, force, seen[key]),
            "location_subtype": "",
            "month": month,
        }
        if with_outcome:
            outcome = columns["outcome"][i]
            crime["outcome_status"] = {"category": outcome, "date": month} if outcome else None
        out.append(crime)
    return out


def outcomes(rows: pa.Table) -> dict:
    """`/api/outcomes-for-crime/{id}`: the crime and its last outcome (crimegeo holds one)."""
    crime = crimes(rows.slice(0, 1), with_outcome=False)[0]
    outcome = rows["outcome"][0].as_py()
    return {"crime": crime, "outcomes": [] if not outcome else [{
        "category": {"code": _outcome_code(outcome), "name": outcome},
        "date": crime["month"], "person_id": None}]}


def forces_list(codes: Iterable[str] | None = None) -> list[dict]:
    """`/api/forces`: territorial forces (police.uk leaves out `btp`), by id."""
    registry = load_registry()
    return [force_summary(f) for f in registry if f.territorial
            and (codes is None or f.code in codes)]
