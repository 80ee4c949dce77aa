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
