"""Real-browser tests: Playwright drives Debian's chromium against a live server.

Each test loads the demo company (the First 90 Days worked example) and signs in on the
login page as a person would, then asserts what that person sees. The pages are also saved as
full-page screenshots in var/artifacts/screenshots/ (or $THROUGHLINE_ARTIFACTS_DIR), which are
not committed, and checked with axe-core (the npm package pinned in package.json, which
`make test` installs): a serious or critical accessibility violation fails the run.

Marked `browser`: without Chromium, Playwright or axe-core these tests are skipped, except on
CI, where that is a failure (tests/conftest.py).
"""

from __future__ import annotations

import datetime as dt
import io
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from django.core.management import call_command

from dependencies import services as dependency_services
from dependencies.models import Dependency
from squads.models import Plan, Squad
from tests.conftest import AXE_CORE, CHROMIUM, ROOT

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = pytest.mark.browser

PASSWORD = "throughline-demo"  # load_demo's default for every demo user and admin
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 15_000
JOURNEY = "lifecycle"
SQUAD = "first-90-days"
SQUAD_NAME = "First 90 Days Experience Squad"
# The worked example's three memos: the same onboarding problem solved three ways.
MEMOS = (
    "Launch new onboarding program to improve activation",
    "Improve product-led onboarding",
    "Drive product adoption through education",
)
MAIN_PAGES = {
    "journeys": "/journeys/",
    "journey": f"/journeys/{JOURNEY}/",
    "squads": "/squads/",
    "squad": f"/squads/{SQUAD}/",
    "plan": f"/squads/{SQUAD}/plan/",
    "board": "/board/",
    "graph": "/board/graph/",
    "timeline": "/timeline/",
    "findings": "/findings/",
    "people": "/people/",
    "person": "/people/priya/",
    "functions": "/functions/",
    "segments": "/segments/",
}
NAV_LINKS = ["Journeys", "Squads", "Board", "Graph", "Timeline", "Findings"]
BLOCKING_IMPACTS = ("critical", "serious")
# Where the pages load axe-core from. The app never serves it: each test's browser context
# answers it with node_modules/axe-core/axe.min.js. A same-origin script passes the app's
# Content-Security-Policy (script-src 'self' plus a nonce), which refuses inline scripts, so
# the pages are checked exactly as they are served, CSP and all.
AXE_URL = "/__test__/axe.min.js"


# --- the browser, the server and the data -------------------------------------------------


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One Chromium for all the browser tests, each test in a fresh context of its own.

    Module-scoped, and every browser test is in this module, so a run starts Chromium once.
    Not session-scoped on purpose: while Playwright's sync API is alive it keeps an asyncio
    loop marked running on this thread, which would leak into every later test module
    (Django then refuses ORM calls there, and asyncio.run() fails).
    """
    from playwright.sync_api import sync_playwright

    # The running loop makes Django treat this thread as async and refuse the ORM; the tests
    # are plain synchronous code (the live server answers from its own thread).
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            try:
                yield launched
            finally:
                launched.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture(scope="module")
def artifacts() -> Path:
    folder = Path(
        os.environ.get("THROUGHLINE_ARTIFACTS_DIR") or ROOT / "var" / "artifacts" / "screenshots"
    )
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def demo(live_server) -> None:
    """The demo company, committed (live_server makes the test transactional)."""
    # Tests run with DEBUG off, which load_demo refuses without this flag.
    call_command("load_demo", "--allow-production", stdout=io.StringIO())


@contextmanager
def opened_page(browser: Browser, base_url: str, **options) -> Iterator[Page]:
    """A page in a fresh browser context on `base_url` (1280 × 900 unless `options`, passed
    to the context, say otherwise); on leaving, fails on any JavaScript error or
    Content-Security-Policy violation the pages raised meanwhile."""
    options = {"viewport": {"width": 1280, "height": 900}, "locale": "en-GB", **options}
    context = browser.new_context(base_url=base_url, **options)
    context.set_default_timeout(TIMEOUT_MS)
    context.route(
        f"**{AXE_URL}",
        lambda route: route.fulfill(body=axe_source(), content_type="text/javascript"),
    )
    opened = context.new_page()
    script_errors: list[str] = []
    opened.on("pageerror", lambda error: script_errors.append(str(error)))
    # Chromium reports what the Content-Security-Policy refused as console errors.
    csp_violations: list[str] = []
    opened.on(
        "console",
        lambda message: (
            csp_violations.append(message.text)
            if message.type == "error" and "Content Security Policy" in message.text
            else None
        ),
    )
    try:
        yield opened
    finally:
        context.close()
    assert not script_errors, f"JavaScript errors on the pages: {script_errors}"
    assert not csp_violations, f"Content-Security-Policy violations: {csp_violations}"


@pytest.fixture
def page(browser: Browser, live_server, demo) -> Iterator[Page]:
    with opened_page(browser, live_server.url) as opened:
        yield opened


def expect(target):
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(target)


def sign_in(page: Page, username: str, password: str = PASSWORD) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()


def screenshot(page: Page, folder: Path, name: str) -> None:
    page.screenshot(path=folder / f"{name}.png", full_page=True)


@cache
def axe_source() -> str:
    return AXE_CORE.read_text(encoding="utf-8")


def accessibility_problems(page: Page) -> list[str]:
    """The page's serious and critical axe-core violations, one readable block each."""
    if not page.evaluate("'axe' in window"):
        page.add_script_tag(url=AXE_URL)
    result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    problems = []
    for violation in result["violations"]:
        if violation["impact"] not in BLOCKING_IMPACTS:
            continue
        lines = [f"[{violation['impact']}] {violation['id']}: {violation['help']}"]
        for node in violation["nodes"][:8]:
            summary = " ".join(node.get("failureSummary", "").split())
            lines.append(f"    at {' '.join(node['target'])}: {node['html'][:160]}")
            if summary:
                lines.append(f"       {summary[:300]}")
        if len(violation["nodes"]) > 8:
            lines.append(f"    … and {len(violation['nodes']) - 8} more")
        problems.append("\n".join(lines))
    return problems


