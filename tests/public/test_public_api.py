"""The police.uk-compatible API over a published output: shapes, errors, name search, limits."""

from __future__ import annotations

import csv
import io
import math
import shutil
import time

import numpy as np
import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient

from crimegeo.public import policeuk
from crimegeo.public.app import RateLimiter, create_app
from tests.conftest import live

CITY = (51.515, -0.09)  # lat, lng in the demo City of London streets


@pytest.fixture(scope="module")
def client(published: dict) -> TestClient:
    app = create_app(str(published["output"]), gazetteer=published["gazetteer"],
                     areas=published["areas"], rate_per_second=10_000, burst=10_000)
    return TestClient(app)


def _public(published: dict, month: str):
    return pq.read_table(live(published["output"], month) / "public" / f"month={month}")


def test_forces_categories_and_dates_as_police_uk_gives_them(client: TestClient) -> None:
    forces = client.get("/api/forces").json()
    assert {"id": "kent", "name": "Kent Police"} in forces
    assert all(set(f) == {"id", "name"} for f in forces)
    assert "btp" not in {f["id"] for f in forces}  # police.uk lists territorial forces only
    assert client.get("/api/forces/kent").json()["name"] == "Kent Police"
    assert client.get("/api/forces/atlantis").status_code == 404
    categories = client.get("/api/crime-categories?date=2024-03").json()
    assert categories[0] == {"url": "all-crime", "name": "All crime"}
    assert {"url": "violent-crime", "name": "Violence and sexual offences"} in categories
    assert client.get("/api/crime-categories?date=March").status_code == 400
    assert client.get("/api/crime-last-updated").json() == {"date": "2024-04-01"}
    assert [d["date"] for d in client.get("/api/crimes-street-dates").json()] == [
        "2024-04", "2024-03"]


def test_crimes_street_by_point_is_every_crime_within_one_mile(
        client: TestClient, published: dict) -> None:
    crimes = client.get(f"/api/crimes-street/all-crime?lat={CITY[0]}&lng={CITY[1]}"
                        "&date=2024-03").json()
    table = _public(published, "2024-03").to_pandas()
    table = table[table["location_id"].notna()]
    lat, lon = np.radians(table["public_lat"]), np.radians(table["public_lon"])
    a = (np.sin((lat - math.radians(CITY[0])) / 2) ** 2 + math.cos(math.radians(CITY[0]))
         * np.cos(lat) * np.sin((lon - math.radians(CITY[1])) / 2) ** 2)
    within = table[2 * 6371008.8 * np.arcsin(np.sqrt(a)) <= 1609.344]
    assert len(crimes) == len(within) > 100
    assert sorted(c["persistent_id"] for c in crimes) == sorted(within["persistent_id"])
    crime = crimes[0]
    assert set(crime) == {"category", "location_type", "location", "context", "outcome_status",
                          "persistent_id", "id", "location_subtype", "month"}
    assert isinstance(crime["location"]["latitude"], str)
    assert isinstance(crime["location"]["street"]["id"], int)
    assert isinstance(crime["id"], int) and crime["id"] < 2**53
    assert crime["location"]["street"]["name"].startswith("On or near ")
    assert crime["month"] == "2024-03" and crime["location_type"] == "Force"
    # The latest month by default, one category by its slug.
    burglaries = client.get(f"/api/crimes-street/burglary?lat={CITY[0]}&lng={CITY[1]}").json()
    assert burglaries and {c["category"] for c in burglaries} == {"burglary"}
    assert {c["month"] for c in burglaries} == {"2024-04"}


