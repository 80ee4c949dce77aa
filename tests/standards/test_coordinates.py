"""OSTN15 conversion between WGS84 and British National Grid, offline."""

from __future__ import annotations

import numpy as np

from standards.coordinates import in_gb_bng, in_gb_lonlat, to_bng, to_lonlat


def test_round_trip_is_sub_millimetre_across_great_britain() -> None:
    lon = np.array([-0.0906, -2.98, -3.19, -1.89, 1.08, -5.05, -1.62])
    lat = np.array([51.5155, 53.41, 55.95, 52.48, 51.28, 50.26, 60.15])
    x, y = to_bng(lon, lat)
    back_lon, back_lat = to_lonlat(x, y)
    assert np.all(np.isfinite(x))
    np.testing.assert_allclose(back_lon, lon, atol=1e-7)
    np.testing.assert_allclose(back_lat, lat, atol=1e-7)


def test_a_known_london_point() -> None:
    # Bank junction; the published BNG of this point is about (532585, 181347).
    x, y = to_bng([-0.0906], [51.5155])
    assert abs(x[0] - 532585.0) < 1.5 and abs(y[0] - 181347.3) < 1.5


def test_outside_great_britain_and_nan_give_nan() -> None:
    x, y = to_bng([np.nan, 0.0, 2.35], [51.0, 0.0, 48.85])  # nan, null island, Paris
    assert np.isnan(x).all() and np.isnan(y).all()
    lon, lat = to_lonlat([-5.0, 800_000.0], [100.0, 100.0])
    assert np.isnan(lon).all()


def test_boxes() -> None:
    assert in_gb_lonlat(np.array([-0.1]), np.array([51.5]))[0]
    assert not in_gb_lonlat(np.array([51.5]), np.array([-0.1]))[0]
    assert in_gb_bng(np.array([532585.0]), np.array([181347.0]))[0]
    assert not in_gb_bng(np.array([np.nan]), np.array([1.0]))[0]