# --- the flows ------------------------------------------------------------------------------


def test_sign_in_shows_an_error_for_a_wrong_password_then_lands_on_the_app(
    page: Page, artifacts: Path
):
    page.goto("/squads/")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/squads/"))
    screenshot(page, artifacts, "login")

    page.get_by_label("Username").fill("priya")
    page.get_by_label("Password").fill("not her password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("enter a correct username and password")
    expect(page.get_by_role("navigation", name="Main")).to_have_count(0)
    screenshot(page, artifacts, "login-error")

    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/squads/$"))
    nav = page.get_by_role("navigation", name="Main")
    for name in NAV_LINKS:
        expect(nav.get_by_role("link", name=name, exact=True)).to_be_visible()
    expect(page.locator(".whoami")).to_have_text("Priya Shah")
    expect(page.get_by_role("heading", level=1)).to_have_text("Squads")


def test_leadership_forms_a_squad_with_its_dri_and_objective(page: Page, artifacts: Path):
    sign_in(page, "admin")
    page.goto("/squads/")
    page.get_by_role("link", name="New squad").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Form a squad")

    page.get_by_label("Name", exact=True).first.fill("Renewal Squad")
    page.get_by_label("Key", exact=True).first.fill("renewal")
    page.get_by_label("DRI", exact=True).select_option(
        label="Ada Okafor · Director of Lifecycle Marketing"
    )
    page.get_by_label("Objective").fill("Customers renew because they reached value, not by habit")
    screenshot(page, artifacts, "squad-create")
    page.get_by_role("button", name="Form the squad").click()

    expect(page).to_have_url(re.compile(r"/squads/renewal/$"))
    expect(page.get_by_role("status")).to_contain_text("Renewal Squad is formed")
    expect(page.get_by_role("heading", level=1)).to_have_text("Renewal Squad")
    expect(page.locator(".page-header")).to_contain_text("DRI: Ada Okafor")
    expect(page.locator("#objective")).to_contain_text(
        "Customers renew because they reached value, not by habit"
    )
    squad = Squad.objects.select_related("dri").get(key="renewal")
    assert squad.dri.username == "ada"


def test_a_member_edits_a_plan_section_in_place(page: Page):
    sign_in(page, "priya")
    page.goto(f"/squads/{SQUAD}/plan/")
    section = page.locator("#current-experience")
    page.evaluate("window.stillTheSamePage = true")

    section.get_by_role("link", name="Edit current customer experience").click()
    text = section.get_by_role("textbox")
    expect(text).to_be_visible()
    text.fill("New customers cannot tell which of three onboarding programmes is theirs.")
    section.get_by_role("button", name="Save").click()

    expect(section.get_by_role("textbox")).to_have_count(0)
    expect(section).to_contain_text("cannot tell which of three onboarding programmes")
    # Edited in place over HTMX: the page was never reloaded.
    assert page.evaluate("window.stillTheSamePage") is True
    assert page.url.endswith(f"/squads/{SQUAD}/plan/")

    page.reload()
    expect(page.locator("#current-experience")).to_contain_text(
        "cannot tell which of three onboarding programmes"
    )
    plan = Plan.objects.get(squad__key=SQUAD)
    assert "three onboarding programmes" in plan.current_experience


def test_a_member_adds_an_initiative_and_a_dependency_that_shows_on_the_board(
    page: Page, artifacts: Path
):
    sign_in(page, "priya")
    page.goto(f"/squads/{SQUAD}/plan/")
    initiatives = page.locator("#initiatives")
    initiatives.get_by_role("link", name="Add an initiative").click()
    form = page.locator("#new-initiative form")
    expect(form).to_be_visible()
    form.get_by_label("Title").fill("Renewal health score")
    form.get_by_label("Key", exact=True).fill("renewal-health")
    form.get_by_label("Function").fill("Operations")
    form.get_by_label("Description").fill("One score per account that CS reviews monthly.")
    form.get_by_label("Starts").fill("2027-04-01")
    form.get_by_label("Ends").fill("2027-06-30")
    form.get_by_label("Headcount").fill("1")
    form.get_by_role("button", name="Add initiative").click()

    card = page.locator("#initiative-renewal-health")
    expect(card).to_contain_text("Renewal health score")
    expect(card).to_contain_text("1 Apr – 30 Jun 2027")

    page.locator("#dependencies").get_by_role("link", name="Add a dependency").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Record a dependency")
    page.get_by_label("Who needs it").select_option(label="Renewal health score")
    page.get_by_label("A squad").select_option(label="Marketing Education")
    page.get_by_label("What is needed").fill("Renewal-risk messaging for at-risk accounts")
    page.get_by_label("Due").fill("2027-05-15")
    page.get_by_role("checkbox", name=re.compile("Blocking")).check()
    screenshot(page, artifacts, "dependency-create")
    page.get_by_role("button", name="Record the dependency").click()

    # Back on the plan it came from, listed under what the squad needs.
    expect(page).to_have_url(re.compile(rf"/squads/{SQUAD}/plan/"))
    expect(page.locator("#dependencies")).to_contain_text(
        "Renewal-risk messaging for at-risk accounts"
    )

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Board").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Dependency board")
    row = page.get_by_role("row").filter(has_text="Renewal-risk messaging for at-risk accounts")
    expect(row).to_have_count(1)
    expect(row).to_contain_text(SQUAD_NAME)
    expect(row).to_contain_text("Renewal health score")
    expect(row).to_contain_text("Marketing Education")
    expect(row).to_contain_text("15 May 2027")
    expect(row).to_contain_text("Blocking")
    expect(row.locator(".badge--requested")).to_have_text("Requested")


