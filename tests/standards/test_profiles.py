"""Force input profiles: loading, checking, and recognising real and generated files."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from crimegeo.standards.profiles import (
    ProfileError,
    UnmatchedFileError,
    load_profile,
    load_profiles,
    match_profile,
    profile_from_mapping,
)
from tests.conftest import shared_data

POLICE_UK_HEADER = ["Crime ID", "Month", "Reported by", "Falls within", "Longitude", "Latitude",
                    "Location", "LSOA code", "LSOA name", "Crime type",
                    "Last outcome category", "Context"]


def test_builtin_profiles_cover_the_four_formats() -> None:
    names = {p.name for p in load_profiles()}
    assert {"police-uk-street", "kent-bng-export", "west-midlands-jsonl",
            "police-uk-reexport-snake"} <= names


def test_real_files_match_their_profiles() -> None:
    profiles = load_profiles()
    city = shared_data("police-uk", "city-of-london", "2019-01-city-of-london-street.csv")
    header = next(csv.reader(city.open(encoding="utf-8-sig")))
    assert match_profile(city.name, header, profiles).name == "police-uk-street"
    mersey = shared_data("police-uk", "merseyside", "merseyside_shoplifting.csv")
    header = next(csv.reader(mersey.open(encoding="utf-8")))
    assert match_profile(mersey.name, header, profiles).name == "police-uk-reexport-snake"


def test_unmatched_file_names_the_file_and_profiles_tried() -> None:
    profiles = load_profiles()
    with pytest.raises(UnmatchedFileError) as error:
        match_profile("mystery.csv", ["id", "when", "what"], profiles)
    message = str(error.value)
    assert "mystery.csv" in message
    for profile in profiles:
        assert profile.name in message


def test_bad_profiles_are_clear_errors(tmp_path: Path) -> None:
    base = {"name": "x", "columns": {"month": "m", "crime_type": "t"}, "force": "kent",
            "recognise": {"filename": "*.csv"}}
    profile_from_mapping(base)  # valid
    cases = [
        ({**base, "name": "Bad Name"}, "name"),
        ({**base, "format": "xml"}, "format"),
        ({**base, "columns": {"month": "m"}}, "crime_type"),
        ({**base, "columns": {**base["columns"], "colour": "c"}}, "colour"),
        ({**base, "force": None}, "force"),
        ({**base, "columns": {**base["columns"], "x": "e"}}, "x and y"),
        ({**base, "columns": {**base["columns"], "x": "e", "y": "n"}}, "coordinate_crs"),
        ({**base, "recognise": {}}, "recognise"),
    ]
    for data, expected in cases:
        with pytest.raises(ProfileError, match=expected):
            profile_from_mapping(data, "profiles/x.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: [unclosed\n")
    with pytest.raises(ProfileError, match="broken.yaml"):
        load_profile(broken)


def test_a_profile_folder_adds_a_format_without_code(tmp_path: Path) -> None:
    (tmp_path / "surrey.yaml").write_text(
        "name: surrey-export\nformat: csv\nforce: surrey\n"
        "recognise: {filename: 'surrey_*.csv', header: [Ref, Date, Type]}\n"
        "month_format: '%d/%m/%Y'\ncolumns: {crime_id: Ref, month: Date, crime_type: Type}\n")
    profiles = load_profiles([tmp_path])
    chosen = match_profile("surrey_2024.csv", ["Ref", "Date", "Type"], profiles)
    assert chosen.name == "surrey-export" and chosen.force_code == "surrey"
