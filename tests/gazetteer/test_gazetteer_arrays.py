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


def test_names_with_many_map_points_ranked_together_answer_as_one_by_one(
        col_gaz: Gazetteer, col_files: list[str], monkeypatch) -> None:
    """Real City of London labels of later months (streets with several map points, generic
    places such as "Supermarket", one-point names, misspellings of case) against the
    gazetteer of earlier months: `lookup_arrays`, which ranks the names with several
    candidates of their own key together, answers every one as `lookup` does alone."""
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv

    from crimegeo.gazetteer.ranking import Ranking

    labels: set[str] = set()
    for path in col_files[19:]:
        labels |= {s for s in pc.unique(pacsv.read_csv(path)["Location"]).to_pylist() if s}
    texts = sorted(labels) + [s.upper() for s in sorted(labels)[:40]]
    together = []
    rank_keys_many = Ranking._rank_keys_many

    def spy(self: Ranking, names: list[str], area: object) -> tuple:
        found, ranked = rank_keys_many(self, names, area)
        together.extend(names[i] for i in found.tolist())
        return found, ranked

    monkeypatch.setattr(Ranking, "_rank_keys_many", spy)
    for force in ("city-of-london", None):
        for fuzzy in (False, True):
            arrays = col_gaz.lookup_arrays(texts, force=force, fuzzy=fuzzy)
            for i, text in enumerate(texts):
                found = col_gaz.lookup(text, force=force, limit=1, fuzzy=fuzzy)
                if not found:
                    assert np.isnan(arrays["score"][i]) and arrays["id"][i] is None, text
                    continue
                match = found[0]
                assert (arrays["match_type"][i], arrays["score"][i]) == (
                    match.match_type, match.score), text
                assert arrays["id"][i] == (match.uri or match.id), text
                assert (arrays["x_bng"][i], arrays["y_bng"][i]) == (match.x_bng,
                                                                    match.y_bng), text
                assert tuple(arrays["extent"][i]) == tuple(match.extent), text
    ambiguous = [t for t in set(together)
                 if col_gaz.lookup(t, force="city-of-london", limit=1)[0].match_type
                 == "ambiguous"]
    assert len(set(together)) > 50 and ambiguous, (len(set(together)), ambiguous)