def test_writing_an_initiative_warns_of_similar_work_in_other_squads(page: Page, artifacts: Path):
    sign_in(page, "priya")
    page.goto(f"/squads/{SQUAD}/plan/")
    page.locator("#initiatives").get_by_role("link", name="Add an initiative").click()
    form = page.locator("#new-initiative form")
    expect(form).to_be_visible()
    expect(form.locator(".similar-work")).to_be_hidden()

    form.get_by_label("Title").press_sequentially("Onboarding program to improve activation")

    warning = form.get_by_role("status")
    expect(warning).to_contain_text("Similar work in other squads")
    # The Customer Success memo of the worked example, with the squad and who to talk to.
    expect(warning).to_contain_text("CS Onboarding Pillar, DRI Lee Moreau")
    link = warning.get_by_role("link", name=MEMOS[0], exact=True)
    expect(link).to_have_attribute(
        "href", "/squads/cs-onboarding/plan/#initiative-onboarding-program"
    )
    # The squad's own onboarding initiatives are not "other squads'".
    expect(warning).not_to_contain_text("In-app onboarding wizard")
    screenshot(page, artifacts, "similar-work")
    assert not accessibility_problems(page)

    form.get_by_label("Title").fill("Quarterly revenue forecast per region")
    expect(form.locator(".similar-work")).to_be_hidden()
    assert not Squad.objects.get(key=SQUAD).initiatives.filter(title__contains="forecast").exists()


