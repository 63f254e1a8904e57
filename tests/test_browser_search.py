"""Searching from the navigation in a real browser (Playwright, Debian's chromium), on the demo
company: the words typed in the search box lead to results grouped by kind, with counts and
the matches highlighted, each linking to where the thing lives. Screenshots go where
tests/test_browser.py puts its own."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests import test_browser
from tests.test_browser import accessibility_problems, expect, screenshot, sign_in

# The browser tests' fixtures: one Chromium, the live server with the demo, a signed-out page.
browser = test_browser.browser
artifacts = test_browser.artifacts
demo = test_browser.demo
page = test_browser.page

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.browser


def test_a_search_typed_in_the_navigation_shows_grouped_results_with_highlights(
    page: Page, artifacts: Path
):
    sign_in(page, "ada")
    page.goto("/board/")
    box = page.get_by_role("navigation", name="Main").get_by_role("searchbox", name="Search")
    box.fill("onboarding wiz")
    box.press("Enter")

    expect(page).to_have_url(re.compile(r"/search/\?q=onboarding\+wiz$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Search")
    counts = page.get_by_role("navigation", name="Results by kind")
    expect(counts).to_contain_text("Initiatives 1")
    initiatives = page.locator("#results-initiatives")
    expect(initiatives.get_by_role("heading", level=2)).to_have_text("Initiatives 1")
    hit = initiatives.get_by_role("link", name="In-app onboarding wizard")
    expect(hit).to_be_visible()
    marks = [m.lower() for m in initiatives.locator("mark").all_inner_texts()]
    # The unfinished last word is marked where it starts a word ("wiz" of "wizard").
    assert "onboarding" in marks and any(m.startswith("wiz") for m in marks), marks
    # The box keeps the words, so the next search starts from them.
    expect(page.get_by_role("searchbox", name="Search").first).to_have_value("onboarding wiz")
    screenshot(page, artifacts, "search")
    assert not accessibility_problems(page), accessibility_problems(page)

    # A broader search finds several kinds, each under its own heading.
    box = page.get_by_role("navigation", name="Main").get_by_role("searchbox", name="Search")
    box.fill("onboarding")
    box.press("Enter")
    for kind in ("Initiatives", "Dependencies", "Squads", "Journey stages"):
        expect(
            page.get_by_role("heading", level=2, name=re.compile(rf"^{kind} \d+$"))
        ).to_be_visible()
    expect(page.locator("#results-stages mark").first).to_have_text(re.compile("onboarding", re.I))

    # The initiative's link opens its squad's plan at the initiative.
    page.locator("#results-initiatives").get_by_role(
        "link", name="In-app onboarding wizard"
    ).click()
    expect(page).to_have_url(
        re.compile(r"/squads/first-90-days/plan/#initiative-onboarding-wizard$")
    )
    initiative = page.locator("#initiative-onboarding-wizard")
    expect(initiative).to_contain_text("In-app onboarding wizard")
