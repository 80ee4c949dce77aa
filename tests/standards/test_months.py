"""Months: the one YYYY-MM pattern, and stepping from month to month."""

from __future__ import annotations

import re

import pytest

from crimegeo.standards.months import (
    MONTH_ANCHORED,
    MONTH_FOLDER,
    Month,
    is_month,
    months_in,
    previous_month,
)
from crimegeo.standards.schema import record_json_schema


@pytest.mark.parametrize("text", ["2024-01", "2024-12", "1999-10"])
def test_valid_months(text: str) -> None:
    assert is_month(text) and Month(text) == text and isinstance(Month(text), str)


@pytest.mark.parametrize("text", ["2024-00", "2024-13", "2024-3", "202403", "2024-03x",
                                  "x2024-03", "2024_03", "", None, 202403, "２０２４-03"])
def test_invalid_months(text: object) -> None:
    assert not is_month(text)
    with pytest.raises(ValueError, match="month must be YYYY-MM"):
        Month(text)


def test_previous_and_next_cross_years() -> None:
    assert Month("2024-01").previous() == "2023-12"
    assert Month("2023-12").next() == "2024-01"
    assert Month("2024-11").previous() == "2024-10" and Month("2024-10").next() == "2024-11"
    assert previous_month("2024-03") == "2024-02" and type(previous_month("2024-03")) is str
    assert (Month("2024-03").year, Month("2024-03").number) == (2024, 3)


def test_months_in_names_and_folders() -> None:
    assert months_in("2019-01-city-of-london-street.csv") == {"2019-01"}
    assert months_in("kent_2024-03_and_2024-04.csv") == {"2024-03", "2024-04"}
    assert months_in("12024-031.csv") == set() and months_in("kent.csv") == set()
    assert MONTH_FOLDER.fullmatch("month=2024-03").group(1) == "2024-03"
    assert MONTH_FOLDER.fullmatch("2024-03").group(1) == "2024-03"


def test_the_published_schemas_carry_the_one_pattern() -> None:
    schema = record_json_schema()
    assert schema["properties"]["month"]["pattern"] == MONTH_ANCHORED
    assert re.fullmatch(MONTH_ANCHORED[1:-1], "2024-03")