def test_the_provider_accepts_a_dependency_in_place_on_the_board(page: Page, artifacts: Path):
    priya = Squad.objects.get(key=SQUAD).dri
    dep = dependency_services.dependency_create(
        by=priya,
        from_squad=Squad.objects.get(key=SQUAD),
        to_squad=Squad.objects.get(key="marketing-education"),
        what="Awareness content for the onboarding assessment",
        due=dt.date(2027, 3, 1),
        blocking=True,
    )
    # Nina is the DRI (and only member) of Marketing Education, the provider.
    sign_in(page, "nina")
    page.goto("/board/")
    row = page.locator(f"#dep-{dep.key}")
    expect(row.locator(".badge--requested")).to_have_text("Requested")
    page.evaluate("window.stillTheSamePage = true")

    row.get_by_role("button", name=re.compile("^Accept")).click()

    expect(row.locator(".badge--accepted")).to_have_text("Accepted")
    expect(row.get_by_role("button", name=re.compile("^Accept"))).to_have_count(0)
    assert page.evaluate("window.stillTheSamePage") is True
    screenshot(page, artifacts, "board-accepted")
    dep.refresh_from_db()
    assert dep.status == Dependency.Status.ACCEPTED

    page.reload()
    expect(page.locator(f"#dep-{dep.key} .badge--accepted")).to_have_text("Accepted")


def test_a_member_removes_an_initiative_and_undoes_it_from_the_message(page: Page, artifacts: Path):
    from squads.models import Initiative

    sign_in(page, "priya")
    page.goto(f"/squads/{SQUAD}/plan/")
    card = page.locator("#initiative-activation-dashboard")
    card.get_by_role("link", name="Remove Activation metrics dashboard").click()

    expect(page.get_by_role("heading", level=1)).to_contain_text("Activation metrics dashboard")
    screenshot(page, artifacts, "remove-initiative")
    assert not accessibility_problems(page)
    page.get_by_role("button", name="Remove").click()

    expect(page).to_have_url(re.compile(rf"/squads/{SQUAD}/plan/#initiatives$"))
    message = page.locator("ul.messages")
    expect(message).to_contain_text("Removed the initiative “Activation metrics dashboard”")
    expect(page.locator("#initiative-activation-dashboard")).to_have_count(0)
    assert not Initiative.objects.filter(key="activation-dashboard").exists()

    message.get_by_role("button", name="Undo").click()
    expect(page.locator("ul.messages")).to_contain_text(
        "Restored the initiative “Activation metrics dashboard”"
    )
    expect(page.locator("#initiative-activation-dashboard")).to_have_count(1)
    assert Initiative.objects.filter(key="activation-dashboard").exists()

    page.goto("/removed/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Recently removed")
    assert not accessibility_problems(page)


def test_the_review_flags_the_onboarding_memos_that_are_the_same_work(
    page: Page, artifacts: Path, settings
):
    # "Run the review now" queues a Celery task; eager mode runs it inside the request (the
    # live server is in this process, so it sees the setting), and the page then reloads
    # its list at once instead of polling for a worker. Set after load_demo, so the demo's
    # own saves do not each start a review: loading it queued one, which no worker runs here
    # and which the page shows on its way.
    settings.CELERY_TASK_ALWAYS_EAGER = True
    sign_in(page, "admin")
    page.goto("/findings/")
    status = page.locator("#review-status")
    expect(status).to_contain_text("a review of FY2027 is on its way")
    status.get_by_role("button", name="Run the review now").click()
    expect(status).to_contain_text("Last review just now")

    # One finding names the two memos that are the same work (docs/overlap.md says why the
    # education memo is missed), and none of the First 90 Days squad's own initiatives.
    alike = MEMOS[:2]
    memo = re.compile("|".join(re.escape(title) for title in alike))
    overlaps = page.locator("article.finding").filter(has_text=memo)
    expect(overlaps).to_have_count(1)
    overlap = overlaps.first
    expect(overlap.locator(".finding__rule")).to_have_text("Similar initiatives")
    expect(overlap.locator(".badge").filter(has_text="Overlap")).to_be_visible()
    subjects = overlap.get_by_role("list", name="What it concerns")
    for title in alike:
        expect(subjects.get_by_role("link", name=title, exact=True)).to_be_visible()
    expect(subjects).not_to_contain_text("First 90 Days")
    expect(subjects).not_to_contain_text(MEMOS[2])
    expect(overlap).to_contain_text("CS Onboarding Pillar")
    expect(overlap).to_contain_text("Product-led Growth")
    screenshot(page, artifacts, "findings-after-review")


