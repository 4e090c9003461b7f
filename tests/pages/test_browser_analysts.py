"""The jurisdiction, therapy, search and calendar pages in a real Chromium
(the fixtures and rules of test_browser.py): under the CSP with no console
errors, reached from the matrix headers, with full-page screenshots."""

from __future__ import annotations

import pytest

from tests.pages.test_browser import _console_problems, browser, page, record, screenshot  # noqa: F401 (fixtures)

pytestmark = pytest.mark.browser

PAGES = [
    ("/jurisdictions/us/", ".status-cards"),
    ("/jurisdictions/eu/", ".status-cards"),
    ("/therapies/mdma-ptsd/", ".status-cards"),
    ("/search/", "form.search-form"),
    ("/search/?q=Lykos", ".search-section"),
    ("/calendar/", "#reviews-heading"),
]


def test_the_new_pages_load_under_the_content_security_policy_without_console_errors(page):  # noqa: F811
    problems = {path: _console_problems(page, path, ready=ready) for path, ready in PAGES}

    assert problems == {path: [] for path, _ in PAGES}


def test_the_matrix_headers_lead_to_the_jurisdiction_and_therapy_pages(page):  # noqa: F811
    from playwright.sync_api import expect

    page.goto(page.base_url + "/")
    page.locator('tr[data-jurisdiction="us"] a.matrix__jurisdiction-name').click()
    page.wait_for_url("**/jurisdictions/us/")
    expect(page.locator("h1")).to_have_text("United States")
    expect(page.locator('article[data-therapy="mdma-ptsd"] .cell__status')).to_be_visible()
    screenshot(page, "jurisdiction-us")

    page.goto(page.base_url + "/")
    page.locator("th.matrix__therapy a").first.click()
    page.wait_for_url("**/therapies/*/")
    expect(page.locator('article[data-jurisdiction="au"]')).to_be_visible()
    screenshot(page, "therapy")


def test_search_and_calendar_pages(page):  # noqa: F811
    from playwright.sync_api import expect

    page.goto(page.base_url + "/search/")
    page.get_by_label("Words").fill("midomafetamine")
    page.get_by_role("button", name="Search").click()
    expect(page.locator('section[data-results="decisions"] .decision-item').first).to_be_visible()
    screenshot(page, "search")

    page.goto(page.base_url + "/calendar/")
    expect(page.locator("h1")).to_have_text("Catalyst calendar")
    screenshot(page, "calendar")

    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(page.base_url + "/jurisdictions/au/")
    screenshot(page, "jurisdiction-au-phone")
