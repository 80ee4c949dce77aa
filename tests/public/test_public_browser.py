"""The site in a real browser: headless Chromium from the system's packages, driven by
Playwright (pointed at that binary; it never downloads one). Search, choosing among ambiguous
places, month navigation, area pages, keyboard use, and no request leaving this host."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

pytestmark = pytest.mark.slow

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def base_url(site_url: str) -> str:
    return site_url


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if CHROMIUM is None:
        pytest.skip("no chromium on this machine (make test installs Debian's chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                             args=["--no-sandbox"])
        yield browser
        browser.close()


@pytest.fixture
def page(browser, base_url: str) -> Iterator[object]:
    """A page that records every request; any to another host is aborted and fails the test."""
    context = browser.new_context()
    requested: list[str] = []

    def route(route_, request) -> None:
        requested.append(request.url)
        host = urlsplit(request.url).hostname
        if host == "127.0.0.1":
            route_.continue_()
        else:
            route_.abort()

    context.route("**/*", route)
    page = context.new_page()
    page.requested = requested
    yield page
    foreign = [u for u in requested if urlsplit(u).hostname != "127.0.0.1"]
    context.close()
    assert requested, "the browser made no request at all"
    assert not foreign, f"requests left the host: {foreign}"


def _total(page) -> int:
    return int(page.locator("#total").inner_text().split()[0].replace(",", ""))


def test_search_by_street_name_with_the_keyboard(page, base_url: str) -> None:
    page.goto(base_url + "/")
    for _ in range(3):  # the skip link, the site's name, then the search box
        page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "q"
    page.keyboard.type("King Way")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/search\?q=King\+Way"))
    assert page.locator("h1").inner_text() == "On or near King Way"
    assert _total(page) > 0
    assert page.locator("#total").inner_text().endswith(("crimes", "crime"))
    assert page.get_by_role("img", name=re.compile("Map of On or near King Way")).is_visible()
    rows = page.locator("table.records tbody tr")
    assert rows.count() == _total(page)


def test_choosing_among_ambiguous_places(page, base_url: str) -> None:
    # The demo has a Mill Mews in the City of London and one in Kent.
    page.goto(base_url + "/")
    page.get_by_label("Street, area, LSOA or force").fill("Mill Mews")
    page.get_by_role("button", name="Search").click()
    assert "could mean" in page.locator("h1").inner_text()
    assert page.locator("ul.choices li a").count() == 2
    page.locator("ul.choices li", has_text="Kent Police").locator("a").click()
    page.wait_for_url(re.compile(r"/street/\d+"))
    assert page.locator("h1").inner_text() == "On or near Mill Mews"
    assert "Kent Police" in page.locator("p.meta").first.inner_text()
    assert _total(page) > 0
    circles = page.locator("svg.map circle.point")
    assert circles.count() == 1  # one map point: this street's


def test_month_navigation_by_link_and_by_the_month_list(page, base_url: str) -> None:
    page.goto(base_url + "/force/city-of-london?date=2024-03")
    march = _total(page)
    page.get_by_role("link", name="2024-04 →").click()
    page.wait_for_url(re.compile(r"date=2024-04"))
    assert page.locator("nav.months strong").inner_text() == "2024-04"
    april = _total(page)
    assert march > 0 and april > 0
    # With JavaScript, choosing a month in the list opens it at once.
    page.select_option("#date", "2024-03")
    page.wait_for_url(re.compile(r"date=2024-03"))
    assert _total(page) == march


@pytest.fixture
def with_areas(published: dict) -> dict:
    """The published month, when it has the real LSOA layer; a skip before any page opens
    otherwise (the page's own check, that the browser made requests, would then fail)."""
    if not published["areas"]:
        pytest.skip("the real LSOA layer (../shared/data) is absent")
    return published


def test_an_area_page_with_its_outline_and_links_out(with_areas: dict, page,
                                                     base_url: str) -> None:
    page.goto(base_url + "/area/E01000001?date=2024-03")
    assert page.locator("h1").inner_text() == "City of London 001A"
    assert page.locator("svg.map path.area.highlight").count() == 1
    assert page.locator("svg.map circle.point").count() > 0
    ons = page.get_by_role("link", name="This LSOA at the ONS")
    assert ons.get_attribute("href").endswith("/E01000001")
    # A map point is a link: following it opens that street's stable page.
    page.locator("svg.map a").first.focus()
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/street/\d+\?date=2024-03"))
    assert page.locator("h1").inner_text().startswith("On or near ")


def test_pages_work_without_javascript(browser, base_url: str) -> None:
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(base_url + "/force/kent?date=2024-04")
    page.select_option("#date", "2024-03")
    page.get_by_role("button", name="Show").click()
    page.wait_for_url(re.compile(r"date=2024-03"))
    assert page.locator("nav.months strong").inner_text() == "2024-03"
    context.close()