def test_operations_settles_the_onboarding_overlap_with_one_squad_leading(
    page: Page, artifacts: Path
):
    from core.models import Cycle
    from planning.services import review_run

    review_run(cycle=Cycle.objects.get(key="fy2027"), trigger="manual")
    lead, follower = MEMOS[:2]
    # Sam runs the board for operations.
    sign_in(page, "sam")
    page.goto("/findings/")
    card = page.locator("article.finding").filter(has_text=lead).filter(has_text=follower)
    expect(card).to_have_count(1)
    page.evaluate("window.stillTheSamePage = true")

    card.get_by_role("link", name="One squad leads…").click()
    card.get_by_role("radio", name=lead, exact=True).check()
    card.get_by_label(f"What becomes of “{follower}” if it does not lead").select_option(
        label="Builds on the lead's work"
    )
    screenshot(page, artifacts, "finding-lead-form")
    assert not accessibility_problems(page)
    card.get_by_role("button", name="Record who leads").click()

    # Settled in place, saying who leads and what builds on it.
    expect(card.locator(".finding__side .badge--resolved")).to_have_text("Resolved")
    # Due when the lead's initiative ends, as the form said when left empty.
    expect(card.get_by_role("status")).to_have_text(
        f"{lead} (CS Onboarding Pillar) leads. Building on it, due 30 Jun 2027: "
        f"{follower} (Product-led Growth)."
    )
    expect(card.get_by_role("link", name="One squad leads…")).to_have_count(0)
    assert page.evaluate("window.stillTheSamePage") is True
    screenshot(page, artifacts, "finding-lead-done")

    # Reloaded, the page lists it among how findings ended; its own page keeps it in its
    # history, with who did it.
    page.reload()
    ended = page.get_by_role("region", name="How findings ended")
    outcome = ended.get_by_role("listitem").filter(has_text="One squad leads")
    expect(outcome).to_contain_text(f"by Sam Lindqvist: {lead} (CS Onboarding Pillar) leads.")
    outcome.get_by_role("link").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Similar initiatives")
    history = page.get_by_role("region", name="History")
    expect(history).to_contain_text("Found by the review")
    expect(history).to_contain_text("One squad leads by Sam Lindqvist")
    expect(history).to_contain_text(f"{lead} (CS Onboarding Pillar) leads.")

    # The Product-led Growth memo now depends on the CS memo, for everyone to see.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Board").click()
    row = page.get_by_role("row").filter(has_text=f"{lead} (led by CS Onboarding Pillar)")
    expect(row).to_have_count(1)
    expect(row).to_contain_text(follower)
    expect(row).to_contain_text("Product-led Growth")
    expect(row).to_contain_text("30 Jun 2027")
    expect(row.locator(".badge--requested")).to_have_text("Requested")
    screenshot(page, artifacts, "finding-lead-board")


def test_leadership_settles_a_stage_nobody_covers_by_assigning_a_squad(page: Page, artifacts: Path):
    from core.models import Cycle
    from planning.services import review_run

    review_run(cycle=Cycle.objects.get(key="fy2027"), trigger="manual")
    # Priya, the VP of Customer Success, sits in leadership.
    sign_in(page, "priya")
    page.goto("/findings/")
    card = page.locator("article.finding").filter(has_text="covers the Renewal stage")
    expect(card).to_have_count(1)

    card.get_by_role("link", name="Assign a squad…").click()
    card.get_by_label("Which squad covers the stage from now on?").select_option(label=SQUAD_NAME)
    card.get_by_role("button", name="Assign the squad").click()

    expect(card.locator(".finding__side .badge--resolved")).to_have_text("Resolved")
    expect(card.get_by_role("status")).to_contain_text(
        f"{SQUAD_NAME} covers the Renewal stage now."
    )
    screenshot(page, artifacts, "finding-stage-done")

    page.goto(f"/journeys/{JOURNEY}/")
    expect(page.get_by_label("Squads covering Renewal")).to_contain_text(SQUAD_NAME)


