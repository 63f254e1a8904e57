"""Hostile text in every field people write never runs in the browser: it shows as text.

The demo company's text fields are filled with a corpus of XSS payloads (script tags, event
handlers, javascript: URLs, SVG and MathML tricks, attribute breakouts), then Chromium opens
every main page. A payload that ran would open a dialog, set `window.__xss`, or leave an
element carrying `data-xss` in the page; none may happen, and the payloads must be readable
as the text they are. The Content-Security-Policy would block most inline scripts anyway;
these tests check the escaping underneath it, so they look for injected elements too.
"""

from __future__ import annotations

import datetime as dt
from itertools import cycle
from typing import TYPE_CHECKING

import pytest

from core.models import Cycle, Profile
from dependencies.models import Dependency
from journeys.models import Journey, Segment, Stage
from planning import services
from planning.models import Finding
from squads.models import OKR, CheckIn, Goal, Initiative, KeyResult, ObjectiveGoal, Plan, Squad
from tests import test_browser
from tests.test_browser import expect, screenshot, sign_in

# The browser tests' fixtures: one Chromium, the live server with the demo, a signed-out page.
browser = test_browser.browser
artifacts = test_browser.artifacts
demo = test_browser.demo
page = test_browser.page

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.browser

PAYLOADS = [
    '<script data-xss>window.__xss = "script"</script>',
    "<img src=x data-xss onerror=\"window.__xss = 'img'\">",
    '"><svg data-xss onload="window.__xss = \'svg\'">',
    "'><b data-xss onmouseover='window.__xss = 1'>hover</b>",
    "<a data-xss href=\"javascript:window.__xss = 'link'\">click me</a>",
    "<math><mtext><table><mglyph><style><img data-xss src=x onerror=alert(1)>",
    "<svg><animate data-xss onbegin=\"window.__xss = 'animate'\" attributeName=x dur=1s>",
    "</textarea><iframe data-xss srcdoc=\"<script>parent.__xss='iframe'</script>\"></iframe>",
    "<details data-xss open ontoggle=\"window.__xss = 'details'\">",
    "{{ 7|add:7 }} {% now 'Y' %} ${7*7}",
    '" autofocus onfocus="window.__xss=\'attr\'" x="',
    "<style data-xss>body { display: none }</style>",
]
PAGES = [
    "/journeys/",
    "/journeys/lifecycle/",
    "/squads/",
    "/squads/first-90-days/",
    "/squads/first-90-days/plan/",
    "/board/",
    "/board/graph/",
    "/timeline/",
    "/timeline/?group=stage",
    "/findings/",
    "/notifications/",
    "/people/",
    "/people/priya/",
    "/functions/",
    "/segments/",
    "/goals/",
    "/goals/xss-goal/",
    "/squads/first-90-days/okr/edit/",
]


def fill_every_text_field_with_payloads() -> None:
    """Each text a person writes gets a payload, round robin, straight into the database."""
    payloads = cycle(PAYLOADS)

    def hostile(obj, *names):
        for name in names:
            setattr(obj, name, next(payloads))
        obj.save()

    for journey in Journey.objects.all():
        hostile(journey, "name", "description")
    for segment in Segment.objects.all():
        hostile(segment, "name", "description")
    for stage in Stage.objects.all():
        hostile(stage, "name", "customer_goal", "today", "tomorrow")
    for squad in Squad.objects.all():
        hostile(squad, "name")
    for okr in OKR.objects.all():
        hostile(okr, "objective")
    for kr in KeyResult.objects.all():
        hostile(kr, "name")
        kr.unit = "<b data-xss>%</b>"  # a unit holds 40 characters at most
        kr.save()
    for plan in Plan.objects.all():
        hostile(plan, "current_experience", "desired_experience", "success_metrics")
        plan.not_doing = [next(payloads), next(payloads)]
        plan.save()
    for initiative in Initiative.objects.all():
        hostile(initiative, "title", "description", "counter_measure")
    for dep in Dependency.objects.all():
        hostile(dep, "what", "note")
    for profile in Profile.objects.all():
        hostile(profile, "display_name", "title", "function")
    # A company goal about every segment, which every objective serves; the segments'
    # success outcomes show on its page.
    goal = Goal.objects.create(key="xss-goal", starts_year=2026, ends_year=2028)
    hostile(goal, "name", "description", "customer_success")
    goal.segments.set(Segment.objects.all())
    for segment in Segment.objects.all():
        segment.success_threshold = 80
        segment.success_unit = "<b data-xss>%</b>"  # 20 characters at most
        hostile(segment, "success_metric")
    for okr in OKR.objects.all():
        ObjectiveGoal.objects.create(okr=okr, goal=goal)
    author = Profile.objects.first().user
    for kr in KeyResult.objects.all()[:2]:
        CheckIn.objects.create(
            key_result=kr, value=1, confidence=5, note=next(payloads), author=author
        )
    # The review quotes titles and names in its findings and notifications.
    services.review_run(
        cycle=Cycle.objects.get(key="fy2027"), today=dt.date(2027, 2, 20), trigger="command"
    )


def assert_nothing_ran(page: Page, url: str) -> None:
    assert page.evaluate("window.__xss === undefined"), f"a payload ran on {url}"
    injected = page.evaluate(
        "Array.from(document.querySelectorAll('[data-xss]')).map(e => e.outerHTML.slice(0, 120))"
    )
    assert not injected, f"payload markup became elements on {url}: {injected}"


def test_payloads_in_every_field_show_as_text_and_never_run(page: Page, artifacts):
    fill_every_text_field_with_payloads()
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    sign_in(page, "admin")

    for url in PAGES:
        page.goto(url)
        page.mouse.move(200, 300)
        page.keyboard.press("Tab")
        assert_nothing_ran(page, url)
    screenshot(page, artifacts, "xss-notifications")

    page.goto("/squads/first-90-days/plan/")
    text = page.locator("main").inner_text()
    plan = Plan.objects.get(squad__key="first-90-days")
    for written in (plan.current_experience, plan.desired_experience, plan.success_metrics):
        assert written in text, f"{written!r} does not read as text on the plan page"
    screenshot(page, artifacts, "xss-plan")

    finding = Finding.objects.filter(rule="similar_initiatives").first()
    if finding is not None:
        page.goto(f"/findings/{finding.pk}/")
        assert_nothing_ran(page, "the finding page")
    assert not dialogs, f"dialogs opened: {dialogs}"


def test_a_payload_typed_into_a_plan_section_is_saved_and_shown_as_typed(page: Page):
    sign_in(page, "priya")
    page.goto("/squads/first-90-days/plan/")
    section = page.locator("#desired-experience")
    section.get_by_role("link", name="Edit desired customer experience").click()
    typed = PAYLOADS[1] + " " + PAYLOADS[2]
    section.get_by_role("textbox").fill(typed)
    section.get_by_role("button", name="Save").click()

    expect(section).to_contain_text(typed)
    assert_nothing_ran(page, "the plan after saving")
    page.reload()
    expect(page.locator("#desired-experience")).to_contain_text(typed)
    assert_nothing_ran(page, "the plan after reloading")
    assert Plan.objects.get(squad__key="first-90-days").desired_experience == typed
