"""The police.uk crime categories and offence-label mapping."""

from __future__ import annotations

from importlib.resources import files

import pyarrow as pa
import pytest
import yaml

from crimegeo.standards.categories import (
    CRIME_CATEGORIES,
    category_description,
    category_slug,
    map_offence,
    map_offences,
)

SLUGS = {
    "Anti-social behaviour": "anti-social-behaviour",
    "Bicycle theft": "bicycle-theft",
    "Burglary": "burglary",
    "Criminal damage and arson": "criminal-damage-arson",
    "Drugs": "drugs",
    "Other theft": "other-theft",
    "Possession of weapons": "possession-of-weapons",
    "Public order": "public-order",
    "Robbery": "robbery",
    "Shoplifting": "shoplifting",
    "Theft from the person": "theft-from-the-person",
    "Vehicle crime": "vehicle-crime",
    "Violence and sexual offences": "violent-crime",
    "Other crime": "other-crime",
}

VSO = "Violence and sexual offences"
CDA = "Criminal damage and arson"

LABELS = [
    ("Theft from motor vehicle", "Vehicle crime"),
    ("Theft of motor vehicle", "Vehicle crime"),
    ("Aggravated vehicle taking", "Vehicle crime"),
    ("Interfering with a motor vehicle", "Vehicle crime"),
    ("Theft or unauthorised taking of a motor vehicle", "Vehicle crime"),
    ("Residential burglary", "Burglary"),
    ("Burglary - business and community", "Burglary"),
    ("Burglary – Business & Community", "Burglary"),
    ("Burglary dwelling", "Burglary"),
    ("Aggravated burglary", "Burglary"),
    ("Common assault", VSO),
    ("Assault with injury", VSO),
    ("ABH", VSO),
    ("GBH", VSO),
    ("Wounding", VSO),
    ("Harassment", VSO),
    ("Stalking", VSO),
    ("Malicious communications", VSO),
    ("Rape", VSO),
    ("Sexual assault", VSO),
    ("Murder", VSO),
    ("Possession of cannabis", "Drugs"),
    ("Trafficking in controlled drugs", "Drugs"),
    ("Possession with intent to supply", "Drugs"),
    ("Possession of an article with blade or point", "Possession of weapons"),
    ("Possession of firearms", "Possession of weapons"),
    ("Possession of offensive weapon", "Possession of weapons"),
    ("Theft from shops", "Shoplifting"),
    ("Shop theft", "Shoplifting"),
    ("Theft of pedal cycle", "Bicycle theft"),
    ("Theft from person", "Theft from the person"),
    ("Snatch theft", "Theft from the person"),
    ("Robbery of personal property", "Robbery"),
    ("Robbery of business property", "Robbery"),
    ("Criminal damage to a vehicle", CDA),
    ("Arson", CDA),
    ("Public fear alarm or distress", "Public order"),
    ("Public fear, alarm or distress", "Public order"),
    ("Racially or religiously aggravated public order", "Public order"),
    ("Violent disorder", "Public order"),
    ("Making off without payment", "Other theft"),
    ("Theft by employee", "Other theft"),
    ("Blackmail", "Other theft"),
    ("Fraud", "Other crime"),
    ("Forgery", "Other crime"),
    ("Perverting the course of justice", "Other crime"),
    ("Handling stolen goods", "Other crime"),
    ("ASB", "Anti-social behaviour"),
    ("Personal ASB", "Anti-social behaviour"),
    ("Cruelty to children/young persons", VSO),
    ("Possession of controlled drugs (excluding cannabis)", "Drugs"),
]


def _packaged() -> dict:
    resource = files("standards") / "data" / "crime_categories.yaml"
    return yaml.safe_load(resource.read_text(encoding="utf-8"))


def test_fourteen_categories_in_police_uk_order() -> None:
    assert CRIME_CATEGORIES == (
        "Anti-social behaviour", "Bicycle theft", "Burglary", "Criminal damage and arson",
        "Drugs", "Other theft", "Possession of weapons", "Public order", "Robbery",
        "Shoplifting", "Theft from the person", "Vehicle crime",
        "Violence and sexual offences", "Other crime",
    )
    assert isinstance(CRIME_CATEGORIES, tuple)


@pytest.mark.parametrize(("name", "slug"), sorted(SLUGS.items()))
def test_category_slug(name: str, slug: str) -> None:
    assert category_slug(name) == slug
    assert category_slug(name.upper()) == slug
    assert category_slug(f" {name.lower()} ") == slug
    assert category_slug(slug) == slug


def test_category_slug_unknown() -> None:
    with pytest.raises(ValueError, match="not a police.uk crime category"):
        category_slug("Shop theft")
    with pytest.raises(ValueError):
        category_slug("all-crime")


def test_every_category_has_a_one_line_description() -> None:
    for name in CRIME_CATEGORIES:
        description = category_description(name)
        assert description and "\n" not in description
    assert "employee" in category_description("other-theft")


@pytest.mark.parametrize("name", CRIME_CATEGORIES)
def test_map_offence_category_names(name: str) -> None:
    assert map_offence(name) == name
    assert map_offence(name.upper()) == name
    assert map_offence(f"  {name.lower()}  ") == name
    assert map_offence("  ".join(name.split())) == name
    assert map_offence(SLUGS[name]) == name