def test_the_timeline_draws_the_plans_and_switches_zoom_and_grouping(page: Page, artifacts: Path):
    sign_in(page, "omar")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Timeline").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Timeline")
    picture = page.locator("svg.timeline-svg")
    # Every initiative of the demo is a bar, a link named after it to its place on the plan.
    expect(picture.locator("rect.tl-bar")).to_have_count(9)
    wizard = picture.get_by_role("link", name=re.compile(r"^In-app onboarding wizard \("))
    expect(wizard).to_have_attribute("href", f"/squads/{SQUAD}/plan/#initiative-onboarding-wizard")
    expect(wizard.locator("rect")).to_be_visible()
    # The wizard waits on the assessment tool: an arrow, named for what it says.
    arrow = picture.get_by_role(
        "link", name=re.compile(r"^In-app onboarding wizard waits on Assessment tool shipped")
    )
    expect(arrow.locator("path")).to_be_visible()
    expect(picture.locator("a.tl-arrow")).to_have_count(2)
    quarter = picture.bounding_box()
    screenshot(page, artifacts, "timeline")
    assert not accessibility_problems(page), accessibility_problems(page)

    page.get_by_role("navigation", name="Zoom").get_by_role("link", name="Months").click()
    expect(page).to_have_url(re.compile(r"zoom=month"))
    expect(picture.locator("text", has_text="Feb")).to_have_count(1)
    month = picture.bounding_box()
    assert quarter is not None and month is not None
    assert month["width"] > 2.5 * quarter["width"] - 2 * 300, (quarter, month)

    grouping = page.get_by_role("navigation", name="Group the timeline by")
    grouping.get_by_role("link", name="Journey stage").click()
    expect(page).to_have_url(re.compile(r"group=stage"))
    expect(page).to_have_url(re.compile(r"zoom=month"))
    expect(picture.locator(".tl-group__name")).to_have_text(
        [
            "Customer lifecycle: Onboarding",
            "Customer lifecycle: Adoption",
            "Customer lifecycle: Expansion",
        ]
    )
    expect(picture.locator("rect.tl-bar")).to_have_count(9)
    # The same rows as a table, for those who do not see the picture.
    page.get_by_text("The same rows as a table").click()
    table = page.locator("table.timeline-rows")
    expect(table.get_by_role("link", name="In-app onboarding wizard")).to_be_visible()
    screenshot(page, artifacts, "timeline-by-stage-by-month")
    assert not accessibility_problems(page), accessibility_problems(page)

    wizard.click()
    expect(page).to_have_url(re.compile(rf"/squads/{SQUAD}/plan/#initiative-onboarding-wizard$"))


def test_leadership_invites_a_person_who_signs_up_and_gets_a_function_and_a_group(
    page: Page, artifacts: Path
):
    from urllib.parse import urlsplit

    from django.contrib.auth import get_user_model
    from django.core import mail

    mail.outbox = []
    sign_in(page, "priya")  # in Leadership in the demo company
    page.get_by_role("navigation", name="Main").get_by_role("link", name="People").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("People")
    page.get_by_label("Email address").fill("nadia@example.com")
    screenshot(page, artifacts, "people-invite")
    page.get_by_role("button", name="Send the invitation").click()
    expect(page.get_by_role("status").first).to_contain_text("Invitation sent to nadia@example.com")
    expect(page.locator("#invitations")).to_contain_text("nadia@example.com")

    # The invited person opens the link from the email, signed out.
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["nadia@example.com"]
    link = re.search(r"https?://\S+/signup/\S+/", mail.outbox[0].body)[0]
    page.get_by_role("button", name="Sign out").click()
    page.goto(urlsplit(link).path)
    expect(page.get_by_role("heading", level=1)).to_have_text("Make your account")
    expect(page.get_by_label("Username")).to_have_value("nadia")
    assert not accessibility_problems(page)
    page.get_by_label("Your name").fill("Nadia Novak")
    page.get_by_label("Password", exact=True).fill("lantern-orchard-1987")
    page.get_by_label("Password again").fill("lantern-orchard-1987")
    screenshot(page, artifacts, "signup")
    page.get_by_role("button", name="Make my account").click()
    expect(page.locator(".whoami")).to_have_text("Nadia Novak")
    expect(page.get_by_role("status").first).to_contain_text("Welcome to Throughline")

    # Leadership gives her a function and a group on her page.
    page.get_by_role("button", name="Sign out").click()
    sign_in(page, "priya")
    page.goto("/people/")
    page.get_by_role("link", name="Nadia Novak").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Nadia Novak")
    page.get_by_label("Function", exact=True).fill("Customer Success")
    page.get_by_role("checkbox", name="Operations").check()
    screenshot(page, artifacts, "person")
    page.get_by_role("button", name="Save function and groups").click()
    expect(page.get_by_role("status").first).to_contain_text(
        "Nadia Novak's function and groups are saved"
    )
    about = page.get_by_role("region", name="About")
    expect(about).to_contain_text("Customer Success")
    expect(about).to_contain_text("Operations")
    assert not accessibility_problems(page)

    nadia = get_user_model().objects.select_related("profile").get(username="nadia")
    assert nadia.email == "nadia@example.com"
    assert nadia.profile.function == "Customer Success"
    assert list(nadia.groups.values_list("name", flat=True)) == ["Operations"]


