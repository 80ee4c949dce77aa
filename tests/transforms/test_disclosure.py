"""The disclosure report's counts, on a force's month small enough to count by hand."""

from __future__ import annotations

import pyarrow as pa

from crimegeo.transforms.disclosure import force_disclosure, month_disclosure

# Three map points in the City: A holds Burglary, Burglary, Drugs; B (about 60 m away)
# one Burglary; C (about 1.3 km away) one Robbery; one Drugs record has no location.
A, B, C = (-0.09, 51.51), (-0.0905, 51.5105), (-0.1, 51.52)
TABLE = pa.table({
    "public_lon": [A[0], A[0], A[0], B[0], None, C[0]],
    "public_lat": [A[1], A[1], A[1], B[1], None, C[1]],
    "crime_type": ["Burglary", "Burglary", "Drugs", "Burglary", "Drugs", "Robbery"]})


def test_counts_of_one_force_month() -> None:
    stats = force_disclosure([TABLE.slice(0, 2), TABLE.slice(2)])  # parts from two files
    assert (stats["records"], stats["records_without_location"], stats["map_points"]) == (
        6, 1, 3)
    assert stats["records_at_points_under_k"] == {"2": 2, "3": 2, "5": 5, "8": 5}
    # Cells: (A, Burglary) x2, (A, Drugs), (B, Burglary), (C, Robbery): three unique.
    assert (stats["cells"], stats["unique_cells"], stats["unique_share"]) == (4, 3, 0.6)
    k2 = stats["min_public_count_effect"]["2"]
    # B and C move to A, the only point with two records: then only A's Drugs and Robbery
    # are alone in their cells.
    assert k2["records_would_move"] == 2 and k2["records_would_lose_location"] == 0
    assert 1200 < k2["max_move_m"] < 1400 and 600 < k2["mean_move_m"] < 750
    assert k2["unique_share_after"] == 0.4
    k5 = stats["min_public_count_effect"]["5"]
    assert k5["records_would_lose_location"] == 5 and k5["records_would_move"] == 0


def test_status_warning_threshold_and_recommendation() -> None:
    stats = force_disclosure([TABLE])
    warned = month_disclosure("2024-03", {"city-of-london": stats}, None)
    entry = warned["forces"]["city-of-london"]
    assert entry["status"] == "warning" and warned["withheld"] == {}
    assert "3 of 5 located public records (60%)" in entry["why"]
    assert entry["recommendation"]["min_public_count"] == 5  # 0% unique, by losing points
    assert "leaving 5 without a location" in entry["recommendation"]["text"]
    refused = month_disclosure("2024-03", {"city-of-london": stats}, 0.5)
    assert refused["forces"]["city-of-london"]["status"] == "withheld"
    assert "above --max-unique-share 0.5" in refused["withheld"]["city-of-london"]
    assert month_disclosure("2024-03", {"x": stats}, 0.7)["forces"]["x"]["status"] == "warning"


def test_parts_of_distinct_cells_count_as_the_records_they_stand_for() -> None:
    """What crosses the runner is each batch's distinct (point, crime type) cells with
    their record counts (`disclosure_part`); a force's counts from those are the counts
    from its records, however the records were split into batches."""
    import numpy as np

    from crimegeo.transforms.disclosure import disclosure_part

    rng = np.random.default_rng(3)
    points = rng.integers(0, 40, 3000)
    located = rng.random(3000) > 0.05
    records = pa.table({
        "public_lon": pa.array(np.where(located, -0.09 - points * 1e-4, np.nan),
                               from_pandas=True),
        "public_lat": pa.array(np.where(located, 51.51 + (points % 7) * 1e-4, np.nan),
                               from_pandas=True),
        "crime_type": pa.array(rng.choice(["Burglary", "Drugs", "Robbery", "Shoplifting"],
                                          3000))})
    parts = [disclosure_part(records.slice(start, 700)) for start in range(0, 3000, 700)]
    assert sum(part.num_rows for part in parts) < records.num_rows / 3
    assert sum(part["records"].to_numpy().sum() for part in parts) == 3000
    assert force_disclosure(parts) == force_disclosure([records])
    assert force_disclosure([disclosure_part(TABLE)]) == force_disclosure([TABLE])


def test_an_empty_force_month() -> None:
    empty = TABLE.slice(0, 0)
    stats = force_disclosure([empty])
    assert stats["records"] == 0 and stats["unique_share"] == 0.0
    assert month_disclosure("2024-03", {"x": stats}, 0.1)["forces"]["x"]["status"] == "ok"


def test_nearest_points_holding_k_are_the_nearest_by_distance() -> None:
    """Each k's merge target is the nearest point holding at least k records (checked by
    brute force over 600 scattered points), itself when it holds k, -1 when none does."""
    import numpy as np

    from crimegeo.transforms.disclosure import K_VALUES, _nearest_holding

    rng = np.random.default_rng(7)
    x, y = rng.uniform(500_000, 520_000, 600), rng.uniform(170_000, 190_000, 600)
    counts = rng.choice([1, 1, 1, 2, 3, 4, 6, 9], size=600)
    nearest = _nearest_holding(counts, x, y)
    distance = np.hypot(x[:, None] - x[None, :], y[:, None] - y[None, :])
    for k in K_VALUES:
        holding = counts >= k
        expected = np.where(holding, np.arange(600),
                            np.argmin(np.where(holding[None, :], distance, np.inf), axis=1))
        assert (nearest[k] == expected).all()
    none_hold = _nearest_holding(np.array([1, 2, 1]), np.zeros(3), np.arange(3.0))
    assert none_hold[2].tolist() == [1, 1, 1] and none_hold[8].tolist() == [-1, -1, -1]
