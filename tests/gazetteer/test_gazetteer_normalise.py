"""Normalisation of names as forces write them."""

from __future__ import annotations

import pytest

from crimegeo.gazetteer import normalise_name
from crimegeo.gazetteer.normalise import block_keys, parse_query


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("On or near Alderman'S Walk", "aldermans walk"),  # real casing defect + prefix
        ("  HIGH   street ", "high street"),  # case and spacing
        ("High St", "high street"),
        ("St Mary Axe", "saint mary axe"),  # St before a name is Saint
        ("St. Paul's Churchyard", "saint pauls churchyard"),
        ("St Johns St", "saint johns street"),
        ("High St North", "high street north"),
        ("Upper St Martin\u2019s Lane", "upper saint martins lane"),  # typographic apostrophe
        ("Station Rd", "station road"),
        ("Park Ave", "park avenue"),
        ("Church Ln", "church lane"),
        ("Russell Sq", "russell square"),
        ("Ely Pl", "ely place"),
        ("Royal Cres", "royal crescent"),
        ("Kensington Gdns", "kensington gardens"),
        ("Earls Ct", "earls court"),
        ("Kingsway Hwy", "kingsway highway"),
        ("Bishopsgate, ", "bishopsgate"),
        ("Lydd-on-Sea", "lydd on sea"),  # punctuation
        ("Fish St. Hill", "fish street hill"),  # "St" before a street type is Street
        ("Great St Helens", "great saint helens"),  # ...before a name, Saint
        ("Beech St tunnel", "beech street tunnel"),  # ...and before a word no saint has
        ("A 4175", "a4175"),  # road numbers
        ("M25", "m25"),
        ("Ynys M\u00f4n", "ynys mon"),  # accents fold
        ("Bus/Coach Station", "bus coach station"),
        ("Marks & Spencer", "marks and spencer"),
        ("", ""),
    ],
)
def test_normalise_name(text: str, key: str) -> None:
    assert normalise_name(text) == key


def test_abbreviations_both_ways_share_a_key() -> None:
    assert normalise_name("Kensington Gardens") == normalise_name("Kensington Gdns")
    assert normalise_name("Saint Mary Axe") == normalise_name("St Mary Axe")
    assert normalise_name("Earl's Court") == normalise_name("EARLS CT")


@pytest.mark.parametrize(
    ("text", "key", "areas"),
    [
        ("Flat 3, 12a High St, Camden", "high street", ("camden",)),  # flat + house number + area
        ("12-14 Fleet Street", "fleet street", ()),
        ("Apartment 5 27 Fetter Lane", "fetter lane", ()),
        ("High Street, Camden, London NW1 7JE", "high street", ("camden",)),
        ("On or near St Mary Axe", "saint mary axe", ()),
    ],
)
def test_parse_query_strips_house_numbers_and_splits_areas(
    text: str, key: str, areas: tuple[str, ...]
) -> None:
    pq = parse_query(text)
    assert pq.key == key
    assert pq.areas[: len(areas)] == areas


@pytest.mark.parametrize(
    "text",
    [
        "junction of Fleet St and Fetter Ln",
        "Junction Fleet Street with Fetter Lane",
        "Fleet Street j/w Fetter Lane",
        "Fleet Street / Fetter Lane",
    ],
)
def test_parse_query_junction(text: str) -> None:
    assert parse_query(text).junction == ("fleet street", "fetter lane")


def test_parse_query_road_number_alternative() -> None:
    pq = parse_query("A4175 High Street")
    assert pq.road_number == "a4175"
    assert "high street" in pq.alternatives


def test_block_keys_survive_a_typo() -> None:
    assert set(block_keys("charterhouse street")) & set(block_keys("chartrhouse street"))
    assert all(not k.endswith("street") for k in block_keys("charterhouse street"))