def test_main_pages_have_no_serious_accessibility_violations(page: Page, artifacts: Path):
    from core.models import Cycle
    from planning.services import review_run

    # Findings to show, so the findings page is checked with content.
    review_run(cycle=Cycle.objects.get(key="fy2027"), trigger="manual")
    found: dict[str, list[str]] = {}
    page.goto("/accounts/login/")
    if problems := accessibility_problems(page):
        found["/accounts/login/"] = problems
    sign_in(page, "admin")
    for name, path in MAIN_PAGES.items():
        response = page.goto(path)
        assert response is not None and response.ok, f"{path}: {response and response.status}"
        screenshot(page, artifacts, name)
        problems = accessibility_problems(page)
        if problems:
            found[path] = problems
    report = "\n\n".join(f"{path}\n" + "\n".join(problems) for path, problems in found.items())
    assert not found, f"serious or critical accessibility violations:\n\n{report}"


def test_the_navigation_is_reachable_with_the_keyboard(page: Page):
    sign_in(page, "priya")
    page.goto("/journeys/")
    nav = page.get_by_role("navigation", name="Main")
    links = [text.strip() for text in nav.locator(".nav-links a").all_inner_texts()]
    assert set(NAV_LINKS) <= set(links), links

    # Tab from the top of the page: the skip link, shown once focused, then the brand and
    # every navigation link in the order they are drawn.
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    box = skip.bounding_box()
    assert box is not None and box["x"] >= 0 and box["y"] >= 0, f"skip link off-screen: {box}"
    page.keyboard.press("Tab")
    expect(nav.get_by_role("link", name="Throughline")).to_be_focused()
    for name in links:
        page.keyboard.press("Tab")
        expect(nav.get_by_role("link", name=name, exact=True)).to_be_focused()

    # Enter on a focused link follows it.
    page.goto("/journeys/")
    for _ in range(links.index("Board") + 3):
        page.keyboard.press("Tab")
    expect(nav.get_by_role("link", name="Board", exact=True)).to_be_focused()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/board/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Dependency board")


def test_a_calendar_link_is_copied_with_one_click(page: Page):
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    sign_in(page, "ada")
    page.goto("/calendar/")
    page.get_by_role("button", name="Make my calendar links").click()
    feed = page.get_by_label("Your feed").input_value()
    assert feed.startswith("http") and feed.endswith("mine.ics"), feed
    page.get_by_role("button", name="Copy link").click()
    expect(page.locator("#feed-mine ~ .copy-status")).to_have_text("Copied.")
    assert page.evaluate("navigator.clipboard.readText()") == feed
    # Each squad's link has its own button, named for the squad.
    page.get_by_role("button", name=f"Copy {SQUAD_NAME}'s link").click()
    squad_feed = page.locator(f"#feed-{SQUAD}").input_value()
    assert page.evaluate("navigator.clipboard.readText()") == squad_feed


def test_a_mentions_link_opens_the_collapsed_thread_at_the_comment(page: Page):
    from django.contrib.auth import get_user_model
    from django.test import Client

    # Omar mentions Ada on the First 90 Days plan (through the page, as a person would).
    omar = Client()
    omar.force_login(get_user_model().objects.get(username="omar"))
    body = "@ada can the assessment ship by Day 1?"
    posted = omar.post(f"/squads/{SQUAD}/plan/section/desired-experience/comments/", {"body": body})
    assert posted.status_code == 302

    sign_in(page, "ada")
    page.goto("/notifications/")
    page.get_by_role("link", name="Open the comment").first.click()
    comment = page.get_by_text(body)
    expect(comment).to_be_visible()
    assert re.search(r"#comment-\d+$", page.url), page.url
