"""The server-rendered pages: search, choices, stable place pages, alternates, escaping."""

from __future__ import annotations

import re

import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient

from crimegeo.public.app import create_app
from tests.conftest import live


@pytest.fixture(scope="module")
def client(published: dict) -> TestClient:
    app = create_app(str(published["output"]), gazetteer=published["gazetteer"],
                     areas=published["areas"], rate_per_second=10_000, burst=10_000)
    return TestClient(app)


def _total(html: str) -> int:
    match = re.search(r'<p class="total" id="total">([\d,]+) crimes?</p>', html)
    assert match, "the page states the number of crimes found"
    return int(match.group(1).replace(",", ""))


def test_home_is_a_labelled_search_box(client: TestClient) -> None:
    html = client.get("/").text
    assert '<label for="q">' in html and 'name="q"' in html and 'action="/search"' in html
    assert "2024-03 to 2024-04" in html


def test_search_for_a_street_shows_its_crimes_map_and_months(client: TestClient) -> None:
    html = client.get("/search?q=King+Way&date=2024-03").text
    assert "<h1>On or near King Way</h1>" in html
    located = client.get("/api/crimes-street/all-crime?q=King Way&date=2024-03").json()
    assert _total(html) == len(located) > 0
    assert '<svg xmlns="http://www.w3.org/2000/svg" role="img"' in html
    assert "<title id=\"map-title\">Map of On or near King Way, 2024-03</title>" in html
    assert 'rel="next" href="/search?q=King+Way&amp;date=2024-04"' in html
    for crime in located:
        assert crime["location"]["street"]["name"] == "On or near King Way"
    assert html.count("<tr><td><a href=\"/street/") >= 1  # the records are listed


def test_an_ambiguous_name_lists_the_places_to_choose_from(client: TestClient) -> None:
    html = client.get("/search?q=Oakwood").text
    assert "could mean" in html
    links = re.findall(r'<li><a href="(/area/[^"?]+)', html)
    assert len(links) >= 4
    for force in ("City of London Police", "Kent Police", "Merseyside Police",
                  "West Midlands Police"):
        assert force in html
    page = client.get(links[0])
    assert page.status_code == 200 and "<h1>Oakwood</h1>" in page.text


def test_a_force_page_counts_every_record_of_the_force_month(
        client: TestClient, published: dict) -> None:
    table = pq.read_table(
        live(published["output"], "2024-04") / "public" / "month=2024-04" / "force=kent")
    html = client.get("/force/kent?date=2024-04").text
    assert _total(html) == table.num_rows
    assert client.get("/force/kent.json?date=2024-04").json()["total"] == table.num_rows
    assert client.get("/force/atlantis").status_code == 404


def test_an_lsoa_page_links_out_to_ons_and_police_uk(client: TestClient, published: dict
                                                     ) -> None:
    if not published["areas"]:
        pytest.skip("the real LSOA layer (../shared/data) is absent")
    table = pq.read_table(live(published["output"], "2024-03") / "public" / "month=2024-03")
    code = "E01000001"
    expected = pc.sum(pc.equal(table["lsoa_code"], code)).as_py()
    html = client.get(f"/area/{code}?date=2024-03").text
    assert "<h1>City of London 001A</h1>" in html
    assert _total(html) == expected > 0
    assert "https://statistics.data.gov.uk/id/statistical-geography/E01000001" in html
    assert "https://data.police.uk/api/crimes-street/all-crime?lat=" in html
    assert 'class="area highlight"' in html  # its outline is drawn, emphasised
    geojson = client.get(f"/area/{code}.geojson?date=2024-03").json()
    assert len(geojson["features"]) == expected
    assert client.get(f"/search?q={code}&date=2024-03").text.count("City of London 001A") >= 1


def test_a_street_page_is_the_map_point_s_crimes(client: TestClient) -> None:
    best = client.get("/api/locate?q=King Way").json()["candidates"][0]
    page = client.get(f"{best['page']}?date=2024-03")
    assert page.status_code == 200 and "On or near King Way" in page.text
    rows = client.get(f"{best['page']}.csv?date=2024-03").text.splitlines()
    assert len(rows) - 1 == _total(page.text)
    assert client.get("/street/not-a-number").status_code == 400


def test_nothing_from_the_request_is_echoed_unescaped(client: TestClient) -> None:
    attack = '<script>alert("x")</script>'
    html = client.get("/search", params={"q": attack}).text
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html
    area = client.get("/area/%3Cimg%20src=x%20onerror=alert(1)%3E").text
    assert "<img src=x" not in area


def test_pages_load_nothing_from_other_hosts(client: TestClient) -> None:
    html = client.get("/search?q=King+Way").text
    for tag in re.findall(r"<(?:script|link|img|iframe)[^>]*>", html):
        assert "//" not in tag, tag
    csp = client.get("/").headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp
