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
