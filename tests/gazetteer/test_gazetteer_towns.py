"""A town named after the street: "Mil Lane, Lydd" is searched among Lydd's names first, where a
slip has fewer rivals than across the country; a neighbouring town's streets are not Lydd's."""

from __future__ import annotations

import pytest

from crimegeo.gazetteer import Gazetteer, build_gazetteer

CONFIDENT = 0.8
# id, name, local_type, x, y, extent half-width (0: none), populated_place
FEATURES = [
    ("t-lydd", "Lydd", "Town", 606_000, 120_000, 2500, "Lydd"),
    ("t-rye", "Rye", "Town", 592_000, 120_500, 2500, "Rye"),
    ("lydd-mill", "Mill Lane", "Named Road", 606_300, 120_200, 80, "Lydd"),
    ("lydd-station", "Station Road", "Named Road", 605_700, 119_800, 120, "Lydd"),
    ("rye-mill", "Mill Lane", "Named Road", 592_300, 120_600, 80, "Rye"),
    ("rye-mall", "Mall Lane", "Named Road", 592_500, 120_900, 80, "Rye"),
    ("rye-mile", "Mile Lane", "Named Road", 591_800, 120_100, 80, "Rye"),
    # Rye's Church Road lies inside Lydd's (generous) box, but the gazetteer says it is Rye's
    ("rye-church", "Church Road", "Named Road", 604_000, 121_000, 80, "Rye"),
    ("lydd-church", "Church Road", "Named Road", 606_800, 120_700, 80, "Lydd"),
]


@pytest.fixture(scope="module")
def towns(tmp_path_factory: pytest.TempPathFactory) -> Gazetteer:
    folder = tmp_path_factory.mktemp("towns")
    lines = ["id,name,local_type,x,y,xmin,ymin,xmax,ymax,populated_place"]
    for fid, name, local, x, y, half, place in FEATURES:
        box = f"{x - half},{y - half},{x + half},{y + half}" if half else ",,,"
        lines.append(f"{fid},{name},{local},{x},{y},{box},{place}")
    (folder / "towns.csv").write_text("\n".join(lines) + "\n")
    build_gazetteer([str(folder / "towns.csv")], str(folder / "gaz"), format="csv",
                    crs="EPSG:27700")
    return Gazetteer.load(str(folder / "gaz"))


def test_a_slip_is_judged_among_the_towns_names(towns: Gazetteer) -> None:
    # Across both towns "Mil Lane" is one slip from Mill, Mall and Mile Lane: no answer is
    # confident. In Lydd only Mill Lane is that close.
    assert towns.lookup("Mil Lane")[0].score < CONFIDENT
    m = towns.lookup("Mil Lane, Lydd")[0]
    assert (m.id, m.reason) == ("lydd-mill", "typo1") and m.score >= CONFIDENT
    m = towns.lookup("Mil Lane, Rye")[0]
    assert m.score < CONFIDENT  # Rye has Mill, Mall and Mile Lane: rivals


def test_a_neighbours_street_inside_the_towns_box_is_not_the_towns(towns: Gazetteer) -> None:
    m = towns.lookup("Church Road, Lydd")[0]
    assert m.id == "lydd-church" and m.match_type != "ambiguous"
    m = towns.lookup("Chruch Road, Lydd")[0]
    assert m.id == "lydd-church" and m.score >= CONFIDENT


def test_a_town_without_the_street_falls_back_to_the_country(towns: Gazetteer) -> None:
    m = towns.lookup("Mile Lnae, Lydd")[0]  # only Rye has a Mile Lane
    assert m.id == "rye-mile"


def test_key_texts_survive_their_memo_starting_again(towns: Gazetteer, monkeypatch) -> None:
    """The key-text memo is cleared when full: ids already in it must still be answered."""
    import numpy as np

    from crimegeo.gazetteer import index

    monkeypatch.setattr(index, "KEY_TEXT_CACHE_MAX", 3)
    towns._key_text_cache.clear()
    ids = np.arange(len(towns._key_hash))
    first = towns._key_texts(ids[:3])
    assert towns._key_texts(ids)[:3] == first and len(towns._key_texts(ids)) == len(ids)
