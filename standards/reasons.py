"""Reason codes: why a record's location was changed, withheld or rejected.

Every correction leaves one of these codes in the record's `reasons` list, and every rejected row
carries one as its `reason`. Feedback files spell out the meaning next to the code, so a force's
data team can act on it without reading our source. Must not import Beam or Prefect.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ReasonCode:
    """A reason code and what it means for the record that carries it."""

    code: str
    meaning: str
    kind: str  # "correction", "geocode", "flag", "public" or "rejection"


_CODES = (
    # Coordinates as supplied
    ReasonCode("MISSING_COORDINATES", "No coordinates were supplied.", "flag"),
    ReasonCode("INVALID_COORDINATES", "The coordinates supplied are not numbers.", "flag"),
    ReasonCode("ZERO_COORDINATES", "The coordinates supplied were 0,0 ('null island').", "flag"),
    ReasonCode(
        "SWAPPED_AXES", "Longitude and latitude were swapped; swapped back.", "correction"
    ),
    ReasonCode(
        "BNG_IN_LONLAT",
        "British National Grid easting/northing were supplied in the longitude/latitude "
        "columns; converted.",
        "correction",
    ),
    ReasonCode(
        "LONLAT_IN_BNG",
        "Longitude/latitude were supplied in the easting/northing columns; converted.",
        "correction",
    ),
    ReasonCode(
        "OUTSIDE_GB", "The coordinates supplied are outside Great Britain; not used.", "flag"
    ),
    ReasonCode(
        "OUTSIDE_FORCE",
        "The point is outside the force's area; located from its text where possible.",
        "flag",
    ),
    ReasonCode(
        "FAR_FROM_STREET",
        "The point is far from the street the record names.",
        "flag",
    ),
    # Geocoding by name
    ReasonCode(
        "GEOCODED_STREET", "Located from the street named in the record.", "geocode"
    ),
    ReasonCode("GEOCODED_AREA", "Located from the area named in the record.", "geocode"),
    ReasonCode(
        "GEOCODE_LOW_SCORE",
        "A gazetteer match was found but its score is below the threshold; offered as a "
        "suggestion only.",
        "geocode",
    ),
    ReasonCode(
        "GEOCODE_AMBIGUOUS",
        "The name matches several places in the force's area with no way to choose.",
        "geocode",
    ),
    ReasonCode(
        "GEOCODE_NO_MATCH", "The location text matched nothing in the gazetteer.", "geocode"
    ),
    ReasonCode(
        "NO_LOCATION_TEXT", "No usable coordinates and no location text to locate from.", "flag"
    ),
    ReasonCode(
        "OUTSIDE_AREA_LAYER",
        "The point lies in no area of a supplied area layer (a partial layer); the area the "
        "record came with, if any, is kept.",
        "flag",
    ),
    # Public dataset
    ReasonCode(
        "NO_PUBLIC_POINT",
        "No public map point within 20 km: published without a location.",
        "public",
    ),
    ReasonCode(
        "NO_MAP_POINTS",
        "The run had no gazetteer or map points to move records to: published without a "
        "location.",
        "public",
    ),
    ReasonCode(
        "OUTCOME_NOT_PUBLISHED",
        "The outcome supplied is none of police.uk's outcome categories and the profile maps "
        "it to none: published without an outcome.",
        "public",
    ),
    # Rejections: the row is not in the restricted output, only in rejected/
    ReasonCode(
        "MALFORMED_ROW",
        "The row could not be read: wrong number of fields, bytes that are not valid text, "
        "or not valid JSON.",
        "rejection",
    ),
    ReasonCode("INVALID_MONTH", "The month or date is missing or not a valid date.", "rejection"),
    ReasonCode(
        "WRONG_MONTH", "The row belongs to a different month from the run's month.", "rejection"
    ),
    ReasonCode("MISSING_CRIME_TYPE", "The crime type or offence is empty.", "rejection"),
    ReasonCode(
        "UNKNOWN_CRIME_TYPE",
        "The offence label maps to none of the 14 police.uk crime categories.",
        "rejection",
    ),
    ReasonCode(
        "UNKNOWN_FORCE", "The force named in the row is not in the force registry.", "rejection"
    ),
)

REASONS: dict[str, ReasonCode] = {reason.code: reason for reason in _CODES}

# Module-level names so code reads `reasons.SWAPPED_AXES` and typos fail at import time.
MISSING_COORDINATES = "MISSING_COORDINATES"
INVALID_COORDINATES = "INVALID_COORDINATES"
ZERO_COORDINATES = "ZERO_COORDINATES"
SWAPPED_AXES = "SWAPPED_AXES"
BNG_IN_LONLAT = "BNG_IN_LONLAT"
LONLAT_IN_BNG = "LONLAT_IN_BNG"
OUTSIDE_GB = "OUTSIDE_GB"
OUTSIDE_FORCE = "OUTSIDE_FORCE"
FAR_FROM_STREET = "FAR_FROM_STREET"
GEOCODED_STREET = "GEOCODED_STREET"
GEOCODED_AREA = "GEOCODED_AREA"
GEOCODE_LOW_SCORE = "GEOCODE_LOW_SCORE"
GEOCODE_AMBIGUOUS = "GEOCODE_AMBIGUOUS"
GEOCODE_NO_MATCH = "GEOCODE_NO_MATCH"
NO_LOCATION_TEXT = "NO_LOCATION_TEXT"
OUTSIDE_AREA_LAYER = "OUTSIDE_AREA_LAYER"
NO_PUBLIC_POINT = "NO_PUBLIC_POINT"
NO_MAP_POINTS = "NO_MAP_POINTS"
OUTCOME_NOT_PUBLISHED = "OUTCOME_NOT_PUBLISHED"
MALFORMED_ROW = "MALFORMED_ROW"
INVALID_MONTH = "INVALID_MONTH"
WRONG_MONTH = "WRONG_MONTH"
MISSING_CRIME_TYPE = "MISSING_CRIME_TYPE"
UNKNOWN_CRIME_TYPE = "UNKNOWN_CRIME_TYPE"
UNKNOWN_FORCE = "UNKNOWN_FORCE"


def meaning(code: str) -> str:
    """The one-line meaning of a reason code; raises KeyError naming an unknown code."""
    try:
        return REASONS[code].meaning
    except KeyError:
        raise KeyError(f"unknown reason code {code!r}") from None
