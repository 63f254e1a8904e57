"""Editing in place and reordering by keyboard and by mouse, in a real browser (Playwright,
Debian's chromium), as docs/keyboard.md promises.

Priya (the First 90 Days squad's DRI, in leadership) edits her plan and the journey map with
the keyboard alone: an editor opens with the caret after its text, Ctrl+Enter (or Cmd+Enter)
saves, Esc cancels but never drops what she typed without asking, and after each the focus
is back on the part she edited and the live region says what happened. She reorders the
journey's stages and her squad's initiatives by keyboard and by dragging, and the order is
still there after a reload.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from django.contrib.auth import get_user_model

from journeys.models import Journey, Stage
from journeys.services import stage_order_set
from squads.models import Comment, Initiative, Plan
from squads.services import INITIATIVE_ORDER, plan_section_update
from tests.test_browser import (  # the shared browser, live server, demo data and helpers
    JOURNEY,
    SQUAD,
    accessibility_problems,
    artifacts,  # noqa: F401 - a fixture
    browser,  # noqa: F401 - a fixture
    demo,  # noqa: F401 - a fixture
    expect,
    opened_page,
    screenshot,
    sign_in,
)

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Locator, Page

pytestmark = pytest.mark.browser

PLAN = f"/squads/{SQUAD}/plan/"
MAP = f"/journeys/{JOURNEY}/"
ESC_WARNING = "You have unsaved changes. Press Esc again to discard them, or Ctrl+Enter to save."


@pytest.fixture
def page(browser: Browser, live_server, demo) -> Iterator[Page]:  # noqa: F811
    """A page of the demo company, signed in as Priya."""
    with opened_page(browser, live_server.url) as opened:
        sign_in(opened, "priya")
        yield opened


def status(tab: Page) -> Locator:
    """The live region the pages say each outcome in."""
    return tab.locator("#keys-status")


def caret(field: Locator) -> tuple[int, int, int]:
    """Where the caret is in a field: its selection's start and end, and the text's length."""
    return tuple(field.evaluate("f => [f.selectionStart, f.selectionEnd, f.value.length]"))


def assert_caret_at_end(field: Locator) -> None:
    start, end, length = caret(field)
    assert length > 0, "the field should hold the saved text"
    assert (start, end) == (length, length), f"caret at {start}-{end} of {length}"


def plan_text(section: str) -> str:
    return getattr(Plan.objects.get(squad__key=SQUAD), section)


def assert_accessible(tab: Page) -> None:
    problems = accessibility_problems(tab)
    assert not problems, "\n\n".join(problems)


# --- editing in place -----------------------------------------------------------------------


def test_a_section_opens_with_the_caret_at_the_end_and_ctrl_enter_saves_it(
    page: Page,
    artifacts: Path,  # noqa: F811
):
    page.goto(PLAN)
    section = page.locator("#success-metrics")
    edit = section.get_by_role("link", name="Edit shared success metrics")
    edit.focus()
    page.keyboard.press("Enter")

    box = section.locator("textarea[name=text]")
    expect(box).to_be_focused()
    assert_caret_at_end(box)
    before = plan_text("success_metrics")
    # Typing goes after the text: the caret was at its end.
    page.keyboard.type(" Every customer knows whom to ask.")
    page.keyboard.press("Control+Enter")

    expect(box).to_have_count(0)
    expect(status(page)).to_have_text("Saved.")
    expect(edit).to_be_focused()
    assert plan_text("success_metrics") == before + " Every customer knows whom to ask."
    screenshot(page, artifacts, "keys-section-saved")
    assert_accessible(page)


def test_keys_pressed_while_the_editor_is_still_settling_cancel_and_save_in_place(page: Page):
    # A quick hand presses Esc or Ctrl+Enter the moment the editor appears, before htmx has
    # wired its links and buttons: they still cancel and save in place.
    page.goto(PLAN)
    page.evaluate("htmx.config.defaultSettleDelay = 1500")
    section = page.locator("#current-experience")
    edit = section.get_by_role("link", name="Edit current customer experience")
    box = section.locator("textarea[name=text]")
    before = plan_text("current_experience")

    edit.click()
    expect(box).to_be_focused()
    page.keyboard.press("Escape")
    expect(box).to_have_count(0)
    expect(status(page)).to_have_text("Cancelled. Nothing was saved.")

    edit.click()
    expect(box).to_be_focused()
    page.keyboard.type(" Said at once.")
    page.keyboard.press("Control+Enter")
    expect(box).to_have_count(0)
    expect(status(page)).to_have_text("Saved.")
    assert plan_text("current_experience") == before + " Said at once."
    assert page.url.endswith(PLAN), "the page itself was left or reloaded"


def test_a_field_chosen_before_the_editor_settles_keeps_the_focus(page: Page):
    # The editor's first field gets the caret as the swap settles; someone who already went
    # on to another field keeps typing there.
    page.goto(PLAN)
    page.evaluate("htmx.config.defaultSettleDelay = 1500")
    key = "onboarding-wizard"
    card = page.locator(f"#initiative-{key}")
    title = Initiative.objects.get(squad__key=SQUAD, key=key).title
    card.get_by_role("link", name=f"Edit {title}").click()
    headcount = card.get_by_label("Headcount", exact=True)
    headcount.focus()
    # Past the settle: the caret would have been moved to the title by then.
    page.wait_for_timeout(1800)
    expect(headcount).to_be_focused()
    page.keyboard.press("ControlOrMeta+a")
    page.keyboard.type("4")
    page.keyboard.press("Control+Enter")

    expect(card.get_by_role("button", name="Save initiative")).to_have_count(0)
    saved = Initiative.objects.get(squad__key=SQUAD, key=key)
    assert (saved.title, saved.headcount) == (title, 4)


def test_esc_cancels_and_asks_before_dropping_what_was_typed(page: Page):
    page.goto(PLAN)
    section = page.locator("#current-experience")
    edit = section.get_by_role("link", name="Edit current customer experience")
    before = plan_text("current_experience")

    # Nothing typed: Esc closes the editor at once, and the focus is back on Edit.
    edit.click()
    box = section.locator("textarea[name=text]")
    expect(box).to_be_focused()
    page.keyboard.press("Escape")
    expect(box).to_have_count(0)
    expect(status(page)).to_have_text("Cancelled. Nothing was saved.")
    expect(edit).to_be_focused()

    # Something typed: the first Esc only warns, and the words stay.
    edit.click()
    expect(box).to_be_focused()
    page.keyboard.type(" A draft worth keeping.")
    page.keyboard.press("Escape")
    expect(section.locator(".edit-keys__hint")).to_have_text(ESC_WARNING)
    expect(status(page)).to_have_text(ESC_WARNING)
    expect(box).to_have_value(before + " A draft worth keeping.")
    expect(box).to_be_focused()
    assert_accessible(page)

    # Typing again takes the warning back: the next Esc warns again.
    page.keyboard.type(" More.")
    expect(section.locator(".edit-keys__hint")).to_have_count(0)
    page.keyboard.press("Escape")
    expect(box).to_have_value(before + " A draft worth keeping. More.")

    # A second Esc discards the draft, as warned; nothing was saved.
    page.keyboard.press("Escape")
    expect(box).to_have_count(0)
    expect(edit).to_be_focused()
    assert plan_text("current_experience") == before


def test_a_save_that_meets_a_newer_version_says_so_and_keeps_the_draft(page: Page):
    page.goto(PLAN)
    section = page.locator("#desired-experience")
    section.get_by_role("link", name="Edit desired customer experience").click()
    box = section.locator("textarea[name=text]")
    expect(box).to_be_focused()
    page.keyboard.type(" Priya's words.")

    # Ada saves the same section meanwhile.
    plan = Plan.objects.get(squad__key=SQUAD)
    ada = get_user_model().objects.get(username="ada")
    plan_section_update(
        squad=plan.squad,
        section="desired_experience",
        text="Ada's version of tomorrow.",
        by=ada,
        version=plan.desired_experience_version,
    )
    page.keyboard.press("Control+Enter")

    expect(section.locator(".conflict")).to_be_visible()
    expect(status(page)).to_contain_text("Ada Okafor saved this section")
    expect(status(page)).to_contain_text("your draft is kept")
    # The caret is in the text to save, and Esc does not throw the draft away unasked.
    expect(section.locator("textarea[name=text]")).to_be_focused()
    page.keyboard.press("Escape")
    expect(section.locator(".edit-keys__hint")).to_have_text(ESC_WARNING)
    expect(section.locator(".conflict")).to_be_visible()
    assert plan_text("desired_experience") == "Ada's version of tomorrow."
    assert_accessible(page)


def test_cmd_enter_saves_an_initiative_and_the_focus_returns_to_its_edit_button(page: Page):
    """Cmd+Enter, as on a Mac; through a refusal first, which keeps the focus in the form."""
    page.goto(PLAN)
    card = page.locator("#initiative-assessment-tool")
    title = Initiative.objects.get(squad__key=SQUAD, key="assessment-tool").title
    edit = card.get_by_role("link", name=f"Edit {title}")
    edit.click()

    field = card.get_by_label("Title", exact=True)
    expect(field).to_be_focused()
    assert_caret_at_end(field)
    page.keyboard.type(" (pilot)")
    page.keyboard.press("Meta+Enter")

    # It leans to the customer: the plan asks for a counter-measure first. That is said, and
    # the caret is in the field to fill.
    expect(status(page)).to_contain_text("name a counter-measure")
    counter_measure = card.locator("[aria-invalid=true]")
    expect(counter_measure).to_be_focused()
    page.keyboard.type("The CS team's weekly load.")
    page.keyboard.press("Meta+Enter")

    expect(card.get_by_label("Title", exact=True)).to_have_count(0)
    expect(status(page)).to_have_text("Saved.")
    expect(card.get_by_role("link", name=f"Edit {title} (pilot)")).to_be_focused()
    assert Initiative.objects.get(squad__key=SQUAD, key="assessment-tool").title == (
        f"{title} (pilot)"
    )


def test_a_comment_posts_with_ctrl_enter_and_is_said(page: Page):
    page.goto(PLAN)
    thread = page.locator("#comments-not-doing")
    thread.locator("summary").click()
    thread.get_by_label("Add a comment").fill("Agreed: no webinars this cycle.")
    thread.get_by_label("Add a comment").press("Control+Enter")

    expect(thread.locator(".comment__body")).to_have_text("Agreed: no webinars this cycle.")
    expect(status(page)).to_have_text("Comment posted.")
    expect(page.locator("#comments-not-doing summary")).to_be_focused()
    assert Comment.objects.filter(body="Agreed: no webinars this cycle.").count() == 1


def test_a_moment_saves_by_keyboard_and_the_focus_returns_to_that_moment(page: Page):
    page.goto(MAP)
    onboarding = page.locator("#stage-list > [data-key=onboarding]")
    edit = onboarding.get_by_role("link", name="Edit the Week 2 moment")
    edit.focus()
    page.keyboard.press("Enter")

    field = onboarding.get_by_label("When")
    expect(field).to_be_focused()
    assert_caret_at_end(field)
    page.keyboard.type(", first login")
    page.keyboard.press("Control+Enter")

    moment = onboarding.get_by_role("link", name="Edit the Week 2, first login moment")
    expect(moment).to_be_focused()
    expect(status(page)).to_have_text("Saved.")
    assert_accessible(page)


# --- reordering -------------------------------------------------------------------------------


def stage_names(tab: Page) -> list[str]:
    return tab.locator("#stage-list > [data-reorder-item]").evaluate_all(
        "items => items.map(item => item.dataset.name)"
    )


def saved_stages() -> list[str]:
    return list(
        Stage.objects.filter(journey__key=JOURNEY)
        .order_by("position", "id")
        .values_list("name", flat=True)
    )


DEMO_STAGES = ["Acquisition", "Onboarding", "Adoption", "Expansion", "Renewal", "Advocacy"]


def test_stages_move_by_keyboard_and_stay_moved_after_a_reload(page: Page):
    page.goto(MAP)
    assert stage_names(page) == DEMO_STAGES
    handle = page.get_by_role("button", name="Reorder Adoption")

    # Alt+Arrow moves it one place at once.
    handle.focus()
    page.keyboard.press("Alt+ArrowLeft")
    expect(status(page)).to_have_text("Saved. Adoption, 2 of 6.")
    expect(handle).to_be_focused()
    assert stage_names(page) == ["Acquisition", "Adoption", "Onboarding", *DEMO_STAGES[3:]]

    # Space picks it up, the arrows move it, Space drops it.
    page.keyboard.press("Space")
    expect(handle).to_have_attribute("aria-pressed", "true")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    expect(status(page)).to_have_text("Adoption, 5 of 6.")
    page.keyboard.press("Space")
    expect(status(page)).to_have_text("Saved. Adoption, 5 of 6.")
    expect(handle).to_be_focused()

    # Esc puts a picked-up stage back where it was, and nothing is saved.
    page.keyboard.press("Space")
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("Escape")
    expect(status(page)).to_have_text("Put back. Adoption, 5 of 6.")

    moved = ["Acquisition", "Onboarding", "Expansion", "Renewal", "Adoption", "Advocacy"]
    assert saved_stages() == moved
    page.reload()
    assert stage_names(page) == moved
    assert_accessible(page)


def test_stages_move_by_dragging_with_the_mouse_and_stay_moved_after_a_reload(page: Page):
    page.goto(MAP)
    page.get_by_role("button", name="Reorder Renewal").drag_to(
        page.locator("#stage-list > [data-name=Onboarding]")
    )
    expect(status(page)).to_have_text("Saved. Renewal, 2 of 6.")
    moved = ["Acquisition", "Renewal", "Onboarding", "Adoption", "Expansion", "Advocacy"]
    assert stage_names(page) == moved
    # The curve joins each stage to its neighbours: it is drawn again for the new order,
    # as a fresh page draws it, without a reload.
    fresh = page.context.new_page()
    fresh.goto(MAP)
    drawn = fresh.locator(".stage-curve").evaluate_all("parts => parts.map(p => p.innerHTML)")
    fresh.close()
    page.wait_for_function(
        "drawn => Array.from(document.querySelectorAll('.stage-curve'), p => p.innerHTML)"
        ".join('|') === drawn.join('|')",
        arg=drawn,
    )
    page.reload()
    assert stage_names(page) == moved
    assert saved_stages() == moved


def saved_initiatives(function: str = "Product") -> list[str]:
    return list(
        Initiative.objects.filter(squad__key=SQUAD, function=function)
        .order_by(*INITIATIVE_ORDER)
        .values_list("key", flat=True)
    )


def group_of(tab: Page, key: str) -> list[str]:
    return tab.locator(f"#initiative-{key}").evaluate(
        "li => Array.from(li.parentElement.children).map(item => item.dataset.key)"
    )


def test_initiatives_move_by_keyboard_and_by_dragging_and_stay_moved(page: Page):
    page.goto(PLAN)
    assert group_of(page, "assessment-tool") == ["assessment-tool", "onboarding-wizard"]
    title = Initiative.objects.get(squad__key=SQUAD, key="assessment-tool").title
    handle = page.get_by_role("button", name=f"Reorder {title}")

    handle.focus()
    page.keyboard.press("Alt+ArrowDown")
    expect(status(page)).to_contain_text(", 2 of 2.")
    expect(status(page)).to_contain_text("Saved.")
    expect(handle).to_be_focused()
    assert saved_initiatives() == ["onboarding-wizard", "assessment-tool"]
    page.reload()
    assert group_of(page, "assessment-tool") == ["onboarding-wizard", "assessment-tool"]

    # And back, by dragging it above the wizard.
    page.get_by_role("button", name=f"Reorder {title}").drag_to(
        page.locator("#initiative-onboarding-wizard")
    )
    expect(status(page)).to_contain_text(", 1 of 2.")
    page.reload()
    assert group_of(page, "assessment-tool") == ["assessment-tool", "onboarding-wizard"]
    assert saved_initiatives() == ["assessment-tool", "onboarding-wizard"]
    assert_accessible(page)


def test_the_arrow_buttons_keep_the_focus_on_the_moved_initiative(page: Page):
    page.goto(PLAN)
    title = Initiative.objects.get(squad__key=SQUAD, key="assessment-tool").title
    page.get_by_role("button", name=f"Move {title} down").click()
    # Now last of its function: no further down, so the focus is on its way back up.
    expect(page.get_by_role("button", name=f"Move {title} up")).to_be_focused()
    expect(status(page)).to_have_text(f"{title}, 2 of 2.")
    assert saved_initiatives() == ["onboarding-wizard", "assessment-tool"]


def test_goals_and_milestones_move_by_keyboard_and_by_dragging(page: Page):
    page.goto("/goals/")
    goals = page.locator(".goal-list > [data-reorder-item]")
    expect(goals.first).to_have_attribute("data-key", "customer-success")
    page.get_by_role("button", name="Reorder Every customer reaches").focus()
    page.keyboard.press("Alt+ArrowDown")
    expect(status(page)).to_contain_text(
        "Saved. Every customer reaches the value they bought us for, 2 of 3."
    )
    assert_accessible(page)
    page.reload()
    expect(goals.nth(1)).to_have_attribute("data-key", "customer-success")

    page.goto("/segments/mid-market/milestones/")
    rows = page.locator("tbody[data-reorder] > tr")
    first = rows.first.get_attribute("data-key")
    last = rows.last.get_attribute("data-key")
    page.get_by_role("button", name=f"Reorder {rows.last.get_attribute('data-name')}").drag_to(
        rows.first
    )
    expect(status(page)).to_contain_text(", 1 of 5.")
    assert_accessible(page)
    page.reload()
    expect(rows.first).to_have_attribute("data-key", last)
    expect(rows.nth(1)).to_have_attribute("data-key", first)


def test_a_new_initiative_added_by_keyboard_gets_the_focus(page: Page):
    page.goto(PLAN)
    page.locator("#initiatives").get_by_role("link", name="Add an initiative").focus()
    page.keyboard.press("Enter")
    form = page.locator("#new-initiative form")
    expect(form.get_by_label("Title", exact=True)).to_be_focused()
    page.keyboard.type("Renewal health score")
    form.get_by_label("Key", exact=True).fill("renewal-health")
    form.get_by_label("Function").fill("Operations")
    form.get_by_label("Starts").fill("2027-04-01")
    form.get_by_label("Ends").fill("2027-06-30")
    form.get_by_label("Headcount").fill("1")
    form.get_by_label("Ends").press("Control+Enter")

    expect(page.locator("#initiative-renewal-health")).to_contain_text("Renewal health score")
    expect(status(page)).to_have_text("Saved.")
    expect(page.get_by_role("link", name="Edit Renewal health score")).to_be_focused()


def test_the_squad_page_and_the_segments_page_edit_by_keyboard_too(page: Page):
    page.goto(f"/squads/{SQUAD}/")
    objective = page.locator("#objective")
    edit = objective.get_by_role("link", name="Edit")
    edit.focus()
    page.keyboard.press("Enter")
    field = objective.get_by_label("Objective")
    expect(field).to_be_focused()
    assert_caret_at_end(field)
    page.keyboard.type(", for every segment")
    page.keyboard.press("Control+Enter")
    expect(objective).to_contain_text("first 90 days, for every segment")
    expect(status(page)).to_have_text("Saved.")
    expect(edit).to_be_focused()

    # A key result: Esc with nothing typed closes it and the focus is on its Edit again.
    card = page.locator("#kr-activation")
    card.get_by_role("link", name="Edit Day-90 activation rate").click()
    expect(card.get_by_label("Name")).to_be_focused()
    page.keyboard.press("Escape")
    expect(card.get_by_label("Name")).to_have_count(0)
    expect(card.get_by_role("link", name="Edit Day-90 activation rate")).to_be_focused()
    assert_accessible(page)

    # The segments page's Cancel redraws the segment in place, without a reload.
    page.goto("/segments/")
    segment = page.locator(".setup-item", has_text="Mid-market SaaS teams").first
    segment.get_by_role("link", name="Edit Mid-market SaaS teams").click()
    expect(segment.get_by_label("Name")).to_be_focused()
    page.keyboard.press("Escape")
    expect(segment.get_by_label("Name")).to_have_count(0)
    expect(status(page)).to_have_text("Cancelled. Nothing was saved.")
    expect(segment.get_by_role("link", name="Edit Mid-market SaaS teams")).to_be_focused()


def test_a_move_from_a_page_drawn_before_someone_elses_takes_their_order(page: Page):
    page.goto(MAP)
    assert stage_names(page) == DEMO_STAGES
    # Someone else puts Advocacy first meanwhile.
    keys = list(
        Stage.objects.filter(journey__key=JOURNEY)
        .order_by("position")
        .values_list("key", flat=True)
    )
    stage_order_set(journey=Journey.objects.get(key=JOURNEY), keys=[keys[-1], *keys[:-1]], was=keys)

    page.get_by_role("button", name="Reorder Onboarding").focus()
    page.keyboard.press("Alt+ArrowRight")
    expect(status(page)).to_have_text(
        "Someone else changed this order after the page was drawn. Nothing was moved: "
        "the list now shows their order."
    )
    theirs = ["Advocacy", *DEMO_STAGES[:-1]]
    assert stage_names(page) == theirs
    assert saved_stages() == theirs


def test_removing_a_touchpoint_is_asked_with_the_focus_on_keep_it_and_esc_keeps_it(page: Page):
    from journeys.models import Touchpoint

    touchpoint = Touchpoint.objects.filter(moment__stage__journey__key=JOURNEY).first()
    assert touchpoint is not None, "the demo's journey has touchpoints"
    page.goto(MAP)
    remove = page.get_by_role(
        "link",
        name=f"Remove the {touchpoint.get_channel_display()} touchpoint of {touchpoint.speaker}",
    )
    remove.click()
    keep = page.get_by_role("link", name="Keep it")
    expect(keep).to_be_focused()

    page.keyboard.press("Escape")

    expect(keep).to_have_count(0)
    expect(status(page)).to_have_text("Cancelled. Nothing was saved.")
    edit = page.get_by_role(
        "link",
        name=f"Edit the {touchpoint.get_channel_display()} touchpoint of {touchpoint.speaker}",
    )
    expect(edit).to_be_focused()
    assert Touchpoint.objects.filter(pk=touchpoint.pk).exists()


def test_the_new_journey_form_folds_away_with_esc_asking_first_when_typed_in(page: Page):
    page.goto("/journeys/")
    page.get_by_text("New journey", exact=True).first.click()
    name = page.get_by_label("Journey name", exact=True)
    name.fill("Partner onboarding")

    name.press("Escape")
    expect(page.locator(".edit-keys__hint")).to_have_text(ESC_WARNING)
    name.press("Escape")

    summary = page.locator("#new-journey > summary")
    expect(page.locator("#new-journey")).not_to_have_attribute("open", "")
    expect(summary).to_be_focused()
    expect(status(page)).to_have_text("Cancelled. Nothing was saved.")
    assert not Journey.objects.filter(name="Partner onboarding").exists()
    # Opened again, it is empty: what was typed was discarded, as Esc said.
    summary.click()
    expect(name).to_have_value("")
