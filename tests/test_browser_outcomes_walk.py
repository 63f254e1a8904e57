"""The acceptance test of the customer at the centre, in a real browser (Playwright, Debian's
chromium), on the worked example (planning/demo/first-90-days.json, planning-file/2).

The provider declines the messaging the onboarding enrollment campaign needs; the campaign
serves the mid-market segment's first milestone, "Assessment completed", tied to the Day 1
moment of onboarding. Leadership then walks from a company goal down to that moment, sees it
at risk and why (the declined dependency, the finding naming the moment, the lowest
confidence), and walks back up through the squad to the goal its objective serves. Pages
are checked with axe-core along the way; screenshots go where tests/test_browser.py puts its
own, named `outcomes-…`.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.test_browser import (  # the shared browser and helpers
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

GOAL = "Every customer reaches the value they bought us for"
SQUAD = "First 90 Days Experience Squad"
NEED = "Feature messaging for the assessment and wizard"
REASON = "Our launch moved to the second quarter; no messaging before then."
MOMENT = "#moment-lifecycle-onboarding-day-1"


def sign_out(opened: Page) -> None:
    opened.context.clear_cookies()


def test_leadership_walks_from_a_goal_down_to_a_moment_at_risk_and_back(
    page: Page,  # noqa: F811
    artifacts: Path,  # noqa: F811
    settings,
):
    # The review runs inside the request that asks for it (no worker in this test).
    settings.CELERY_TASK_ALWAYS_EAGER = True

    # Omar's squad, Product-led Growth, provides the campaign's messaging; he declines it.
    sign_in(page, "omar")
    page.goto("/board/")
    row = page.locator("#dep-messaging-mid-q1")
    row.get_by_role("link", name=re.compile("^Decline")).click()
    page.get_by_label("Why decline?").fill(REASON)
    page.get_by_role("button", name="Decline", exact=True).click()
    expect(page.locator("#dep-messaging-mid-q1")).to_contain_text("Declined")
    sign_out(page)

    # Leadership runs the review: the finding about the declined dependency names the moment
    # of the customer's journey it puts at risk.
    sign_in(page, "priya")  # in the Leadership group (and the DRI of First 90 Days)
    page.goto("/findings/")
    page.locator("#review-status").get_by_role("button", name="Run the review now").click()
    expect(page.locator("#review-status")).to_contain_text("Last review just now")
    declined = page.locator("article.finding").filter(has_text=NEED).filter(has_text="declined")
    expect(declined.first).to_contain_text(
        re.compile(r"puts Day 1: Assessment completed at risk for Mid-market", re.IGNORECASE)
    )

    # Down: from the goals to the customer-success goal ...
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Goals").click()
    page.get_by_role("link", name=GOAL).first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text(GOAL)
    expect(page.get_by_role("main")).to_contain_text("80% of seats active within 60 days")
    assert accessibility_problems(page) == []
    screenshot(page, artifacts, "outcomes-goal")

    # ... to the First 90 Days objective serving it, and the onboarding stage it covers ...
    objective = page.locator("article.objective-node").filter(
        has=page.get_by_role("link", name=SQUAD, exact=True)
    )
    expect(objective).to_have_count(1)
    objective.get_by_role("link", name="Onboarding", exact=True).click()
    expect(page).to_have_url(re.compile(r"/journeys/lifecycle/#stage-\d+$"))

    # ... to the Day 1 moment, at risk because the need it waits on was declined.
    moment = page.locator(MOMENT)
    expect(moment).to_be_visible()
    risk = moment.locator("details.risk")
    expect(risk.locator(".risk__flag")).to_have_text("At risk")
    risk.locator("summary").click()
    expect(risk.locator(".risk__reasons")).to_contain_text("declined")
    expect(risk).to_contain_text(NEED)
    expect(risk).to_contain_text("Targeted onboarding enrollment campaign")
    expect(risk.locator(".risk__kind").filter(has_text="Findings")).to_be_visible()
    # The milestone and who speaks to the customer there are on the map too.
    expect(moment).to_contain_text("Welcome!")
    assert accessibility_problems(page) == []
    screenshot(page, artifacts, "outcomes-moment-at-risk")

    # Back up: the squad covering the stage, its objective, and the goal it serves.
    stage_risk = (
        page.locator("article.stage").filter(has=page.locator(MOMENT)).locator("details.risk").first
    )
    stage_risk.locator("summary").click()
    stage_risk.get_by_role("link", name=re.compile(re.escape(SQUAD))).first.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(SQUAD)
    page.locator("p.serves").get_by_role("link", name=GOAL).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(GOAL)
    expect(page).to_have_url(re.compile(r"/goals/customer-success/$"))


def test_the_segments_time_to_value_map_shows_where_customers_fall_behind(
    page: Page,  # noqa: F811
    artifacts: Path,  # noqa: F811
):
    sign_in(page, "priya")
    page.goto("/segments/")
    page.get_by_role("link", name=re.compile(r"milestones? of Mid-market SaaS teams")).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Mid-market SaaS teams")
    expect(page.get_by_role("main")).to_contain_text("80% of seats active within 60 days")
    # The demo's readings: customers invite their whole team 11 days late.
    behind = page.locator("tr").filter(has_text="Whole team invited")
    expect(behind).to_contain_text("Behind")
    # The track is drawn, and the table says the same for those who do not see it.
    expect(page.locator("svg title").first).to_be_attached()
    assert accessibility_problems(page) == []
    screenshot(page, artifacts, "outcomes-milestones")
