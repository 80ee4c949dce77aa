"""Months as the standard writes them: `YYYY-MM`, with a month from 01 to 12.

The one statement of the pattern. The record schema's JSON Schema, the feeds service's
OpenAPI path parameter, the parser's month check, input discovery and the output layout all
take it from here. Digits are ASCII (`[0-9]`, as RE2 and JSON Schema read `\\d`).
"""

from __future__ import annotations

import re

#: `YYYY-MM` (unanchored; its one group is the month number).
MONTH_PATTERN = "[0-9]{4}-(0[1-9]|1[0-2])"
#: The pattern anchored, as JSON Schema, OpenAPI and pyarrow's RE2 matching take it.
MONTH_ANCHORED = f"^{MONTH_PATTERN}$"
_MONTH = re.compile(MONTH_PATTERN)
#: A month standing on its own inside a longer name (`2019-01-city-of-london-street.csv`).
_MONTH_TOKEN = re.compile(f"(?<![0-9]){MONTH_PATTERN}(?![0-9])")
#: A folder naming a month: `2024-03` or `month=2024-03`; group 1 is the month.
MONTH_FOLDER = re.compile(f"(?:month=)?({MONTH_PATTERN})")


def is_month(value: object) -> bool:
    """Whether `value` is a `YYYY-MM` string with a month 01-12."""
    return isinstance(value, str) and _MONTH.fullmatch(value) is not None


def months_in(name: str) -> set[str]:
    """The months a file name carries as tokens of their own."""
    return {match.group(0) for match in _MONTH_TOKEN.finditer(name)}


class Month(str):
    """A validated `YYYY-MM` month; a `str`, so it goes wherever a month string goes."""

    __slots__ = ()

    def __new__(cls, value: object) -> Month:
        if not is_month(value):
            raise ValueError(f"month must be YYYY-MM, got {value!r}")
        return super().__new__(cls, value)

    @property
    def year(self) -> int:
        """The year, e.g. 2024."""
        return int(self[:4])

    @property
    def number(self) -> int:
        """The month of the year, 1 to 12."""
        return int(self[5:])

    def previous(self) -> Month:
        """The month before."""
        year, number = (self.year - 1, 12) if self.number == 1 else (self.year, self.number - 1)
        return Month(f"{year}-{number:02d}")

    def next(self) -> Month:
        """The month after."""
        year, number = (self.year + 1, 1) if self.number == 12 else (self.year, self.number + 1)
        return Month(f"{year}-{number:02d}")


def previous_month(month: str) -> str:
    """The month before `month` (YYYY-MM), as a plain string."""
    return str(Month(month).previous())
