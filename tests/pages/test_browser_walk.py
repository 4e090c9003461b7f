"""An analyst's walk in a real Chromium (see test_browser.py), as issue 10
asks: the matrix → "compare with…" → the compared matrix → a jurisdiction's
page → one of its decisions → its "Cite this" box, with a screenshot of each
step in SCREENSHOT_DIR and no console error or CSP violation on the way."""

from __future__ import annotations

import json

import pytest

from tests.pages.test_browser import browser, page, record, screenshot  # noqa: F401 (fixtures)

pytestmark = pytest.mark.browser


def test_it_walks_from_the_matrix_through_compare_and_a_jurisdiction_to_a_decision_and_cites_it(page):  # noqa: F811
    from playwright.sync_api import expect

    problems: list[str] = []
    page.on("console", lambda msg: problems.append(msg.text) if msg.type in ("error", "warning") else None)
    page.on("pageerror", lambda error: problems.append(str(error)))

    page.goto(page.base_url + "/?as_of=2023-07-01")
    screenshot(page, "walk-1-matrix")
    page.get_by_label("Compare 1 Jul 2023 with…").fill("2023-06-30")
    page.get_by_role("button", name="Compare").click()

    page.wait_for_url("**/compare/?from=2023-06-30&to=2023-07-01")
    expect(page.locator('tr[data-jurisdiction="au"] td[data-changed="true"]')).to_have_count(2)
    expect(page.locator(".cite-box")).to_contain_text("between 30 June 2023 and 1 July 2023")
    screenshot(page, "walk-2-compare")

    page.locator('tr[data-jurisdiction="au"] a.matrix__jurisdiction-name').click()
    page.wait_for_url("**/jurisdictions/au/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Australia")
    screenshot(page, "walk-3-jurisdiction")

    page.locator('main a[href^="/decisions/"]').filter(has_text="Schedule 8").first.click()
    page.wait_for_url("**/decisions/*/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Schedule 8")

    box = page.locator(".cite-box")
    expect(box.locator(".cite-box__apa")).to_contain_text("Regulatory Tracker")
    assert "recorded_as_of=" in box.locator("#cite-permalink").input_value()
    box.locator(".cite-box__formats summary").click()
    assert json.loads(box.locator("#cite-csl").inner_text())
    screenshot(page, "walk-4-decision-cite")

    assert problems == []


def test_a_decision_page_with_a_long_instrument_stays_within_the_window(page):  # noqa: F811
    from regulatory.models import Decision

    decision = Decision.objects.filter(jurisdiction__code="au", control="medical_use_permitted").first()
    assert decision is not None
    page.goto(page.base_url + f"/decisions/{decision.pk}/")

    assert not page.evaluate("document.documentElement.scrollWidth > document.documentElement.clientWidth")
