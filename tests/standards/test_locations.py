"""Public map point ids: derived from the point and its label, stable, exact in JavaScript."""

from __future__ import annotations

import hashlib

import numpy as np
import pyarrow as pa

from crimegeo.standards.locations import location_id, location_ids


def test_the_id_is_the_first_52_bits_of_the_sha256_of_the_rounded_point_and_label() -> None:
    digest = hashlib.sha256(b"51.516300,-0.093700|On or near Wood Street").hexdigest()
    assert location_id(-0.0937, 51.5163, "On or near Wood Street") == int(digest[:13], 16)
    # Below a tenth of a metre (police.uk's six decimals) the point is the same point.
    assert location_id(-0.09370001, 51.51630004, "On or near Wood Street") == int(
        digest[:13], 16)


def test_ids_per_row_match_the_scalar_form_and_are_null_without_a_point() -> None:
    lon = np.array([-0.0937, -0.0937, 1.5, np.nan, -0.0937])
    lat = np.array([51.5163, 51.5163, 52.0, np.nan, 51.5163])
    labels = pa.array(["On or near Wood Street", "On or near Wood Street",
                       "On or near A", None, "On or near Cheapside"])
    ids = location_ids(lon, lat, labels).to_pylist()
    assert ids[0] == ids[1] == location_id(-0.0937, 51.5163, "On or near Wood Street")
    assert ids[2] == location_id(1.5, 52.0, "On or near A")
    assert ids[3] is None
    assert ids[4] != ids[0]  # another label at the same point is another map point
    assert location_id(-1.9, -0.5, "x") == location_ids(
        np.array([-1.9]), np.array([-0.5]), pa.array(["x"])).to_pylist()[0]


def test_a_month_of_repeated_points_gets_each_rows_own_id_in_and_out_of_degree_range() -> None:
    rng = np.random.default_rng(5)
    points = rng.uniform([-6.0, 50.0], [1.7, 58.0], size=(300, 2)).round(6)
    labels_of = [f"On or near Street {i % 40}" for i in range(300)]
    picks = rng.integers(0, 300, 5000)
    lon, lat = points[picks, 0], points[picks, 1]
    labels = [labels_of[i] if i % 7 else f"On or near Other {i % 3}" for i in picks]
    lon[::97] = np.nan
    ids = location_ids(lon, lat, pa.array(labels)).to_pylist()
    expected = [None if np.isnan(a) else location_id(a, b, label)
                for a, b, label in zip(lon, lat, labels, strict=True)]
    assert ids == expected
    assert len(set(ids) - {None}) > 250
    # Coordinates that are not degrees (a grid value in degree columns) are hashed alike.
    far = np.array([530000.0, 530000.0, -0.5]), np.array([180000.0, 180000.0, 51.5])
    assert location_ids(*far, pa.array(["a", "a", "a"])).to_pylist() == [
        location_id(530000.0, 180000.0, "a")] * 2 + [location_id(-0.5, 51.5, "a")]
