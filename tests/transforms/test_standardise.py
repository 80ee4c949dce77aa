"""Reading and standardising real and generated force files: every row accounted for."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import fsspec
import pyarrow as pa
import pytest

from crimegeo.standards import reasons
from crimegeo.standards.profiles import load_profiles
from crimegeo.transforms.locate import locate
from crimegeo.transforms.readers import read_source
from crimegeo.transforms.standardise import parse_numbers, standardise
from tests.conftest import default_locate_options, shared_data

DEFAULTS = default_locate_options()

PROFILES = {p.name: p for p in load_profiles()}


def _standardise(path: Path, profile: str, month: str | None):
    read = read_source(lambda: fsspec.open(str(path), "rb").open(), PROFILES[profile])
    return read, standardise(read, PROFILES[profile], source_file=path.name, month=month)


def test_every_real_city_of_london_row_is_accounted_for() -> None:
    folder = shared_data("police-uk", "city-of-london")
    files = sorted(folder.glob("*-city-of-london-street.csv"))
    assert len(files) == 36
    rows_in = written = no_location = 0
    ids = Counter()
    for path in files:
        month = path.name[:7]
        read, result = _standardise(path, "police-uk-street", month)
        assert result.rejected.num_rows == 0, result.rejected.to_pylist()[:3]
        assert read.rows_in == result.records.num_rows
        located = locate(result.records, None, DEFAULTS)
        rows_in += read.rows_in
        written += located.num_rows
        statuses = located["location_status"].to_pylist()
        row_reasons = located["reasons"].to_pylist()
        for status, text, codes in zip(statuses, located["location_text"].to_pylist(),
                                       row_reasons, strict=True):
            if text == "No Location":
                no_location += 1
                assert status == "unlocated"
                assert reasons.MISSING_COORDINATES in codes
                assert reasons.NO_LOCATION_TEXT in codes
        assert set(located["force"].to_pylist()) == {"city-of-london"}
        assert set(located["month"].to_pylist()) == {month}
        ids.update(located["crime_id"].to_pylist())
        # Rows keep their own file row numbers, 1..N.
        assert located["source_row"].to_pylist() == list(range(1, read.rows_in + 1))
    assert rows_in == written == 24_750
    assert no_location == 1_807
    # Derived ids for anti-social behaviour are unique; police.uk's own ids are not.
    assert all(count == 1 for crime_id, count in ids.items() if crime_id.startswith("cg-"))
    assert sum(1 for count in ids.values() if count >= 2) == 241


def test_derived_ids_are_stable_across_reruns() -> None:
    path = shared_data("police-uk", "city-of-london", "2019-01-city-of-london-street.csv")
    first = _standardise(path, "police-uk-street", "2019-01")[1].records["crime_id"]
    second = _standardise(path, "police-uk-street", "2019-01")[1].records["crime_id"]
    assert first.equals(second)
    assert first[0].as_py().startswith("cg-")  # the first row is anti-social behaviour


def test_real_merseyside_reexport_rejects_other_months_with_their_reason() -> None:
    path = shared_data("police-uk", "merseyside", "merseyside_shoplifting.csv")
    read, result = _standardise(path, "police-uk-reexport-snake", "2019-05")
    assert read.rows_in == 7_930
    assert result.records.num_rows + result.rejected.num_rows == 7_930
    assert set(result.records["month"].to_pylist()) == {"2019-05"}
    assert set(result.records["force"].to_pylist()) == {"merseyside"}
    assert set(result.rejected["reason"].to_pylist()) == {reasons.WRONG_MONTH}
    # NA is empty: the context column is all null, not the text "NA".
    assert result.records["context"].null_count == result.records.num_rows
    first = result.rejected.to_pylist()[0]
    assert "2019-05" in first["detail"] and first["raw"].count(",") >= 12


def test_malformed_rows_keep_their_row_numbers_and_raw_text(tmp_path: Path) -> None:
    path = tmp_path / "2024-01-kent-street.csv"
    header = ",".join(["Crime ID", "Month", "Reported by", "Falls within", "Longitude",
                       "Latitude", "Location", "LSOA code", "LSOA name", "Crime type",
                       "Last outcome category", "Context"])
    good = "a1,2024-01,Kent Police,Kent Police,1.08,51.28,On or near X,,,Burglary,,"
    lines = [header, good, "broken,row", good.replace("a1", "a3"),
             good.replace("2024-01,Kent", "2024-1x,Kent"),
             good.replace("Burglary", "Alien abduction"),
             good.replace("Kent Police,Kent", "Atlantis Police,Kent")]
    path.write_text("\n".join(lines) + "\n")
    read, result = _standardise(path, "police-uk-street", "2024-01")
    assert read.rows_in == 6
    assert result.records["source_row"].to_pylist() == [1, 3]
    rejected = {r["source_row"]: r for r in result.rejected.to_pylist()}
    assert rejected[2]["reason"] == reasons.MALFORMED_ROW
    assert rejected[2]["raw"] == "broken,row"
    assert "expected 12 fields, found 2" in rejected[2]["detail"]
    assert rejected[4]["reason"] == reasons.INVALID_MONTH
    assert rejected[5]["reason"] == reasons.UNKNOWN_CRIME_TYPE
    assert "Alien abduction" in rejected[5]["detail"]
    assert rejected[6]["reason"] == reasons.UNKNOWN_FORCE
    # The unreadable row is attributed to the file's one force.
    assert rejected[2]["force"] == "kent" and rejected[6]["force"] is None


def test_generated_formats_parse(demo_month: dict) -> None:
    folder = Path(demo_month["input"])
    expected = {info["profile"] for info in demo_month["files"].values()}
    for name, info in demo_month["files"].items():
        read, result = _standardise(folder / name, info["profile"], "2024-03")
        assert read.rows_in == info["rows"]
        assert result.records.num_rows + result.rejected.num_rows == info["rows"]
        assert set(result.records["force"].to_pylist()) == {info["force"]}
        assert result.records["crime_type"].null_count == 0
    assert len(expected) == 4


def test_kent_export_is_decoded_from_windows_1252(demo_month: dict) -> None:
    path = Path(demo_month["input"]) / "kent_crime_export_2024-03.csv"
    _, result = _standardise(path, "kent-bng-export", "2024-03")
    streets = [s for s in result.records["street_name"].to_pylist() if s and "\u2019" in s]
    assert streets, "curly apostrophes (0x92 in Windows-1252) should decode to U+2019"
    assert set(result.records["supplied_crs"].to_pylist()) == {"EPSG:27700"}


def test_parse_numbers_marks_text_that_is_not_a_number() -> None:
    values, invalid = parse_numbers(pa.array([" 1.5", "-0.1", "abc", None, "1e3", ""]))
    assert values.to_pylist() == [1.5, -0.1, None, None, 1000.0, None]
    assert invalid.to_pylist() == [False, False, True, False, False, True]


@pytest.mark.parametrize("month", ["2024-03"])
def test_jsonl_broken_lines_are_rejected_not_fatal(tmp_path: Path, month: str) -> None:
    path = tmp_path / "west-midlands-2024-03.jsonl"
    ok = ('{"incident_ref": "R1", "recorded_at": "2024-03-02T10:00:00", "offence": '
          '{"label": "Shop Theft"}, "location": {"street": "High St", "locality": null, '
          '"geo": {"lat": 52.48, "lng": -1.89}}}')
    path.write_text(ok + "\n\n" + ok[:40] + "\n" + ok.replace("R1", "R3") + "\n")
    read, result = _standardise(path, "west-midlands-jsonl", month)
    assert read.rows_in == 3
    assert result.records["crime_id"].to_pylist() == ["R1", "R3"]
    assert result.records["crime_type"].to_pylist() == ["Shoplifting", "Shoplifting"]
    assert result.records["supplied_x"].to_pylist() == [-1.89, -1.89]
    (bad,) = result.rejected.to_pylist()
    assert bad["source_row"] == 2 and bad["reason"] == reasons.MALFORMED_ROW
    assert bad["raw"] == ok[:40]


def test_a_stray_quote_damages_one_row_not_the_rest_of_the_file(tmp_path: Path) -> None:
    """Issue 17, finding 4: a police.uk file whose fields never span lines."""
    source = shared_data("police-uk", "city-of-london", "2019-10-city-of-london-street.csv")
    lines = source.read_bytes().splitlines(keepends=True)
    damaged = 40
    # A stray quote opening the Context field of data row 40.
    lines[damaged] = lines[damaged].rstrip(b"\r\n") + b'"half a quote\r\n'
    path = tmp_path / source.name
    path.write_bytes(b"".join(lines))
    profile = next(p for p in load_profiles() if p.name == "police-uk-street")
    read = read_source(lambda: path.open("rb"), profile)
    assert read.rows_counted == read.rows_in == len(lines) - 1
    assert [u.source_row for u in read.unreadable] == [damaged]
    assert "stray double quote" in read.unreadable[0].detail
    assert read.unreadable[0].raw.endswith('"half a quote')
    assert read.row_numbers.to_pylist() == [n for n in range(1, len(lines)) if n != damaged]


def test_a_byte_that_is_not_utf8_costs_its_row_not_the_file(tmp_path: Path) -> None:
    """Issue 17, finding 2: one Windows-1252 byte used to stop the month for every force."""
    source = shared_data("police-uk", "city-of-london", "2019-10-city-of-london-street.csv")
    lines = source.read_bytes().splitlines(keepends=True)
    lines[7] = lines[7].replace(b"On or near ", b"On or near Caf\xe9 ", 1)
    path = tmp_path / source.name
    path.write_bytes(b"".join(lines))
    profile = next(p for p in load_profiles() if p.name == "police-uk-street")
    read = read_source(lambda: path.open("rb"), profile)
    assert read.rows_in == read.rows_counted == len(lines) - 1
    (bad,) = read.unreadable
    assert bad.source_row == 7 and "not UTF-8 in Location" in bad.detail
    assert "Caf\\xe9" in bad.raw  # the byte, escaped, for the force to see
    assert 7 not in read.row_numbers.to_pylist() and read.table.num_rows == len(lines) - 2
    result = standardise(read, profile, source_file=path.name, month="2019-10")
    assert result.records.num_rows == len(lines) - 2
    assert result.rejected["reason"].to_pylist() == [reasons.MALFORMED_ROW]


def _west_midlands_line(ref: str, street: str = "High St") -> bytes:
    return (f'{{"incident_ref": "{ref}", "recorded_at": "2024-03-02T10:00:00", "offence": '
            f'{{"label": "Shop Theft"}}, "location": {{"street": "{street}", '
            f'"locality": null, "geo": {{"lat": 52.48, "lng": -1.89}}}}}}').encode()


def test_jsonl_bad_bytes_deep_nesting_and_lone_cr_cost_one_row_each(tmp_path: Path) -> None:
    """Issue 17, findings 2 and 10: strict decoding stopped the file, a deeply nested line
    raised RecursionError, and a carriage return inside a line made it count as two rows."""
    good = [_west_midlands_line(f"R{n}") for n in range(1, 7)]
    not_utf8 = _west_midlands_line("R7", street="Caf\xe9 Row").replace(b"Caf\xc3\xa9", b"Caf\xe9")
    deep = b'{"incident_ref": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    with_cr = _west_midlands_line("R8").replace(b'"High St"', b'"High\rSt"')
    lines = [good[0], not_utf8, good[1], deep, good[2], with_cr, good[3], b"", good[4]]
    path = tmp_path / "west-midlands-2024-03.jsonl"
    path.write_bytes(b"\r\n".join(lines) + b"\r\n")
    read, result = _standardise(path, "west-midlands-jsonl", "2024-03")
    # Eight data rows: the blank line is not one, the CR does not split one.
    assert read.rows_counted == read.rows_in == 8
    unreadable = {u.source_row: u for u in read.unreadable}
    assert sorted(unreadable) == [2, 4, 6]
    assert "not utf-8" in unreadable[2].detail and "Caf\\xe9" in unreadable[2].raw
    assert "nested too deeply" in unreadable[4].detail
    assert "not a valid JSON object" in unreadable[6].detail  # a raw CR inside a string
    assert result.records["crime_id"].to_pylist() == ["R1", "R2", "R3", "R4", "R5"]
    assert result.records["source_row"].to_pylist() == [1, 3, 5, 7, 8]
    assert result.records.num_rows + result.rejected.num_rows == 8
