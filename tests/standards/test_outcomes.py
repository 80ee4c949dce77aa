"""police.uk's outcome categories: the vocabulary public outcomes come from, and profiles'
publishing rules."""

from __future__ import annotations

import csv

import pyarrow as pa
import pytest

from crimegeo.standards.outcomes import OUTCOME_CATEGORIES, outcome_category, public_outcomes
from crimegeo.standards.profiles import ProfileError, load_profiles, profile_from_mapping
from tests.conftest import shared_data


def test_every_outcome_in_real_police_uk_files_is_in_the_vocabulary() -> None:
    seen: set[str] = set()
    for path in sorted(shared_data("police-uk", "city-of-london").glob("*.csv")):
        with path.open(encoding="utf-8-sig") as handle:
            seen.update(row["Last outcome category"] for row in csv.DictReader(handle))
    with shared_data("police-uk", "merseyside", "merseyside_shoplifting.csv").open() as handle:
        seen.update(row["last_outcome_category"] for row in csv.DictReader(handle))
    seen -= {"", "NA"}
    assert len(seen) >= 20
    assert {outcome_category(value) for value in seen} == seen


def test_supplied_outcomes_map_to_the_vocabulary_or_to_nothing() -> None:
    supplied = pa.array(["offender given a PENALTY notice", "Local resolution", None,
                         "Words of advice given to suspect at home address", "NFA"])
    assert public_outcomes(supplied).to_pylist() == [
        "Offender given penalty notice", "Local resolution", None, None, None]
    own = {"NFA": "Investigation complete; no suspect identified"}
    assert public_outcomes(supplied, own).to_pylist()[-1] == OUTCOME_CATEGORIES[0]


BASE = {"name": "new-force", "force": "kent", "recognise": {"filename": "x*.csv"},
        "columns": {"crime_id": "Ref", "month": "Date", "crime_type": "Type",
                    "context": "Notes", "location_text": "Where"}}


def test_a_new_profile_publishes_no_free_text_and_keys_its_ids() -> None:
    rules = profile_from_mapping(BASE).public_rules
    assert rules.id_kind == "force-reference" and rules.publishable == ()
    built_in = {p.name: p.public_rules for p in load_profiles()}
    assert built_in["police-uk-street"].id_kind == "police-uk-persistent-id"
    assert built_in["police-uk-street"].publishable == ("context",)
    assert built_in["kent-bng-export"].publishable == ()


@pytest.mark.parametrize(("change", "message"), [
    ({"publishable": ["location_text"]}, "'publishable' may list only context"),
    ({"publishable": ["context"], "columns": {"month": "D", "crime_type": "T"}},
     "which 'columns' does not map"),
    ({"id_kind": "guid"}, "'id_kind' must be one of"),
    ({"outcome_mapping": {"NFA": "Closed"}}, "not a police.uk outcome category"),
])
def test_profiles_that_would_publish_unvetted_text_are_refused(change: dict,
                                                               message: str) -> None:
    with pytest.raises(ProfileError, match=message):
        profile_from_mapping({**BASE, **change}, "my.yaml")