def test_errors_are_police_uk_s(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    assert client.get("/api/crimes-street/not-a-crime?lat=51.5&lng=-0.09").status_code == 404
    assert client.get("/api/crimes-street/all-crime?lat=north&lng=-0.09").status_code == 400
    assert client.get("/api/crimes-street/all-crime?lat=51.5&lng=-0.09&date=2024-13"
                      ).status_code == 400
    assert client.get("/api/crimes-street/all-crime?lat=51.5&lng=-0.09&date=1999-01"
                      ).status_code == 404
    long_poly = ":".join(f"51.5{i:03d},-0.09" for i in range(300))
    assert client.get(f"/api/crimes-street/all-crime?poly={long_poly}").status_code == 400
    monkeypatch.setattr(policeuk, "MAX_CRIMES", 50)
    response = client.get(f"/api/crimes-street/all-crime?lat={CITY[0]}&lng={CITY[1]}")
    assert response.status_code == 503


def test_polygons_by_get_and_post_agree_and_are_checked(client: TestClient) -> None:
    poly = "51.510,-0.100:51.520,-0.100:51.520,-0.080:51.510,-0.080"
    by_get = client.get(f"/api/crimes-street/all-crime?poly={poly}&date=2024-03").json()
    by_post = client.post("/api/crimes-street/all-crime",
                          data={"poly": poly, "date": "2024-03"}).json()
    assert by_get == by_post and by_get
    for crime in by_get:
        assert 51.510 <= float(crime["location"]["latitude"]) <= 51.520
        assert -0.100 <= float(crime["location"]["longitude"]) <= -0.080
    # A long polygon goes by POST; a county-sized one is refused; so is a malformed one.
    ring = [(51.515 + 0.004 * math.sin(t), -0.09 + 0.006 * math.cos(t))
            for t in np.linspace(0, 2 * math.pi, 400)]
    long_poly = ":".join(f"{a:.6f},{b:.6f}" for a, b in ring)
    assert client.post("/api/crimes-street/all-crime", data={"poly": long_poly}
                       ).status_code == 200
    assert client.get("/api/crimes-street/all-crime?poly=50,-3:53,-3:53,0").status_code == 400
    assert client.get("/api/crimes-street/all-crime?poly=51.5,-0.1:51.6").status_code == 400


def test_crimes_at_a_location_by_id_point_and_name(client: TestClient) -> None:
    around = client.get(f"/api/crimes-street/all-crime?lat={CITY[0]}&lng={CITY[1]}").json()
    street = around[0]["location"]["street"]
    at = client.get(f"/api/crimes-at-location?location_id={street['id']}").json()
    assert at and {c["location"]["street"]["id"] for c in at} == {street["id"]}
    assert len(at) == sum(c["location"]["street"]["id"] == street["id"] for c in around)
    point = at[0]["location"]
    nearest = client.get(f"/api/crimes-at-location?lat={point['latitude']}"
                         f"&lng={point['longitude']}").json()
    assert nearest == at
    assert client.get("/api/crimes-at-location?location_id=abc").status_code == 400
    assert client.get("/api/crimes-at-location?location_id=12").json() == []


def test_crimes_with_no_location_and_outcomes_for_a_crime(
        client: TestClient, published: dict) -> None:
    crimes = client.get("/api/crimes-no-location?force=city-of-london&date=2024-04").json()
    table = _public(published, "2024-04").to_pandas()
    expected = table[(table["force"] == "city-of-london") & table["location_id"].isna()]
    assert len(crimes) == len(expected) >= 3  # at least April's "No Location" rows
    assert all(c["location"] is None and c["location_type"] is None for c in crimes)
    assert client.get("/api/crimes-no-location?date=2024-03").status_code == 400
    assert client.get("/api/crimes-no-location?force=gotham").status_code == 404
    with_outcome = table[table["outcome"].notna()].iloc[0]
    answer = client.get(f"/api/outcomes-for-crime/{with_outcome['persistent_id']}").json()
    assert answer["crime"]["persistent_id"] == with_outcome["persistent_id"]
    assert "outcome_status" not in answer["crime"]
    assert answer["outcomes"][0]["category"]["name"] == with_outcome["outcome"]
    assert answer["outcomes"][0]["person_id"] is None
    assert client.get("/api/outcomes-for-crime/" + "0" * 64).status_code == 404
    assert client.get("/api/outcomes-for-crime/%3Cscript%3E").status_code == 400


def test_name_search_answers_one_place_or_the_choices(client: TestClient) -> None:
    located = client.get("/api/locate?q=King Way").json()
    assert located["ambiguous"] is False
    best = located["candidates"][0]
    assert best["type"] == "street" and best["name"] == "On or near King Way"
    assert best["match_type"] == "exact" and best["page"] == f"/street/{best['id']}"
    crimes = client.get("/api/crimes-street/all-crime?q=King Way&date=2024-03").json()
    assert crimes and {c["location"]["street"]["id"] for c in crimes} == {int(best["id"])}
    # "Oakwood" is a district in each of the four demo forces: the choices, never a guess.
    oakwood = client.get("/api/locate?q=Oakwood").json()
    assert oakwood["ambiguous"] is True and len(oakwood["candidates"]) >= 4
    assert len({c["within"] for c in oakwood["candidates"]}) >= 4
    response = client.get("/api/crimes-street/all-crime?q=Oakwood")
    assert response.status_code == 300 and response.json()["choices"]
    # A force by name, in any of its spellings.
    force = client.get("/api/locate?q=Kent Police").json()["candidates"][0]
    assert (force["type"], force["id"]) == ("force", "kent")
    assert client.get("/api/locate?q=").status_code == 400


def test_csv_and_geojson_alternates(client: TestClient) -> None:
    url = f"/api/crimes-street/all-crime?lat={CITY[0]}&lng={CITY[1]}&date=2024-03"
    crimes = client.get(url).json()
    rows = list(csv.DictReader(io.StringIO(client.get(url + "&format=csv").text)))
    assert [r["persistent_id"] for r in rows] == [c["persistent_id"] for c in crimes]
    geojson = client.get(url + "&format=geojson").json()
    assert geojson["type"] == "FeatureCollection"
    assert len(geojson["features"]) == len(crimes)
    first = geojson["features"][0]["geometry"]["coordinates"]
    assert first == [float(crimes[0]["location"]["longitude"]),
                     float(crimes[0]["location"]["latitude"])]
    assert client.get(url + "&format=xml").status_code == 400


def test_csv_cells_cannot_run_as_formulas() -> None:
    from crimegeo.public.app import crimes_csv

    crime = {"persistent_id": "=HYPERLINK(\"http://x\")", "id": 1, "month": "2024-03",
             "category": "burglary", "location_type": "Force",
             "location": {"latitude": "51.5", "longitude": "-0.093700",
                          "street": {"id": 2, "name": "@SUM(A1)"}},
             "context": "+cmd", "outcome_status": None}
    row = list(csv.DictReader(io.StringIO(crimes_csv([crime]))))[0]
    assert row["persistent_id"].startswith("'=") and row["street_name"] == "'@SUM(A1)"
    assert row["context"] == "'+cmd"
    assert row["longitude"] == "-0.093700"  # a negative number stays a number


def test_a_get_over_4094_characters_is_refused(client: TestClient) -> None:
    response = client.get("/api/forces?pad=" + "x" * 4100)
    assert response.status_code == 400


def test_one_busy_client_is_limited_and_others_are_not(published: dict) -> None:
    app = create_app(str(published["output"]), rate_per_second=1, burst=3)
    busy = TestClient(app, client=("10.0.0.1", 5000))
    other = TestClient(app, client=("10.0.0.2", 5000))
    statuses = [busy.get("/api/forces").status_code for _ in range(5)]
    assert statuses[:3] == [200, 200, 200] and statuses[3:] == [429, 429]
    assert int(busy.get("/api/forces").headers["Retry-After"]) >= 1
    assert other.get("/api/forces").status_code == 200
    limiter = RateLimiter(rate=2, burst=1)
    assert limiter.take("a", now=0.0) == 0 and limiter.take("a", now=0.1) > 0
    assert limiter.take("a", now=0.6) == 0  # refilled at two a second


def test_only_public_is_read_and_a_new_month_is_served_without_restart(
        published: dict, public_only, tmp_path) -> None:
    root = tmp_path / "out"
    (root / "public").mkdir(parents=True)
    shutil.copytree(public_only / "public" / "month=2024-03", root / "public" / "month=2024-03")
    app = create_app(str(root), refresh_seconds=0.2)  # no restricted/, rejected/, feedback/
    client = TestClient(app)
    assert [d["date"] for d in client.get("/api/crimes-street-dates").json()] == ["2024-03"]
    assert client.get("/api/crimes-no-location?force=kent&date=2024-04").status_code == 404
    shutil.copytree(public_only / "public" / "month=2024-04", root / "public" / "month=2024-04")
    time.sleep(0.3)
    assert [d["date"] for d in client.get("/api/crimes-street-dates").json()] == [
        "2024-04", "2024-03"]
    crimes = client.get(f"/api/crimes-street/all-crime?lat={CITY[0]}&lng={CITY[1]}").json()
    assert crimes and {c["month"] for c in crimes} == {"2024-04"}


def test_a_force_after_a_comma_settles_an_ambiguous_name(client: TestClient) -> None:
    assert client.get("/api/locate?q=Mill Mews").json()["ambiguous"] is True
    located = client.get("/api/locate?q=Mill Mews, Kent").json()
    assert located["ambiguous"] is False
    best = located["candidates"][0]
    assert best["type"] == "street" and best["within"] == "Kent Police"
    crimes = client.get("/api/crimes-street/all-crime?q=Mill Mews, Kent").json()
    assert crimes and {c["location"]["street"]["id"] for c in crimes} == {int(best["id"])}
    area = client.get("/api/locate?q=Oakwood, Kent").json()
    assert area["ambiguous"] is False
    assert area["candidates"][0]["id"] == "sample:kent:area:08"


def test_crimegeo_public_serve_starts_and_answers(published: dict) -> None:
    import socket
    import subprocess
    import sys

    import httpx

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    started = time.monotonic()
    server = subprocess.Popen(
        [sys.executable, "-m", "crimegeo.flows", "public", "serve", "--output",
         str(published["output"]), "--gazetteer", published["gazetteer"], "--port", str(port),
         "--log-level", "warning"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        answer = None
        while time.monotonic() - started < 30 and server.poll() is None:
            try:
                answer = httpx.get(f"http://127.0.0.1:{port}/api/locate?q=King Way")
                break
            except httpx.TransportError:
                time.sleep(0.1)
        assert answer is not None, server.stderr.read().decode()[-2000:]
        assert answer.json()["candidates"][0]["name"] == "On or near King Way"
    finally:
        server.terminate()
        server.wait(timeout=20)
