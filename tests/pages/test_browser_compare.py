"""/compare/ and record time in a real Chromium (see test_browser.py): from
the matrix's "compare with…" form to the compared matrix, to the decision
that changed it, and the matrix in record time. Screenshots in SCREENSHOT_DIR."""

from __future__ import annotations

import pytest

from tests.pages.test_browser import browser, page, record, screenshot  # noqa: F401 (fixtures)

pytestmark = pytest.mark.browser


def test_it_walks_from_the_matrix_to_the_compared_matrix_and_the_decision_that_changed_it(page):  # noqa: F811
    from playwright.sync_api import expect

    page.goto(page.base_url + "/?as_of=2023-07-01")
    page.get_by_label("Compare 1 Jul 2023 with…").fill("2023-06-30")
    page.get_by_role("button", name="Compare").click()

    page.wait_for_url("**/compare/?from=2023-06-30&to=2023-07-01")
    changed = page.locator('tr[data-jurisdiction="au"] td[data-changed="true"]')
    expect(changed).to_have_count(2)
    expect(changed.first).to_contain_text("Schedule 8")
    expect(changed.first.locator('[data-dimension="control"]')).to_contain_text("Schedule 9")
    screenshot(page, "compare-2023-06-30-2023-07-01")

    page.locator(".compare__decisions a").filter(has_text="Schedule 8").first.click()
    page.wait_for_url("**/decisions/*/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Schedule 8")


def test_it_shows_the_matrix_in_record_time_with_a_banner(page):  # noqa: F811
    from django.utils import timezone
    from playwright.sync_api import expect

    today = timezone.localdate().isoformat()
    page.goto(page.base_url + f"/?recorded_as_of={today}")

    banner = page.locator(".notice--record-time")
    expect(banner).to_contain_text("as the tracker showed it on")
    expect(banner.get_by_role("link", name="Show today’s record")).to_have_attribute("href", "/")
    screenshot(page, "matrix-record-time")
