"""Leadership walks the demo's season in a real browser (Playwright, Debian's chromium):
from the Season link to FY2027, on to reconciling, a commit refused with what blocks it,
then committed anyway with a reason the history keeps; the board then shows what moved
since. Each page is checked with axe-core. Screenshots go where tests/test_browser.py puts
its own."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from core.models import Cycle
from planning.models import CycleBaseline
from tests.test_browser import (  # the shared browser, live server, demo data and helpers
    accessibility_problems,
    artifacts,  # noqa: F401 - a fixture
    browser,  # noqa: F401 - a fixture
    demo,  # noqa: F401 - a fixture
    expect,
    page,  # noqa: F401 - a fixture
    screenshot,
    sign_in,
)

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.browser


def test_leadership_walks_the_season_and_commits_only_with_a_reason(
    page: Page,  # noqa: F811 - the shared fixture
    artifacts: Path,  # noqa: F811 - the shared fixture
):
    sign_in(page, "priya")  # VP of Customer Success, in leadership
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Season").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Season")
    page.get_by_role("link", name="FY2027").click()
    expect(page.get_by_role("heading", name="Ready to commit?")).to_be_visible()
    assert accessibility_problems(page) == []

    page.get_by_role("button", name="Start reconciling").click()
    expect(page.get_by_text("FY2027 is reconciling now.")).to_be_visible()

    page.get_by_role("button", name="Commit to this plan").click()
    expect(page.get_by_role("alert")).to_contain_text("FY2027 is not committed")
    expect(page.locator("#check-plans")).to_contain_text("The plan of First 90 Days")
    screenshot(page, artifacts, "season-refused")
    assert accessibility_problems(page) == []
    assert Cycle.objects.get(key="fy2027").state == "reconciling"

    page.get_by_label("Commit although the readiness check lists what still blocks").check()
    page.get_by_label("Why commit now?").fill("The board meets on Friday; plans follow.")
    page.get_by_role("button", name="Commit to this plan").click()
    expect(page.get_by_text("FY2027 is committed.")).to_be_visible()
    history = page.locator("#history")
    expect(history).to_contain_text("Priya Shah")
    expect(history).to_contain_text("The board meets on Friday; plans follow.")
    screenshot(page, artifacts, "season-committed")
    assert accessibility_problems(page) == []
    assert CycleBaseline.objects.filter(cycle__key="fy2027").count() == 1

    page.goto("/board/")
    expect(page.locator("#since-commit")).to_contain_text("Nothing has moved")
