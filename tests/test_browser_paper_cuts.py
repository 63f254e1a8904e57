"""Answering a dependency and working a comment thread in a real browser (Playwright, Debian's
chromium), on the demo company: accepting names an owner, at risk asks why, and a comment's
author edits it in place while the squad resolves the thread. Screenshots go where
tests/test_browser.py puts its own."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from django.contrib.auth import get_user_model

from dependencies import services as dependency_services
from dependencies.models import Dependency
from planning.models import Notification
from squads import cowriting
from squads.models import Comment, Squad
from tests import test_browser
from tests.test_browser import SQUAD, accessibility_problems, expect, screenshot, sign_in

# The browser tests' fixtures: one Chromium, the live server with the demo, a signed-out page.
browser = test_browser.browser
artifacts = test_browser.artifacts
demo = test_browser.demo
page = test_browser.page

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.browser


def _awareness() -> Dependency:
    squad = Squad.objects.get(key=SQUAD)
    return dependency_services.dependency_create(
        by=squad.dri,
        from_squad=squad,
        to_squad=Squad.objects.get(key="marketing-education"),
        what="Awareness content for the onboarding assessment",
        due=dt.date(2027, 3, 1),
        blocking=True,
    )


def test_operations_accepts_naming_the_owner_and_the_provider_marks_it_at_risk_with_a_reason(
    page: Page, artifacts: Path
):
    dep = _awareness()
    # Sam (operations) answers from outside Marketing Education: Accept… asks whom to name.
    sign_in(page, "sam")
    page.goto("/board/")
    row = page.locator(f"#dep-{dep.key}")
    expect(row.get_by_role("cell").nth(6)).to_have_text("—")
    page.evaluate("window.stillTheSamePage = true")
    row.get_by_role("link", name=re.compile("^Accept")).click()
    form = page.locator(f"#dep-{dep.key} form.answer-form")
    owner = form.get_by_label("Owner on the provider side")
    expect(owner).to_be_visible()
    assert owner.locator("option").all_inner_texts() == ["Nobody yet", "Nina Alvarez"]
    owner.select_option(label="Nina Alvarez")
    screenshot(page, artifacts, "board-accept-naming-the-owner")
    form.get_by_role("button", name="Accept").click()
    row = page.locator(f"#dep-{dep.key}")
    expect(row.locator(".badge--accepted")).to_have_text("Accepted")
    expect(row.get_by_role("cell").nth(6)).to_have_text("Nina Alvarez")
    assert page.evaluate("window.stillTheSamePage") is True
    dep.refresh_from_db()
    assert dep.owner.username == "nina"

    # Nina, the provider, marks it at risk: the row asks why, and will not go on without it.
    page.context.clear_cookies()
    sign_in(page, "nina")
    page.goto("/board/")
    row = page.locator(f"#dep-{dep.key}")
    row.get_by_role("link", name=re.compile("^At risk")).click()
    form = page.locator(f"#dep-{dep.key} form.answer-form")
    reason = form.get_by_label("Why is it at risk?")
    expect(reason).to_be_focused()
    reason.fill("   ")
    form.get_by_role("button", name="Mark at risk").click()
    expect(page.locator(f"#dep-{dep.key} .errorlist")).to_contain_text("Say why it is at risk")
    dep.refresh_from_db()
    assert dep.status == "accepted"
    page.locator(f"#dep-{dep.key}").get_by_label("Why is it at risk?").fill(
        "The video agency moved our <shoot> to April"
    )
    page.locator(f"#dep-{dep.key}").get_by_role("button", name="Mark at risk").click()
    row = page.locator(f"#dep-{dep.key}")
    expect(row.locator(".badge--at_risk")).to_have_text("At risk")
    expect(row.locator(".dep-reason")).to_have_text("The video agency moved our <shoot> to April")
    screenshot(page, artifacts, "board-at-risk-with-its-reason")
    assert accessibility_problems(page) == []

    # Priya, whose squad needs it, is told why, and reads it on her plan.
    told = Notification.objects.get(recipient__username="priya", dependency=dep)
    assert "“The video agency moved our <shoot> to April”" in told.message
    page.context.clear_cookies()
    sign_in(page, "priya")
    page.goto(f"/squads/{SQUAD}/plan/")
    needs = page.locator("#dependencies tr", has_text="Awareness content")
    expect(needs.locator(".dep-reason")).to_have_text("The video agency moved our <shoot> to April")
    expect(needs.get_by_role("cell").nth(5)).to_have_text("Nina Alvarez")


def test_the_provider_who_accepts_becomes_the_owner(page: Page):
    dep = _awareness()
    sign_in(page, "nina")
    page.goto("/board/")
    row = page.locator(f"#dep-{dep.key}")
    row.get_by_role("button", name=re.compile("^Accept")).click()
    expect(row.get_by_role("cell").nth(6)).to_have_text("Nina Alvarez")
    history = Dependency.objects.get(pk=dep.pk).history.first()
    assert history.history_change_reason == "Accepted; Nina Alvarez owns it now"


def test_the_author_edits_a_comment_in_place_and_the_squad_resolves_the_thread(
    page: Page, artifacts: Path
):
    squad = Squad.objects.get(key=SQUAD)
    ada = get_user_model().objects.get(username="ada")
    comment = cowriting.comment_add(
        squad=squad,
        body="Day 1 could open with the assessment.",
        by=ada,
        section="desired_experience",
    )

    sign_in(page, "ada")
    page.goto(f"/squads/{SQUAD}/plan/")
    thread = page.locator("#comments-desired-experience")
    thread.locator("summary").click()
    item = page.locator(f"#comment-{comment.pk}")
    item.get_by_role("link", name="Edit").click()
    box = page.locator("#comments-desired-experience").get_by_label("Edit your comment")
    expect(box).to_have_value("Day 1 could open with the assessment.")
    box.fill("Day 1 could open with the <assessment>, @omar?")
    page.locator("#comments-desired-experience").get_by_role("button", name="Save").click()
    item = page.locator(f"#comment-{comment.pk}")
    expect(item.locator(".comment__body")).to_have_text(
        "Day 1 could open with the <assessment>, @omar?"
    )
    expect(item.get_by_role("link", name="edited")).to_be_visible()
    assert Notification.objects.filter(recipient__username="omar", comment=comment).count() == 1

    # The texts it had, behind the "edited" mark.
    item.get_by_role("link", name="edited").click()
    expect(page.get_by_text("Day 1 could open with the assessment.")).to_be_visible()
    expect(page.get_by_text("Day 1 could open with the <assessment>, @omar?")).to_be_visible()

    # Priya, a member, resolves the thread: it folds, saying who resolved it.
    page.context.clear_cookies()
    sign_in(page, "priya")
    page.goto(f"/squads/{SQUAD}/plan/")
    thread = page.locator("#comments-desired-experience")
    expect(item.get_by_role("link", name="Edit")).to_be_hidden()  # not hers to edit
    thread.locator("summary").click()
    thread.get_by_role("button", name="Resolve the thread").click()
    thread = page.locator("#comments-desired-experience")
    expect(thread.locator("summary")).to_contain_text("Resolved by Priya Shah")
    expect(thread.get_by_role("button", name="Resolve the thread")).to_be_hidden()
    screenshot(page, artifacts, "plan-thread-resolved")
    thread.locator("summary").click()
    thread.get_by_role("button", name="Reopen the thread").click()
    expect(page.locator("#comments-desired-experience summary")).not_to_contain_text("Resolved")
    assert Comment.objects.get(pk=comment.pk).resolved_at is None
    assert accessibility_problems(page) == []