@pytest.mark.parametrize("label", [None, "", "   "])
def test_map_offence_empty_is_none(label: str | None) -> None:
    assert map_offence(label) is None


@pytest.mark.parametrize("label", ["Jaywalking", "Witchcraft", "Theft of a goat from a boat",
                                   "All crime"])
def test_map_offence_unknown_is_none(label: str) -> None:
    assert map_offence(label) is None


@pytest.mark.parametrize(("label", "category"), LABELS)
def test_map_offence_labels(label: str, category: str) -> None:
    assert map_offence(label) == category
    assert map_offence(label.upper()) == category
    assert map_offence(label.lower()) == category
    assert map_offence(f" {label} ") == category


def test_packaged_labels_are_many_and_all_map_to_categories() -> None:
    labels = _packaged()["offence_labels"]
    assert len(labels) >= 60
    assert set(labels.values()) <= set(CRIME_CATEGORIES)
    # Every category has some labels of its own.
    assert set(labels.values()) == set(CRIME_CATEGORIES)
    for label, category in labels.items():
        assert map_offence(label) == category, label


def test_packaged_slugs_match_constants() -> None:
    packaged = _packaged()["categories"]
    assert {c["name"]: c["slug"] for c in packaged} == SLUGS


def test_extra_mapping_is_consulted_case_insensitively() -> None:
    extra = {"THEFT FROM M/V": "Vehicle crime", "S5 PUBLIC ORDER": "Public order",
             "Nuisance": "anti-social-behaviour"}
    assert map_offence("theft from m/v", extra) == "Vehicle crime"
    assert map_offence("Theft From M/V", extra) == "Vehicle crime"
    assert map_offence("s5 public order", extra) == "Public order"
    assert map_offence("Nuisance", extra) == "Anti-social behaviour"  # slug -> name
    assert map_offence("theft from m/v") is None  # not a packaged label
    # Packaged labels still apply alongside the extra mapping.
    assert map_offence("Arson", extra) == CDA


def test_extra_mapping_overrides_packaged_labels_but_not_category_names() -> None:
    extra = {"Theft": "Shoplifting", "Burglary": "Robbery"}
    assert map_offence("Theft") == "Other theft"
    assert map_offence("theft", extra) == "Shoplifting"
    assert map_offence("Burglary", extra) == "Burglary"


def test_extra_mapping_to_a_non_category_is_an_error() -> None:
    with pytest.raises(ValueError, match="not a police.uk crime category"):
        map_offence("Anything", {"Theft of goat": "Goat crime"})


def test_map_offences_with_nulls_and_repeats() -> None:
    labels = pa.array([
        "Theft from motor vehicle", None, "Shop theft", "theft FROM motor vehicle", "",
        "Jaywalking", "Shop theft", None, "Burglary", "Theft from motor vehicle",
    ])
    result = map_offences(labels)
    assert isinstance(result, pa.Array)
    assert result.type == pa.string()
    assert len(result) == len(labels)
    assert result.to_pylist() == [
        "Vehicle crime", None, "Shoplifting", "Vehicle crime", None,
        None, "Shoplifting", None, "Burglary", "Vehicle crime",
    ]


def test_map_offences_matches_map_offence() -> None:
    values = [label for label, _ in LABELS] + [None, "", "nonsense"] + list(CRIME_CATEGORIES)
    values = values * 3
    expected = [map_offence(v) for v in values]
    assert map_offences(pa.array(values, pa.string())).to_pylist() == expected
    assert map_offences(pa.array(values, pa.large_string())).to_pylist() == expected


def test_map_offences_chunked_and_dictionary_inputs() -> None:
    extra = {"Damage": CDA}
    chunked = pa.chunked_array([
        pa.array(["Damage", None, "Rape"]),
        pa.array([], pa.string()),
        pa.array(["damage", "Robbery of business property", None]),
    ])
    result = map_offences(chunked, extra)
    assert isinstance(result, pa.Array)
    assert result.type == pa.string()
    assert result.to_pylist() == [CDA, None, VSO, CDA, "Robbery", None]

    dictionary = pa.array(["Arson", "Arson", None, "Fraud"]).dictionary_encode()
    assert map_offences(dictionary).to_pylist() == [CDA, CDA, None, "Other crime"]

    dict_chunked = pa.chunked_array([
        pa.array(["GBH", "Fraud"]).dictionary_encode(),
        pa.array(["Fraud", None, "Snatch theft"]).dictionary_encode(),
    ])
    assert map_offences(dict_chunked).to_pylist() == [
        VSO, "Other crime", "Other crime", None, "Theft from the person",
    ]


def test_map_offences_empty_and_all_null() -> None:
    assert map_offences(pa.array([], pa.string())).to_pylist() == []
    assert map_offences(pa.chunked_array([], pa.string())).type == pa.string()
    assert map_offences(pa.chunked_array([], pa.string())).to_pylist() == []
    all_null = map_offences(pa.array([None, None]))
    assert all_null.type == pa.string()
    assert all_null.to_pylist() == [None, None]
