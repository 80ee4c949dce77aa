"""lookup_arrays gives lookup_many's answers, as columns."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from crimegeo.gazetteer import Gazetteer, build_gazetteer


def test_lookup_arrays_agrees_with_lookup_many(tmp_path: Path) -> None:
    from crimegeo.flows.sample import generate_sample

    summary = generate_sample(tmp_path / "s", rows=50, seed=3)
    build_gazetteer([summary["gazetteer_source"]], str(tmp_path / "g"), format="csv")
    gazetteer = Gazetteer.load(str(tmp_path / "g"))
    import csv

    with open(summary["gazetteer_source"], encoding="utf-8") as handle:
        kent = [r["name"] for r in csv.DictReader(handle) if r["force"] == "kent"][:5]
    street = kent[0]
    names = [*kent, street.upper(), street.lower(), street[:2] + street[3] + street[2] +
             street[4:], "Northfield", "Nowhere In Particular", f"On or near {street}", street]
    for force in ("kent", "city-of-london"):
        for fuzzy in (True, False):
            arrays = gazetteer.lookup_arrays(names, force=force, fuzzy=fuzzy)
            matches = gazetteer.lookup_many(names, force=force, fuzzy=fuzzy)
            if force == "kent":  # the names are Kent's: most must be found, exactly
                assert sum(m is not None and m.match_type == "exact" for m in matches) >= 5
            assert len(arrays["score"]) == len(names)
            for i, match in enumerate(matches):
                if match is None:
                    assert np.isnan(arrays["score"][i]) and arrays["id"][i] is None
                    continue
                assert arrays["match_type"][i] == match.match_type
                assert arrays["score"][i] == match.score
                assert arrays["id"][i] == (match.uri or match.id)
                assert (arrays["x_bng"][i], arrays["y_bng"][i]) == (match.x_bng, match.y_bng)
                assert tuple(arrays["extent"][i]) == tuple(match.extent)
                assert arrays["name"][i] == match.name


def test_candidates_are_lookups_best_places(tmp_path: Path) -> None:
    """With candidates_below, answers that are ambiguous, low or missing carry the places a
    single :meth:`lookup` ranks first, and their number; the others none."""
    from crimegeo.flows.sample import generate_sample

    summary = generate_sample(tmp_path / "s", rows=50, seed=3)
    build_gazetteer([summary["gazetteer_source"]], str(tmp_path / "g"), format="csv")
    gazetteer = Gazetteer.load(str(tmp_path / "g"))
    import csv

    with open(summary["gazetteer_source"], encoding="utf-8") as handle:
        names = [r["name"] for r in csv.DictReader(handle)]
    repeated = next(n for n in names if names.count(n) > 3)  # a name in several towns
    street = names[0]
    texts = [repeated, street, street[:3] + street[4:], "Nowhere In Particular", repeated]
    arrays = gazetteer.lookup_arrays(texts, candidates_below=0.8)
    assert arrays["match_type"][0] == "ambiguous"
    for i, text in enumerate(texts):
        found = gazetteer.lookup(text, limit=3)
        if not found:
            assert arrays["candidate_count"][i] == 0 and arrays["candidates"][i] == ()
        elif found[0].match_type == "ambiguous" or found[0].score < 0.8:
            assert arrays["candidate_count"][i] == found[0].places >= len(found)
            assert [c[:2] for c in arrays["candidates"][i]] == [
                (m.name, m.uri or m.id) for m in found]
        else:
            assert arrays["candidate_count"][i] == -1 and arrays["candidates"][i] is None
    count = int(arrays["candidate_count"][0])
    assert count >= 2 and len(arrays["candidates"][0]) == min(3, count)
    assert arrays["candidates"][4] == arrays["candidates"][0]  # a repeated text, once


def test_exact_names_match_the_same_rows_in_arrow_and_through_the_hash_index(
        tmp_path: Path, monkeypatch) -> None:
    """Within a force exact names are matched in Arrow; nationally through the built hash
    index. Both must pick the same rows for the same texts."""
    import csv

    from crimegeo.flows.sample import generate_sample
    from crimegeo.gazetteer import index

    summary = generate_sample(tmp_path / "s", rows=50, seed=4)
    build_gazetteer([summary["gazetteer_source"]], str(tmp_path / "g"), format="csv")
    with open(summary["gazetteer_source"], encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    kent = [r["name"] for r in rows if r["force"] == "kent"][:40]
    others = [r["name"] for r in rows if r["force"] != "kent"][:10]
    texts = [*kent, *others, *(f"On or near {n}" for n in kent[:10]),
             *(f"  ON OR NEAR  {n} " for n in kent[10:15]), *(n.upper() for n in kent[:5]),
             *(n + " " for n in kent[15:20]), "Nowhere In Particular", "", "On or near "]

    def exact(force: str | None, limit: int) -> tuple[list, list]:
        monkeypatch.setattr(index, "ARROW_EXACT_MAX_NAMES", limit)
        gazetteer = Gazetteer.load(str(tmp_path / "g"))  # fresh caches for each path
        hit, found = gazetteer._exact_rows(texts, gazetteer._area(force, None))
        return hit.tolist(), found.tolist()

    for force in ("kent", "metropolitan", None):
        in_arrow, hashed = exact(force, 10**9), exact(force, -1)
        assert in_arrow == hashed
        if force == "kent":
            assert len(in_arrow[0]) >= 40  # Kent's own names, bare or after "On or near"



def _assert_each_text_gets_its_own_lookup(gazetteer: Gazetteer, texts: list[str],
                                          force: str | None) -> None:
    """lookup_arrays (with candidates) and lookup_many answer each text as lookup() alone."""
    for fuzzy in (True, False):
        arrays = gazetteer.lookup_arrays(texts, force=force, fuzzy=fuzzy, candidates_below=0.8)
        many = gazetteer.lookup_many(texts, force=force, fuzzy=fuzzy)
        for i, text in enumerate(texts):
            alone = gazetteer.lookup(text, force=force, limit=3, fuzzy=fuzzy)
            if not alone:
                assert many[i] is None and np.isnan(arrays["score"][i])
                assert arrays["candidate_count"][i] == 0 and arrays["candidates"][i] == ()
                continue
            best = alone[0]
            assert many[i] == best, text
            assert (arrays["match_type"][i], arrays["score"][i], arrays["name"][i],
                    arrays["id"][i]) == (best.match_type, best.score, best.name,
                                         best.uri or best.id), text
            assert tuple(arrays["extent"][i]) == best.extent, text
            if best.match_type == "ambiguous" or best.score < 0.8:
                assert arrays["candidate_count"][i] == best.places, text
                assert list(arrays["candidates"][i]) == [
                    (m.name, m.uri or m.id, m.x_bng, m.y_bng) for m in alone], text
            else:
                assert arrays["candidate_count"][i] == -1 and arrays["candidates"][i] is None


def _rows_of_own_key(gazetteer: Gazetteer, text: str, force: str | None) -> int:
    from crimegeo.gazetteer.normalise import parse_query

    return len(gazetteer._rows_for_key(parse_query(text).key, gazetteer._area(force, None)))


def test_texts_ranked_together_get_their_own_lookups_answers(col_gaz: Gazetteer,
                                                             col_files: list[str]) -> None:
    """The batch calls rank every text's candidates together (`_rank_many`); each text must
    still get what :meth:`lookup` alone gives it: the best place, its score and extent, and
    for answers that need them the candidates and their number. Real City of London labels,
    many of them streets with several map points of their own name, and generic places
    ("Supermarket", ambiguous), written as police.uk writes them and otherwise."""
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv

    labels = pc.unique(pacsv.read_csv(col_files[20])["Location"]).to_pylist()
    names = [label.removeprefix("On or near ") for label in labels if label]
    texts = [*labels, *(n.lower() for n in names[:60]), *(f"{n}, London" for n in names[:30]),
             *(n[:3] + n[4:] for n in names[:30] if len(n) > 6), "Nowhere In Particular",
             "On or near Supermarket", "Supermarket, Cheapside"]
    several = [t for t in texts if _rows_of_own_key(col_gaz, t, "city-of-london") > 1]
    assert len(several) > 100
    _assert_each_text_gets_its_own_lookup(col_gaz, texts, "city-of-london")
    found = col_gaz.lookup_many(["On or near Supermarket"], force="city-of-london")
    assert found[0].match_type == "ambiguous"


def test_common_names_ranked_together_get_their_own_lookups_answers(tmp_path: Path) -> None:
    """Names with more than CLUSTER_EXACT_MAX rows are grouped on a grid, then the rows in
    contention linked exactly: in a batch as alone. A Market Street in each of 40 places (two
    map points 300 m apart in each) and a Bell Lane in 12, among a generated gazetteer."""
    import csv

    from crimegeo.flows.sample import generate_sample
    from crimegeo.gazetteer.ranking import CLUSTER_EXACT_MAX

    summary = generate_sample(tmp_path / "s", rows=50, seed=3)
    source = Path(summary["gazetteer_source"])
    with open(source, encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    added = []
    for i in range(40):
        lon, lat = -1.9 + 0.05 * (i % 8), 51.2 + 0.04 * (i // 8)
        for j, name in enumerate(("Market Street", "Market Street", "Bell Lane")[
                : 3 if i % 4 == 0 and i < 48 else 2]):
            added.append({**rows[0], "id": f"test:{i}:{j}", "name": name,
                          "lon": f"{lon + 0.004 * j:.6f}", "lat": f"{lat:.6f}",
                          "populated_place": f"Town {i}", "force": ""})
    with open(source, "a", encoding="utf-8", newline="") as handle:
        csv.DictWriter(handle, fieldnames=list(rows[0])).writerows(added)
    build_gazetteer([str(source)], str(tmp_path / "g"), format="csv")
    gazetteer = Gazetteer.load(str(tmp_path / "g"))
    names = [r["name"] for r in rows[:80]]
    texts = ["Market Street", "market st", "On or near Market Street", "Bell Lane",
             "Market Street, Town 3", "Bell Lane, Town 8", *names, "Nowhere In Particular"]
    assert _rows_of_own_key(gazetteer, "Market Street", None) > CLUSTER_EXACT_MAX
    assert 1 < _rows_of_own_key(gazetteer, "Bell Lane", None) <= CLUSTER_EXACT_MAX
    _assert_each_text_gets_its_own_lookup(gazetteer, texts, None)
    best = gazetteer.lookup_many(["Market Street", "Market Street, Town 3"])
    assert best[0].match_type == "ambiguous" and best[0].places >= 40
    assert best[1].match_type == "exact"


def test_a_match_built_from_fields_is_the_match_the_dataclass_builds() -> None:
    """The batch's fast constructor gives the same value as ``Match(...)``: every field, equal,
    same hash, frozen, picklable; a field added to Match and not to it fails here."""
    import dataclasses
    import pickle

    import pytest

    from crimegeo.gazetteer.model import Match, match_fields

    fields = [f.name for f in dataclasses.fields(Match)]
    values = ("osgb1", "http://os/1", "Cheapside", "Named Road", -0.09, 51.51, 532_000.0,
              181_000.0, (531_900.0, 180_990.0, 532_100.0, 181_010.0), 0.97, "exact",
              "generic", 2, 0.99)
    assert len(values) == len(fields)
    built, fast = Match(*values), match_fields(*values)
    assert vars(fast) == vars(built) and list(vars(fast)) == fields
    assert fast == built and hash(fast) == hash(built)
    assert pickle.loads(pickle.dumps(fast)) == built
    assert match_fields(*values[:11]) == Match(*values[:11])  # the defaults
    with pytest.raises(dataclasses.FrozenInstanceError):
        fast.score = 1.0  # type: ignore[misc]
