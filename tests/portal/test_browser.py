"""The portal in a real browser: Debian's Chromium, headless, driven by Playwright, against a portal process.

A reader on a small phone screen goes from the home page to an article, switches language and searches; every
page must render readably (no sideways scrolling at 360 px), navigate by plain links, and log no console errors.
Chromium is installed by ``scripts/test``; without it the test is skipped, except under CI, where it fails.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest
from portal_fixtures import Archive, LivePortal

pytestmark = pytest.mark.slow

if TYPE_CHECKING:
    from playwright.sync_api import Browser, ConsoleMessage, Page


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A reader's phone, without JavaScript, in the shared browser (tests/conftest.py)."""
    context = browser.new_context(viewport={"width": 360, "height": 740}, locale="en-GB", java_script_enabled=False)
    yield context.new_page()
    context.close()


def fits_the_screen(page: Page) -> bool:
    # JavaScript is off for the reader; evaluate() runs from the driver through the DevTools protocol regardless.
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"))


def test_a_reader_finds_reads_and_cites_an_article(page: Page, live_portal: LivePortal, archive: Archive) -> None:
    problems: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type in ("error", "warning"):
            problems.append(f"{message.type}: {message.text} at {page.url}")

    page.on("console", on_console)
    page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    page.on("response", lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 400 else None)

    page.goto(live_portal.url + "/")
    assert page.locator("h1").inner_text().startswith("Released scholarly content")
    assert fits_the_screen(page)

    page.get_by_role("link", name="Titles").first.click()
    page.get_by_role("link", name="East African Journal of Public Health").click()
    assert page.locator("h1").inner_text() == "East African Journal of Public Health"
    assert "Released on" in page.locator("p.note").first.inner_text()
    page.locator("main a[href*='/titles/']").nth(1).click()  # the first volume (after the publisher's link)
    assert page.locator("h1").inner_text().startswith("Volume")
    page.locator("main a[href^='/articles/']").first.click()
    assert "/articles/" in page.url and fits_the_screen(page)
    assert page.locator("meta[name='citation_title']").count() == 1
    assert "How to cite" in page.content() and page.locator("p.cite").inner_text()
    pdf_link = page.get_by_role("link", name="PDF")
    if pdf_link.count():
        pdf = page.request.get(live_portal.url + str(pdf_link.get_attribute("href")))
        assert pdf.status == 200 and pdf.body().startswith(b"%PDF")

    page.get_by_role("link", name="français").click()
    assert page.locator("html").get_attribute("lang") == "fr" and "Comment citer" in page.content()
    assert fits_the_screen(page)

    page.get_by_role("link", name="Rechercher").first.click()
    page.get_by_role("searchbox").fill("Ghana")
    page.get_by_role("button", name="Rechercher").click()
    assert "résultat" in page.content() and page.locator("main a[href*='/articles/']").count() > 0
    page.locator("main a[href*='/articles/']").first.click()
    assert page.locator("html").get_attribute("lang") == "fr"

    page.goto(live_portal.url + f"/articles/{sorted(archive.dark_ids)[0]}/")
    assert page.locator("h1").inner_text() == "Not found"
    problems = [p for p in problems if "/articles/" + sorted(archive.dark_ids)[0] not in p]  # the expected 404
    assert problems == []
