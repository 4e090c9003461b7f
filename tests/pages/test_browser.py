"""The analysts' pages in a real Chromium, driven by Playwright.

Uses Debian's /usr/bin/chromium (never a browser downloaded by Playwright).
Skipped when it is missing, unless REQUIRE_BROWSER=1 (CI), which makes a
missing browser a failure. Full-page screenshots go to SCREENSHOT_DIR
(default test-artifacts/screenshots/); scripts/screenshots.py copies two of
them to docs/img/ for the README.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings

pytestmark = pytest.mark.browser

CHROMIUM = Path(os.environ.get("CHROMIUM_PATH") or "/usr/bin/chromium")  # Debian's package
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOT_DIR = Path(os.environ.get("SCREENSHOT_DIR") or settings.BASE_DIR / "test-artifacts" / "screenshots")


def _unavailable(reason: str) -> None:
    if os.environ.get("REQUIRE_BROWSER") == "1":
        pytest.fail(f"{reason} (REQUIRE_BROWSER=1 makes this a failure)")
    pytest.skip(f"{reason}; install it with `apt-get install chromium`, or set REQUIRE_BROWSER=1 to fail instead")


@pytest.fixture(scope="module")
def browser() -> Iterator:
    if not CHROMIUM.exists():
        _unavailable(f"no Chromium at {CHROMIUM}")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("Playwright for Python is not installed")
    # Playwright's sync API keeps an asyncio loop on this thread; Django
    # refuses ORM calls from a thread with a running loop unless told that
    # this is deliberate. The live server answers from its own thread.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            yield chromium
            chromium.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def record(transactional_db):
    """The shipped dataset when it is there, else the small sample of the same shape."""
    from regulatory.loader import DEFAULT_PATH, history_load

    if DEFAULT_PATH.exists():
        return history_load()
    from tests.pages.sample import sample_build

    return sample_build()


@pytest.fixture
def page(browser, live_server, record) -> Iterator:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB", timezone_id="UTC")
    context.set_default_timeout(15_000)
    tab = context.new_page()
    tab.base_url = live_server.url
    yield tab
    context.close()


def screenshot(tab, name: str) -> Path:
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOT_DIR / f"{name}.png"
    tab.screenshot(path=str(path), full_page=True)
    return path


def us_mdma_cell(tab):
    return tab.locator('tr[data-jurisdiction="us"] td[data-therapy="mdma-ptsd"]')


def test_it_shows_the_status_label_in_the_matrix(page):
    from playwright.sync_api import expect

    page.goto(page.base_url + "/")

    expect(page.get_by_role("heading", level=1)).to_have_text("Where each therapy stands")
    expect(us_mdma_cell(page)).to_contain_text("Not approved")
    expect(us_mdma_cell(page)).to_contain_text("since 9 Aug 2024")
    screenshot(page, "matrix")


def test_it_redraws_the_matrix_for_a_date_chosen_in_the_form(page):
    from playwright.sync_api import expect

    page.goto(page.base_url + "/")
    page.get_by_label("Status on", exact=True).fill("2024-03-01")
    page.get_by_role("button", name="Show").click()

    page.wait_for_url("**/?as_of=2024-03-01")
    expect(us_mdma_cell(page)).to_contain_text("Under review")
    expect(page.locator("#as_of")).to_have_value("2024-03-01")
    screenshot(page, "matrix-2024-03-01")


def test_it_draws_a_labelled_lane_per_jurisdiction_on_the_timeline(page):
    from playwright.sync_api import expect

    page.goto(page.base_url + "/timeline/?therapy=mdma-ptsd&jurisdiction=us,au")

    lanes = page.locator("svg.timeline-chart g.lane")
    expect(lanes).to_have_count(2)
    expect(lanes.nth(0).locator("text.lane__label")).to_have_text("United States")
    expect(lanes.nth(1).locator("text.lane__label")).to_have_text("Australia")
    expect(lanes.nth(0).locator("a.mark").first).to_have_attribute("href", re.compile(r"^/decisions/\d+/$"))
    assert lanes.nth(0).locator("rect.band").count() > 0
    screenshot(page, "timeline")
    # The top of the page (chart and the first decisions), for the README.
    page.screenshot(
        path=str(SCREENSHOT_DIR / "timeline-overview.png"), clip={"x": 0, "y": 0, "width": 1280, "height": 1180}
    )


def test_it_lists_the_sources_on_a_decision_page(page):
    from playwright.sync_api import expect

    page.goto(page.base_url + "/")
    us_mdma_cell(page).locator("a.cell__link").click()  # not the cell's "Status history" link

    expect(page.get_by_role("heading", name="Sources")).to_be_visible()
    sources = page.locator(".source-list li.source")
    assert sources.count() >= 1
    first = sources.first
    expect(first.locator(".grade-badge")).to_have_count(1)
    assert first.locator("a.source__title").get_attribute("href").startswith("http")
    expect(page.get_by_role("heading", name="History of this entry")).to_be_visible()
    screenshot(page, "decision")


def test_it_scrolls_the_matrix_sideways_on_a_phone(page):
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(page.base_url + "/")

    matrix = page.locator(".matrix-scroll")
    scroll_width, client_width = matrix.evaluate("el => [el.scrollWidth, el.clientWidth]")
    page_overflow = page.evaluate("document.documentElement.scrollWidth > document.documentElement.clientWidth")

    assert scroll_width > client_width
    assert not page_overflow  # only the matrix scrolls, not the whole page
    screenshot(page, "matrix-phone")


def test_it_shows_the_access_programmes(page):
    from playwright.sync_api import expect

    page.goto(page.base_url + "/programmes/")

    expect(page.get_by_role("heading", level=1)).to_have_text("Access programmes")
    assert page.locator("article.programme").count() >= 1
    screenshot(page, "programmes")


def _console_problems(tab, path: str, *, ready: str | None = None, status: int = 200) -> list[str]:
    """Go to `path` and return the console errors and warnings (a CSP
    violation is reported there: "Refused to execute inline script ..."),
    uncaught page errors and CSP violation events seen while it loads. For an
    error page (`status`), Chromium's own report of the document's status is
    not a problem."""
    problems: list[str] = []
    tab.on(
        "console", lambda msg: problems.append(f"{msg.type}: {msg.text}") if msg.type in ("error", "warning") else None
    )
    tab.on("pageerror", lambda error: problems.append(f"pageerror: {error}"))
    tab.add_init_script("""document.addEventListener("securitypolicyviolation", (e) =>
        console.error("CSP violation: " + e.violatedDirective + " " + e.blockedURI));""")
    response = tab.goto(tab.base_url + path)
    assert response.status == status, path
    assert "default-src 'self'" in response.headers["content-security-policy"]
    if ready:
        tab.locator(ready).first.wait_for()
    tab.wait_for_load_state("networkidle")
    own_status = f"error: Failed to load resource: the server responded with a status of {status}"
    return [problem for problem in problems if status == 200 or not problem.startswith(own_status)]


PAGES = [
    ("/", "table.matrix"),
    ("/?as_of=2024-03-01", "table.matrix"),
    ("/timeline/?therapy=mdma-ptsd&jurisdiction=us,au", "svg.timeline-chart"),
    ("/timeline/", None),
    ("/programmes/", None),
    ("/subscribe/", "form"),
    ("/api/v1/docs/", "#swagger-ui .information-container"),  # Swagger UI has drawn the schema
    ("/admin/login/", "form"),
]


def test_it_loads_every_page_under_the_content_security_policy_without_console_errors(page):
    problems = {path: _console_problems(page, path, ready=ready) for path, ready in PAGES}

    assert problems == {path: [] for path, _ in PAGES}


def test_it_loads_a_decision_page_and_the_admin_under_the_content_security_policy(page, alice, live_server):
    from regulatory.models import Decision

    decision = Decision.objects.filter(state="published").first()
    assert _console_problems(page, f"/decisions/{decision.pk}/", ready=".source-list") == []

    alice.set_password("a-long-password-for-alice")
    alice.save()
    page.goto(page.base_url + "/admin/login/")
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill("a-long-password-for-alice")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/admin/")
    assert _console_problems(page, "/admin/", ready="#content") == []
    assert _console_problems(page, "/admin/regulatory/decision/", ready="#result_list, #changelist") == []
    assert _console_problems(page, f"/admin/regulatory/decision/{decision.pk}/change/", ready="form") == []
    assert _console_problems(page, "/admin/regulatory/decision/add/", ready="form") == []


# --- Issue 10 ("exports"): filters, cite box, print layout, timeline on a phone ---


def test_it_keeps_the_filters_in_the_url_and_follows_the_same_view(page):
    from playwright.sync_api import expect

    page.goto(page.base_url + "/")
    page.locator("details.matrix-filters > summary").click()
    page.locator('input[name="jurisdiction"][value="au"]').check()
    page.locator('input[name="therapy"][value="mdma-ptsd"]').check()
    page.get_by_role("button", name="Apply filters").click()

    page.wait_for_url(lambda url: "jurisdiction=au" in url and "therapy=mdma-ptsd" in url)
    expect(page.locator("tr[data-jurisdiction]")).to_have_count(1)
    follow = page.locator(".follow-box")
    expect(follow.get_by_role("link", name="By email")).to_have_attribute(
        "href", "/subscribe/?jurisdiction=au&therapy=mdma-ptsd"
    )
    follow.get_by_role("link", name="By email").click()
    expect(page.locator('input[name="jurisdictions"][value="au"]')).to_be_checked()
    expect(page.locator('input[name="therapies"][value="mdma-ptsd"]')).to_be_checked()


def test_the_cite_box_offers_copy_buttons_under_the_content_security_policy(page):
    from playwright.sync_api import expect

    assert _console_problems(page, "/?as_of=2024-03-01", ready=".cite-box") == []
    box = page.locator(".cite-box")
    box.locator("summary").click()
    expect(box.locator("button.cite-box__copy")).to_have_count(4)
    expect(page.get_by_role("button", name="Print or save as PDF")).to_be_visible()
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    page.locator(".matrix-take-away").screenshot(path=str(SCREENSHOT_DIR / "matrix-cite.png"))


def test_the_printed_matrix_hides_navigation_and_keeps_the_legend_and_citation(page):
    page.goto(page.base_url + "/?as_of=2024-03-01")
    page.emulate_media(media="print")

    assert not page.locator(".site-nav").is_visible()
    assert not page.locator(".as-of-form").is_visible()
    assert not page.locator(".matrix-filters").is_visible()
    assert page.locator(".legend").is_visible()
    assert page.locator(".cite-box__apa").is_visible()
    assert not page.locator(".cite-box__formats").is_visible()
    screenshot(page, "matrix-print")
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    page.pdf(path=str(SCREENSHOT_DIR / "matrix-print.pdf"), landscape=True, print_background=True)


def test_the_timeline_opens_at_the_recent_years_on_a_phone(page):
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(page.base_url + "/timeline/?therapy=mdma-ptsd&jurisdiction=us,au")
    page.wait_for_load_state("load")

    left, width, client = page.locator(".chart-scroll").evaluate(
        "el => [el.scrollLeft, el.scrollWidth, el.clientWidth]"
    )
    page_overflow = page.evaluate("document.documentElement.scrollWidth > document.documentElement.clientWidth")

    assert width > client
    assert left >= width - client - 1  # at the right end: the recent years
    assert not page_overflow  # only the chart scrolls sideways, not the page
    screenshot(page, "timeline-phone")


def test_it_loads_the_subscribers_pages_and_the_error_pages_under_the_content_security_policy(page):
    """The pages a subscriber's links open (confirm, manage, unsubscribe), and
    the 400 and 404 pages, which a mistyped link reaches."""
    from django.urls import reverse

    from tests.tracker.factories import pending_subscription, subscriber_with
    from tracker import tokens

    subscription = pending_subscription("carol@example.org")
    subscriber = subscriber_with("dave@example.org")
    pages = [
        (reverse("tracker-confirm", args=[tokens.confirm_token_make(subscription)]), "main", 200),
        (reverse("tracker-manage", args=[tokens.manage_token_make(subscriber)]), "main", 200),
        (reverse("tracker-unsubscribe", args=[tokens.unsubscribe_token_make(subscriber)]), "main", 200),
        ("/timeline/?from=not-a-date", "main", 400),  # the page naming the parameter
        ("/decisions/999999/", "main", 404),
    ]

    problems = {path: _console_problems(page, path, ready=ready, status=status) for path, ready, status in pages}

    assert problems == {path: [] for path, _, _ in pages}
