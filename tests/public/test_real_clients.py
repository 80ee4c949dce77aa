"""police.uk clients nobody here wrote, run unchanged against `crimegeo public serve`.

- Python: `police-api-client` (PyPI, `from police_api import PoliceAPI`), given crimegeo's base
  URL through its own `base_url` setting; every method it has outside neighbourhoods. And
  `uk-police-api` (PyPI; httpx with pydantic models that check every field's type), whose
  module constant `BASE_URL` is set to crimegeo's.
- JavaScript: `ukpd` (npm, tests/public/js, pinned in its package-lock.json). It hard-codes
  https://data.police.uk, so it runs with `police-uk-base.js` preloaded, which sends its
  requests to crimegeo as a hosts entry would; its own code is untouched.
- R: `ukpolice` (not installable here: no R). Its exact requests (path, query, user agent) are
  sent with plain HTTP and the answers checked the way its code reads them.

Every answer is compared with the published public dataset the server reads, value by value.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest
import shapely

from crimegeo.standards.categories import CRIME_CATEGORIES, category_slug
from crimegeo.standards.registry import load_registry
from tests.public.conftest import public_month, within_mile

police_api = pytest.importorskip("police_api", reason="police-api-client is a dev dependency")

CITY = (51.515, -0.09)  # lat, lng among the demo City of London streets
JS_DIR = Path(__file__).parent / "js"


# -- the server and the data it serves -----------------------------------------------------------

@pytest.fixture(scope="module")
def served(published: dict) -> Iterator[str]:
    """`crimegeo public serve` over the two published demo months, as a user starts it."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    area_args = [arg for layer in published["areas"] for arg in ("--areas", layer)]
    server = subprocess.Popen(
        [sys.executable, "-m", "crimegeo.flows", "public", "serve", "--output",
         str(published["output"]), "--gazetteer", published["gazetteer"], *area_args,
         "--port", str(port), "--rate", "1000", "--burst", "1000", "--log-level", "warning"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and server.poll() is None:
        try:
            httpx.get(f"{base}/api/forces", timeout=5)
            break
        except httpx.TransportError:
            time.sleep(0.1)
    else:
        server.kill()
        pytest.fail("crimegeo public serve did not answer: "
                    + server.stderr.read().decode()[-2000:])
    try:
        yield base
    finally:
        server.terminate()
        server.wait(timeout=20)


@pytest.fixture(scope="module")
def public(published: dict) -> pd.DataFrame:
    """Both months of the public dataset, as published (the live generation of each)."""
    return pd.concat([public_month(published["output"], month)
                      for month in ("2024-03", "2024-04")], ignore_index=True)


@pytest.fixture(scope="module")
def api(served: str):  # -> police_api.PoliceAPI
    return police_api.PoliceAPI(base_url=f"{served}/api/", timeout=30)


def _expected(rows: pd.DataFrame) -> Counter:
    """What a police.uk client must read for these public rows: one tuple per crime."""
    return Counter(
        (row.persistent_id, category_slug(row.crime_type), row.month, f"{row.public_lat:.6f}",
         f"{row.public_lon:.6f}", int(row.location_id), row.public_label,
         row.outcome if isinstance(row.outcome, str) else None,
         row.context if isinstance(row.context, str) else "")
        for row in rows.itertuples())


def _read(crimes: list) -> Counter:
    """The same tuple from police-api-client's parsed `Crime` objects."""
    return Counter(
        (c.persistent_id, c.category.id, c.month, c.location.latitude, c.location.longitude,
         c.location.id, c.location.name,
         c.outcome_status.category.name if c.outcome_status else None, c.context)
        for c in crimes)


def _month(rows: pd.DataFrame, month: str) -> pd.DataFrame:
    return rows[rows["month"] == month]


# -- Python: police-api-client ------------------------------------------------------------------

def test_python_client_forces_and_a_force(api) -> None:
    forces = api.get_forces()
    expected = {(f.code, f.name) for f in load_registry() if f.territorial}
    assert {(f.id, f.name) for f in forces} == expected and len(forces) == len(expected)
    kent = api.get_force("kent")
    assert kent.name == "Kent Police"  # read lazily from forces/kent
    assert kent.engagement_methods == [] and kent.telephone is None
    assert kent.senior_officers == []  # crimegeo holds no officers
    with pytest.raises(police_api.APIError) as unknown:
        api.get_force("atlantis").name  # noqa: B018 - the attribute read makes the request
    assert unknown.value.status_code == 404


def test_python_client_categories_and_dates(api) -> None:
    categories = api.get_crime_categories(date="2024-03")
    assert [c.id for c in categories] == [
        category_slug(name) for name in sorted(CRIME_CATEGORIES)]
    assert api.get_crime_category("burglary", date="2024-03").name == "Burglary"
    with pytest.raises(police_api.InvalidCategoryException):
        api.get_crime_category("not-a-crime", date="2024-03")
    assert api.get_dates() == ["2024-04", "2024-03"]
    assert api.get_latest_date() == "2024-04"


def test_python_client_crimes_by_point_are_the_published_rows(api, public) -> None:
    crimes = api.get_crimes_point(*CITY, date="2024-03")
    expected = within_mile(_month(public, "2024-03"), *CITY)
    assert len(crimes) == len(expected) > 100
    assert _read(crimes) == _expected(expected)
    assert all(isinstance(c.id, int) and c.location.type == "Force" for c in crimes)
    # The latest month by default; a category by its slug and by the client's own object.
    latest = api.get_crimes_point(*CITY)
    assert _read(latest) == _expected(within_mile(_month(public, "2024-04"), *CITY))
    burglary = api.get_crime_category("burglary", date="2024-03")
    for category in ("burglary", burglary):
        found = api.get_crimes_point(*CITY, date="2024-03", category=category)
        assert found and _read(found) == _expected(
            expected[expected["crime_type"] == "Burglary"])
    # A point computed in Python prints with 17 decimals: police.uk takes it, so must we.
    lng = -0.1 + 0.01
    assert repr(lng) == "-0.09000000000000001"
    assert _read(api.get_crimes_point(CITY[0], lng, date="2024-03")) == _read(crimes)


def test_python_client_crimes_in_a_polygon_and_a_long_one(api, public) -> None:
    square = [(51.510, -0.100), (51.520, -0.100), (51.520, -0.080), (51.510, -0.080)]
    ring = [(51.515 + 0.004 * math.sin(t), -0.09 + 0.006 * math.cos(t))
            for t in np.linspace(0, 2 * math.pi, 400, endpoint=False)]
    assert len(police_api.encode_polygon(ring)) > 4094  # too long for a GET: the client POSTs
    month = _month(public, "2024-03")
    month = month[month["location_id"].notna()]
    # A vertex within 7 m of Greenwich: Python writes its longitude as "5e-05".
    greenwich = [(51.510, -0.100), (51.520, -0.100), (51.520, 0.00005), (51.510, 0.00005)]
    assert "5e-05" in police_api.encode_polygon(greenwich)
    for polygon in (square, ring, greenwich):
        crimes = api.get_crimes_area(polygon, date="2024-03")
        shape = shapely.Polygon([(lng, lat) for lat, lng in polygon])
        inside = month[shapely.contains_xy(shape, month["public_lon"], month["public_lat"])]
        assert len(crimes) == len(inside) > 10
        assert _read(crimes) == _expected(inside)


def test_python_client_crimes_at_a_location(api, public) -> None:
    month = _month(public, "2024-03")
    busiest = int(month["location_id"].value_counts().index[0])
    crimes = api.get_crimes_location(busiest, date="2024-03")
    assert len(crimes) > 1
    assert _read(crimes) == _expected(month[month["location_id"] == busiest])
    # A crime's own location object leads to the same list.
    assert _read(api.get_crimes_location(crimes[0].location.id, date="2024-03")) == \
        _read(crimes)


def test_python_client_crimes_with_no_location(api, public) -> None:
    month = _month(public, "2024-04")
    unlocated = month[(month["force"] == "city-of-london") & month["location_id"].isna()]
    crimes = api.get_crimes_no_location("city-of-london", date="2024-04")
    assert len(crimes) == len(unlocated) >= 3
    assert all(isinstance(c, police_api.NoLocationCrime) for c in crimes)
    assert Counter((c.month, c.context) for c in crimes) == Counter(
        ("2024-04", v if isinstance(v, str) else "") for v in unlocated["context"])
    theft = api.get_crime_category("theft-from-the-person", date="2024-04")
    only_theft = api.get_crimes_no_location(api.get_force("city-of-london"), date="2024-04",
                                            category=theft)
    assert len(only_theft) == (unlocated["crime_type"] == "Theft from the person").sum() >= 3


def test_python_client_outcomes_for_a_crime(api, public) -> None:
    month = _month(public, "2024-03")
    counts = month["persistent_id"].value_counts()
    located = month[month["location_id"].notna()
                    & month["persistent_id"].map(counts).eq(1)]
    with_outcome = located[located["outcome"].notna()].iloc[0]
    crime = api.get_crime(with_outcome["persistent_id"])
    assert crime.outcome_status is None  # police.uk's crime here carries no outcome_status
    assert crime.persistent_id == with_outcome["persistent_id"]
    assert crime.category.id == category_slug(with_outcome["crime_type"])
    assert crime.location.name == with_outcome["public_label"]
    assert [o.category.name for o in crime.outcomes] == [with_outcome["outcome"]]
    assert crime.outcomes[0].date == "2024-03"
    # The outcomes of a crime found by point are read lazily through the same endpoint.
    around = api.get_crimes_point(*CITY, date="2024-03")
    for found in around:
        if counts.get(found.persistent_id) != 1:
            continue
        row = located[located["persistent_id"] == found.persistent_id]
        outcome = row["outcome"].iloc[0] if len(row) else None
        assert [o.category.name for o in found.outcomes] == (
            [outcome] if isinstance(outcome, str) else [])
        break
    # police.uk's own ids pass unchanged: the "No Location" rows the fixture appends to the
    # City's April file carry these, and the client finds each by it.
    for n in range(3):
        supplied = f"{n + 0xabc:064x}"
        unlocated = api.get_crime(supplied)
        assert (unlocated.persistent_id, unlocated.month, unlocated.category.id,
                unlocated.location.id) == (supplied, "2024-04", "theft-from-the-person", None)
        assert [o.category.name for o in unlocated.outcomes] == ["Under investigation"]
    with pytest.raises(police_api.APIError) as missing:
        api.get_crime("0" * 64)
    assert missing.value.status_code == 404


def test_python_client_sees_police_uk_s_errors(api) -> None:
    with pytest.raises(police_api.APIError) as unknown:
        api.get_crimes_point(*CITY, category="not-a-crime")
    assert unknown.value.status_code == 404
    with pytest.raises(police_api.APIError) as malformed:
        api.get_crimes_point(*CITY, date="March")
    assert malformed.value.status_code == 400
    with pytest.raises(police_api.APIError) as unpublished:
        api.get_crimes_point(*CITY, date="1999-01")
    assert unpublished.value.status_code == 404
    # Neighbourhoods are not served: the client's own "no neighbourhood" answer.
    assert api.locate_neighbourhood(*CITY) is None


# -- Python: uk-police-api (httpx and pydantic models) -------------------------------------------

@pytest.fixture(scope="module")
def typed_api(served: str) -> Iterator:
    """uk-police-api's client. It has no base URL setting: its module constant `BASE_URL`,
    read when a client is made, is set to crimegeo's (its code is untouched)."""
    uk_police_api = pytest.importorskip("uk_police_api", reason="uk-police-api is a dev "
                                                                "dependency")
    from uk_police_api import _client

    saved = _client.BASE_URL
    _client.BASE_URL = f"{served}/api/"
    try:
        client = uk_police_api.PoliceAPI(cache_ttl=None, max_retries=0)
    finally:
        _client.BASE_URL = saved
    yield client
    client.close()


def _typed(crimes: list) -> Counter:
    """The comparison tuple from uk-police-api's validated `Crime` models (it reads the
    coordinates as floats: they are compared as police.uk's six-decimal text)."""
    return Counter(
        (c.persistent_id, c.category, c.month, f"{c.location.latitude:.6f}",
         f"{c.location.longitude:.6f}", c.location.street.id, c.location.street.name,
         c.outcome_status.category if c.outcome_status else None, c.context)
        for c in crimes)


def test_typed_python_client_reads_every_crime_method_it_has(typed_api, public) -> None:
    from uk_police_api import PoliceAPINotFoundError

    assert {(f.id, f.name) for f in typed_api.forces.list()} == {
        (f.code, f.name) for f in load_registry() if f.territorial}
    kent = typed_api.forces.get("kent")
    assert (kent.id, kent.name, kent.engagement_methods) == ("kent", "Kent Police", [])
    assert typed_api.forces.people("kent") == []
    assert [d.date for d in typed_api.availability.dates()] == ["2024-04", "2024-03"]
    assert [c.url for c in typed_api.crimes.categories(date="2024-03")] == ["all-crime"] + [
        category_slug(name) for name in CRIME_CATEGORIES]
    assert typed_api.crimes.last_updated().date == "2024-04-01"
    march = _month(public, "2024-03")
    around = within_mile(march, *CITY)
    assert _typed(typed_api.crimes.street(lat=CITY[0], lng=CITY[1], date="2024-03")) == \
        _expected(around)
    robbery = typed_api.crimes.street("robbery", lat=CITY[0], lng=CITY[1], date="2024-03")
    assert robbery and _typed(robbery) == _expected(around[around["crime_type"] == "Robbery"])
    # A short polygon goes by GET, a long one by POST: the same crimes.
    located = march[march["location_id"].notna()]
    square = [(51.510, -0.100), (51.520, -0.100), (51.520, -0.080), (51.510, -0.080)]
    ring = [(51.515 + 0.004 * math.sin(t), -0.09 + 0.006 * math.cos(t))
            for t in np.linspace(0, 2 * math.pi, 120, endpoint=False)]
    for polygon in (square, ring):
        shape = shapely.Polygon([(lng, lat) for lat, lng in polygon])
        inside = located[shapely.contains_xy(shape, located["public_lon"],
                                             located["public_lat"])]
        assert _typed(typed_api.crimes.street(poly=polygon, date="2024-03")) == \
            _expected(inside)
    busiest = int(march["location_id"].value_counts().index[0])
    at = typed_api.crimes.at_location(location_id=busiest, date="2024-03")
    assert _typed(at) == _expected(march[march["location_id"] == busiest])
    nearest = typed_api.crimes.at_location(lat=at[0].location.latitude,
                                           lng=at[0].location.longitude, date="2024-03")
    assert _typed(nearest) == _typed(at)
    april = _month(public, "2024-04")
    unlocated = april[(april["force"] == "city-of-london") & april["location_id"].isna()]
    nowhere = typed_api.crimes.no_location("all-crime", "city-of-london", date="2024-04")
    assert sorted(c.persistent_id for c in nowhere) == sorted(unlocated["persistent_id"])
    assert all(c.location is None and c.month == "2024-04" for c in nowhere)
    with_outcome = march[march["outcome"].notna()].iloc[0]
    history = typed_api.crimes.outcomes_for_crime(with_outcome["persistent_id"])
    assert history.crime.persistent_id == with_outcome["persistent_id"]
    assert [o.category.name for o in history.outcomes] == [with_outcome["outcome"]]
    with pytest.raises(PoliceAPINotFoundError):
        typed_api.crimes.outcomes_for_crime("0" * 64)


# -- JavaScript: ukpd (npm) ---------------------------------------------------------------------

@pytest.fixture(scope="module")
def ukpd(served: str) -> Iterator:
    """Run ukpd methods in node against the server; skips only when node is absent."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed: the JavaScript client (ukpd) cannot run")
    if not (JS_DIR / "node_modules" / "ukpd").is_dir():
        npm = shutil.which("npm")
        assert npm, "node is installed but npm is not: cannot install tests/public/js"
        install = subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--prefer-offline"],
                                 cwd=JS_DIR, capture_output=True, text=True, timeout=300)
        assert install.returncode == 0, f"npm ci in {JS_DIR} failed:\n{install.stderr[-2000:]}"

    def call(*calls: tuple[str, list]) -> list[dict]:
        done = subprocess.run(
            [node, "--require", "./police-uk-base.js", "ukpd-calls.js",
             json.dumps([list(c) for c in calls])],
            cwd=JS_DIR, capture_output=True, text=True, timeout=120,
            env={**os.environ, "POLICE_UK_BASE_URL": served})
        assert done.returncode == 0, done.stderr[-2000:]
        return json.loads(done.stdout)

    yield call


def _from_json(crimes: list[dict]) -> Counter:
    """The comparison tuple from police.uk's crime objects as plain JSON."""
    return Counter(
        (c["persistent_id"], c["category"], c["month"], c["location"]["latitude"],
         c["location"]["longitude"], c["location"]["street"]["id"],
         c["location"]["street"]["name"],
         c["outcome_status"]["category"] if c["outcome_status"] else None, c["context"])
        for c in crimes)


def test_javascript_client_ukpd_reads_every_method_it_has(ukpd, public) -> None:
    answers = ukpd(("forces", []), ("forces", ["kent"]), ("categories", []),
                   ("availability", []), ("lastUpdated", []),
                   ("streetLevel", [*CITY, "2024-03"]), ("streetLevel", list(CITY)))
    errors = [a for a in answers if "error" in a]
    assert not errors, errors
    forces, kent, categories, dates, updated, march, latest = (a["result"] for a in answers)
    assert {(f["id"], f["name"]) for f in forces} == {
        (f.code, f.name) for f in load_registry() if f.territorial}
    assert kent["id"] == "kent" and kent["name"] == "Kent Police"
    assert [c["url"] for c in categories] == ["all-crime"] + [
        category_slug(name) for name in CRIME_CATEGORIES]
    assert [d["date"] for d in dates] == ["2024-04", "2024-03"]
    assert updated == {"date": "2024-04-01"}
    assert _from_json(march) == _expected(within_mile(_month(public, "2024-03"), *CITY))
    # ukpd sends `date=undefined` when no date is given: the latest month, as police.uk does.
    assert _from_json(latest) == _expected(within_mile(_month(public, "2024-04"), *CITY))


# -- R: ukpolice's requests, sent as it sends them ---------------------------------------------

UKPOLICE_AGENT = "http://github.com/njtierney/ukpolice"


def _ukp_api(base: str, path: str) -> tuple[httpx.Response, object]:
    """What ukpolice's `ukp_api(path)` does: GET base/path with its user agent, refuse any
    answer that is not application/json, then parse it (errors too: it prints `$message`)."""
    response = httpx.get(f"{base}/{path}", headers={"User-Agent": UKPOLICE_AGENT}, timeout=30)
    media_type = response.headers["content-type"].split(";")[0].strip()
    assert media_type == "application/json", f"ukpolice: API did not return json ({path})"
    return response, response.json()


def _unlist(value: object, prefix: str = "") -> dict[str, str]:
    """R's `unlist()` of one crime: nested names joined by dots, NULLs dropped, all text."""
    if isinstance(value, dict):
        out: dict[str, str] = {}
        for key, inner in value.items():
            out |= _unlist(inner, f"{prefix}.{key}" if prefix else key)
        return out
    return {} if value is None else {prefix: str(value).lower() if isinstance(value, bool)
                                     else str(value)}


def test_r_client_ukpolice_requests(served: str, public) -> None:
    expected = within_mile(_month(public, "2024-03"), *CITY)
    # ukp_crime(lat, lng, date): sprintf("api/crimes-street/all-crime?lat=%s&lng=%s&date=%s")
    for date, rows in (("2024-03", expected),
                       (None, within_mile(_month(public, "2024-04"), *CITY))):
        path = f"api/crimes-street/all-crime?lat={CITY[0]}&lng={CITY[1]}" + (
            f"&date={date}" if date else "")
        response, content = _ukp_api(served, path)
        assert response.status_code == 200
        frame = pd.DataFrame([_unlist(c) for c in content]).rename(columns={
            "location.latitude": "latitude", "location.longitude": "longitude",
            "location.street.id": "street_id", "location.street.name": "street_name",
            "month": "date", "outcome_status.category": "outcome_status",
            "outcome_status.date": "outcome_date"})
        frame["latitude"] = pd.to_numeric(frame["latitude"])  # R: as.numeric(latitude)
        got = Counter(zip(frame["persistent_id"], frame["category"], frame["date"],
                          frame["latitude"].round(6), frame["street_id"], frame["street_name"],
                          frame["outcome_status"].where(frame["outcome_status"].notna(), None),
                          strict=True))
        assert got == Counter(zip(rows["persistent_id"],
                                  rows["crime_type"].map(category_slug), rows["month"],
                                  rows["public_lat"].round(6),
                                  rows["location_id"].astype(int).astype(str),
                                  rows["public_label"],
                                  rows["outcome"].where(rows["outcome"].notna(), None),
                                  strict=True))
    # ukp_last_update(): the first of crimes-street-dates.
    _, dates = _ukp_api(served, "api/crimes-street-dates")
    assert dates[0]["date"] == "2024-04"
    # ukp_crime_poly(poly): its documented example writes a space after a comma.
    poly = "51.510,-0.100:51.520, -0.100:51.520,-0.080:51.510,-0.080"
    response, content = _ukp_api(served, "api/crimes-street/all-crime?poly="
                                 + poly.replace(" ", "%20") + "&date=2024-03")
    assert response.status_code == 200 and content
    month = _month(public, "2024-03")
    box = month[month["public_lat"].between(51.510, 51.520)
                & month["public_lon"].between(-0.100, -0.080)]
    assert Counter(c["persistent_id"] for c in content) == Counter(box["persistent_id"])
    # A failed request: ukpolice stops with the status and the answer's `message`.
    response, content = _ukp_api(served, "api/crimes-street/all-crime?lat=north&lng=-0.09")
    assert response.status_code == 400 and "lat" in content["message"]


# -- what HTTP clients rely on beyond the JSON ---------------------------------------------------

def test_http_details_clients_rely_on(served: str) -> None:
    forces = httpx.get(f"{served}/api/forces")
    assert forces.headers["content-type"] == "application/json"
    # A trailing slash is the same resource, answered in place (no redirect).
    slashed = httpx.get(f"{served}/api/forces/", follow_redirects=False)
    assert slashed.status_code == 200 and slashed.json() == forces.json()
    assert httpx.get(f"{served}/api/forces/kent/", follow_redirects=False).json()["id"] == "kent"
    # HEAD answers as GET does, without a body (link checkers, `curl -I`).
    head = httpx.head(f"{served}/api/crimes-street/all-crime?lat={CITY[0]}&lng={CITY[1]}")
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-type"] == "application/json"
    assert httpx.head(f"{served}/api/forces/atlantis").status_code == 404
    # A refused HEAD carries no body either, so the connection stays usable for the next one.
    with httpx.Client() as one_connection:
        refused = one_connection.head(f"{served}/api/forces?pad=" + "x" * 4100)
        assert refused.status_code == 400 and refused.content == b""
        after = one_connection.get(f"{served}/api/forces/kent")
        assert after.json()["id"] == "kent"
    # Large answers are gzipped for clients that accept it.
    crimes = httpx.get(f"{served}/api/crimes-street/all-crime?lat={CITY[0]}&lng={CITY[1]}",
                       headers={"Accept-Encoding": "gzip"})
    assert crimes.headers.get("content-encoding") == "gzip" and crimes.json()
    # A browser's preflight for a cross-origin POST (a long polygon from a web page).
    preflight = httpx.options(f"{served}/api/crimes-street/all-crime", headers={
        "Origin": "https://example.org", "Access-Control-Request-Method": "POST"})
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] in ("*", "https://example.org")
    assert httpx.get(f"{served}/api/forces", headers={"Origin": "https://example.org"}
                     ).headers["access-control-allow-origin"] == "*"
    # A date left out by a JavaScript template (`date=${date}`) is no date.
    assert httpx.get(f"{served}/api/crime-categories?date=undefined").status_code == 200
    # Errors are JSON with police.uk's status codes, refusals before routing included.
    for url, status in ((f"{served}/api/forces/atlantis", 404),
                        (f"{served}/api/crimes-street/all-crime?lat=51.5&lng=x", 400),
                        (f"{served}/api/forces?pad=" + "x" * 4100, 400),
                        (f"{served}/api/stops-street?lat=51.5&lng=-0.09", 404)):
        answer = httpx.get(url)
        assert answer.status_code == status
        assert answer.headers["content-type"] == "application/json"
        assert answer.json()["status"] == status and answer.json()["message"]
    refused = httpx.delete(f"{served}/api/forces")
    assert refused.status_code == 405 and refused.json()["status"] == 405


# -- JavaScript in a web page on another origin (the browser's own fetch) -------------------------

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


class _AppPage(BaseHTTPRequestHandler):
    """An empty web app page, from another origin than the API's."""

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        body = b"<!doctype html><title>an app elsewhere</title>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:  # quiet
        pass


def test_a_web_page_on_another_origin_calls_the_api(served: str, public) -> None:
    """A notebook or web app served from elsewhere calls the API with `fetch`: a plain GET, a
    long polygon POSTed as a form, and a request with a custom header (which the browser first
    checks with a preflight OPTIONS)."""
    if CHROMIUM is None:
        pytest.skip("no chromium on this machine (make test installs Debian's chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    ring = [(51.515 + 0.004 * math.sin(t), -0.09 + 0.006 * math.cos(t))
            for t in np.linspace(0, 2 * math.pi, 400, endpoint=False)]
    poly = ":".join(f"{lat},{lng}" for lat, lng in ring)
    # The page comes from another origin on this host (another port): a real server, so the
    # browser sees a loopback page calling a loopback API, as a public page calling a public
    # server would be.
    page_server = ThreadingHTTPServer(("127.0.0.1", 0), _AppPage)
    threading.Thread(target=page_server.serve_forever, daemon=True).start()
    other_origin = f"http://127.0.0.1:{page_server.server_address[1]}"
    assert other_origin != served
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                             args=["--no-sandbox"])
        try:
            page = browser.new_context().new_page()
            page.goto(f"{other_origin}/app.html")
            answers = page.evaluate("""async ([api, poly]) => {
                const point = await fetch(
                    `${api}/api/crimes-street/all-crime?lat=51.515&lng=-0.09&date=2024-03`);
                const form = new URLSearchParams({poly, date: '2024-03'});
                const area = await fetch(`${api}/api/crimes-street/all-crime`,
                                         {method: 'POST', body: form});
                const forces = await fetch(`${api}/api/forces`,
                                           {headers: {'X-Client': 'crimegeo-test'}});
                return {point: await point.json(), area: await area.json(),
                        forces: await forces.json()};
            }""", [served, poly])
        finally:
            browser.close()
            page_server.shutdown()
    march = _month(public, "2024-03")
    assert _from_json(answers["point"]) == _expected(within_mile(march, *CITY))
    located = march[march["location_id"].notna()]
    shape = shapely.Polygon([(lng, lat) for lat, lng in ring])
    assert _from_json(answers["area"]) == _expected(
        located[shapely.contains_xy(shape, located["public_lon"], located["public_lat"])])
    assert {f["id"] for f in answers["forces"]} == {
        f.code for f in load_registry() if f.territorial}
