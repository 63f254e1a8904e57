"""The acceptance test of the planning season: a whole season walked in a real browser
(Playwright, Debian's chromium), from an empty company with one administrator to the next
cycle, through the pages only.

The administrator invites a leader, two squad DRIs and a member, who sign up through the
link in their email (read from Django's outbox: email is outside the app). Leadership opens
the cycle, maps the journey, sets the functions' capacity and a segment, and forms two
squads around the stages. Each DRI writes the plan, sets the OKR, and approves the plan; one
squad asks the other for a blocking dependency, which is accepted. The season page's
readiness check shows each blocker go as it is fixed, and leadership commits without
overriding it. A moved date then shows as drift since commit, and the unfinished work is
carried into the next cycle. Pages are checked with axe-core along the way; screenshots go
where tests/test_browser.py puts its own, named `walk-…`.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import pytest
from django.core import mail
from django.utils import timezone

from tests.test_browser import (  # the shared browser and helpers
    accessibility_problems,
    artifacts,  # noqa: F401 - a fixture
    browser,  # noqa: F401 - a fixture
    expect,
    opened_page,
    screenshot,
    sign_in,
)

if TYPE_CHECKING:
    from collections.abc import Iterator

    from playwright.sync_api import Browser, Locator, Page

pytestmark = pytest.mark.browser

PASSWORD = "lantern-orchard-1987"
# The season plans next year, so every date typed is still ahead whenever the walk runs.
YEAR = timezone.localdate().year + 1
CYCLE, CYCLE_KEY = f"FY{YEAR}", f"fy{YEAR}"
NEXT, NEXT_KEY = f"FY{YEAR + 1}", f"fy{YEAR + 1}"
SEASON = f"/cycles/{CYCLE_KEY}/"
# username: (email, name as they sign up, function)
PEOPLE = {
    "lena": ("lena@example.com", "Lena Park", "Operations"),  # leadership
    "dev": ("dev@example.com", "Dev Iyer", "Customer Success"),  # DRI, First 90 Days
    "maya": ("maya@example.com", "Maya Ross", "Product"),  # DRI, Product-led Adoption
    "sam": ("sam@example.com", "Sam Cole", "Marketing"),  # a member of First 90 Days
}
FIRST_90 = "First 90 Days Experience Squad"
ADOPTION = "Product-led Adoption Squad"
STAGES = {
    "Onboarding": "Get set up and see the first result",
    "Adoption": "Make the product part of the week",
    "Renewal": "Decide to stay because it pays off",
}
NEED = "Usage milestones of each new account, visible to its CSM"


@pytest.fixture
def page(browser: Browser, live_server, django_user_model) -> Iterator[Page]:  # noqa: F811
    """An empty company: one administrator, nothing else (no demo data)."""
    django_user_model.objects.create_superuser("admin", "admin@example.com", PASSWORD)
    with opened_page(browser, live_server.url) as opened:
        yield opened


# --- what people do, step by step ---------------------------------------------------------


def as_person(page: Page, username: str) -> None:
    """Sign out whoever is signed in, then sign in as `username`."""
    sign_out(page)
    sign_in(page, username, PASSWORD)


def sign_out(page: Page) -> None:
    button = page.get_by_role("button", name="Sign out")
    if button.count():
        button.click()
        expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


def nav(page: Page, name: str) -> None:
    page.get_by_role("navigation", name="Main").get_by_role("link", name=name, exact=True).click()


def set_up(page: Page, name: str) -> None:
    """A page of the Set-up menu in the top bar."""
    menu = page.get_by_role("navigation", name="Main")
    menu.locator("summary", has_text="Set-up").click()
    menu.get_by_role("link", name=name).click()


def season_check(page: Page, key: str, season: str = SEASON) -> Locator:
    """One check of the readiness check, on the season page freshly loaded."""
    page.goto(season)
    return page.locator(f"#check-{key}")


def accessible(page: Page) -> None:
    problems = accessibility_problems(page)
    assert not problems, f"{page.url}:\n" + "\n".join(problems)


def add_stage(page: Page, name: str, goal: str) -> None:
    page.get_by_role("link", name="Add stage").click()
    form = page.locator("#new-stage form")
    form.get_by_label("Stage name").fill(name)
    form.get_by_label("Customer goal").fill(goal)
    form.get_by_label("Broken today").fill("Nobody tells the customer what comes next.")
    form.get_by_label("Tomorrow", exact=True).fill(
        "Each step says what it brings and what follows."
    )
    form.get_by_role("button", name="Add stage").click()
    expect(page.get_by_role("article", name=name)).to_be_visible()


def form_squad(page: Page, name: str, key: str, dri: str, objective: str, stages=()) -> None:
    nav(page, "Squads")
    page.get_by_role("link", name="New squad").click()
    squad = page.get_by_role("group", name="The squad")
    squad.get_by_label("Name").fill(name)
    squad.get_by_label("Key").fill(key)
    page.get_by_label("DRI", exact=True).select_option(label=dri)
    page.get_by_label("Objective").fill(objective)
    for stage in stages:
        page.get_by_role("group", name="Journey stages it covers", exact=True).get_by_role(
            "checkbox", name=stage
        ).check()
    page.get_by_role("button", name="Form the squad").click()
    expect(page.get_by_role("status").first).to_contain_text(f"{name} is formed")
    expect(page.get_by_role("heading", level=1)).to_have_text(name)


def write_section(page: Page, section: str, link: str, text: str, *shown: str) -> Locator:
    """Write a section of the plan in place; it then shows `shown` (else the text)."""
    part = page.locator(f"#{section}")
    part.get_by_role("link", name=link).click()
    part.get_by_role("textbox").fill(text)
    part.get_by_role("button", name="Save").click()
    expect(part.get_by_role("textbox")).to_have_count(0)
    for piece in shown or (text,):
        expect(part).to_contain_text(piece)
    return part


def add_initiative(page: Page, **typed: str) -> Locator:
    page.locator("#initiatives").get_by_role("link", name="Add an initiative").click()
    form = page.locator("#new-initiative form")
    form.get_by_label("Title").fill(typed["title"])
    form.get_by_label("Key", exact=True).fill(typed["key"])
    form.get_by_label("Function").fill(typed["function"])
    form.get_by_label("Status").select_option(label="Planned")
    form.get_by_label("Description").fill(typed["description"])
    form.get_by_label("Journey stage").select_option(label=typed["stage"])
    if "segment" in typed:
        form.get_by_label("Customer segment").select_option(label=typed["segment"])
    form.get_by_label("Starts").fill(typed["starts"])
    form.get_by_label("Ends").fill(typed["ends"])
    form.get_by_label("Headcount").fill(typed["headcount"])
    form.get_by_role("button", name="Add initiative").click()
    card = page.locator(f"#initiative-{typed['key']}")
    expect(card).to_contain_text(typed["title"])
    return card


def edit_initiative(page: Page, card: Locator, **fields: str) -> None:
    card.get_by_role("link", name=re.compile("^Edit")).click()
    for label, value in fields.items():
        field = card.get_by_label(label, exact=True)
        if label == "Status":
            field.select_option(label=value)
        else:
            field.fill(value)
    card.get_by_role("button", name="Save initiative").click()
    expect(card.get_by_role("button", name="Save initiative")).to_have_count(0)


def approve_plan(page: Page, dri: str) -> None:
    page.get_by_role("button", name="Approve the plan").click()
    expect(page.locator("#plan-status")).to_contain_text(f"Approved by {dri}")


# --- the walk -----------------------------------------------------------------------------


def test_a_whole_season_from_an_empty_company_to_the_next_cycle(page: Page, artifacts: Path):  # noqa: F811
    mail.outbox = []

    # 1. The administrator invites everyone; each signs up through their link. ------------
    sign_in(page, "admin", PASSWORD)
    nav(page, "People")
    expect(page.get_by_role("heading", level=1)).to_have_text("People")
    for email, _, _ in PEOPLE.values():
        page.get_by_label("Email address").fill(email)
        page.get_by_role("button", name="Send the invitation").click()
        expect(page.get_by_role("status").first).to_contain_text(f"Invitation sent to {email}")
    waiting = page.get_by_role("region", name="Waiting to sign up")
    for email, _, _ in PEOPLE.values():
        expect(waiting).to_contain_text(email)
    screenshot(page, artifacts, "walk-invitations")
    accessible(page)

    links = {}
    for message in mail.outbox:
        (to,) = message.to
        links[to] = urlsplit(re.search(r"https?://\S+/signup/\S+/", message.body)[0]).path
    assert set(links) == {email for email, _, _ in PEOPLE.values()}
    sign_out(page)
    for username, (email, name, _) in PEOPLE.items():
        page.goto(links[email])
        expect(page.get_by_role("heading", level=1)).to_have_text("Make your account")
        expect(page.get_by_label("Username")).to_have_value(username)
        if username == "lena":
            screenshot(page, artifacts, "walk-signup")
            accessible(page)
        page.get_by_label("Your name").fill(name)
        page.get_by_label("Password", exact=True).fill(PASSWORD)
        page.get_by_label("Password again").fill(PASSWORD)
        page.get_by_role("button", name="Make my account").click()
        expect(page.locator(".whoami")).to_have_text(name)
        expect(page.get_by_role("status").first).to_contain_text("Welcome to Throughline")
        sign_out(page)

    # The administrator puts Lena in leadership and gives everyone their function.
    sign_in(page, "admin", PASSWORD)
    for username, (_, name, function) in PEOPLE.items():
        nav(page, "People")
        page.get_by_role("link", name=name, exact=True).click()
        expect(page.get_by_role("heading", level=1)).to_have_text(name)
        page.get_by_label("Function", exact=True).fill(function)
        if username == "lena":
            page.get_by_role("checkbox", name="Leadership").check()
        page.get_by_role("button", name="Save function and groups").click()
        expect(page.get_by_role("status").first).to_contain_text(
            f"{name}'s function and groups are saved"
        )
    nav(page, "People")
    lena = page.get_by_role("row").filter(has_text="Lena Park")
    expect(lena).to_contain_text("Leadership")
    expect(lena).to_contain_text("Operations")
    expect(page.get_by_role("region", name="Waiting to sign up")).to_contain_text(
        "No invitation is waiting"
    )

    # 2. Leadership opens the cycle, maps the journey, sets capacity and a segment. --------
    as_person(page, "lena")
    nav(page, "Season")
    expect(page.get_by_role("heading", name="No planning cycle yet")).to_be_visible()
    opening = page.get_by_role("region", name="Open a new cycle")
    opening.get_by_label("Name").fill(CYCLE)
    opening.get_by_label("Key").fill(CYCLE_KEY)
    opening.get_by_label("Starts").fill(f"{YEAR}-01-01")
    opening.get_by_label("Ends").fill(f"{YEAR}-12-31")
    opening.get_by_role("button", name="Open the cycle").click()
    expect(page).to_have_url(re.compile(rf"{SEASON}$"))
    expect(page.get_by_role("status").first).to_contain_text(f"{CYCLE} is open, as a draft")
    # An empty cycle is not ready: nothing is mapped and no squad has formed.
    readiness = page.get_by_role("region", name="Ready to commit?")
    expect(readiness.locator("#check-coverage")).to_contain_text("No journey has a stage yet")
    expect(readiness.locator("#check-squads")).to_contain_text(
        f"No squad has formed in {CYCLE} yet."
    )
    screenshot(page, artifacts, "walk-season-empty")
    accessible(page)

    readiness.get_by_role("link", name="Map the journey").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Customer journeys")
    page.locator("summary").filter(has_text="New journey").click()
    journey = page.locator("#new-journey form")
    journey.get_by_label("Name").fill("Customer lifecycle")
    journey.get_by_label("Key").fill("lifecycle")
    journey.get_by_label("Description").fill("From the first touch to the renewal.")
    journey.get_by_role("button", name="Create journey").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Customer lifecycle")
    for name, goal in STAGES.items():
        add_stage(page, name, goal)
    coverage = page.get_by_role("region", name=f"Who covers each stage in {CYCLE}")
    expect(coverage).to_contain_text(f"3 of 3 stages have no squad in {CYCLE}.")

    # The journey is mapped; each of its stages waits for a squad now.
    expect(season_check(page, "coverage").get_by_role("listitem")).to_have_text(
        [
            f"No squad of {CYCLE} covers the {name} stage of Customer lifecycle. Assign a squad"
            for name in STAGES
        ]
    )

    set_up(page, "Functions and capacity")
    expect(page.get_by_role("heading", level=1)).to_contain_text(
        f"Functions and capacity in {CYCLE}"
    )
    for function, people in (("Customer Success", "3"), ("Product", "2")):
        page.get_by_label(f"Capacity of {function}, full-time people").fill(people)
        page.get_by_role("button", name=f"Save the capacity of {function}").click()
        expect(page.get_by_role("row", name=re.compile(f"^{function}"))).to_contain_text("0%")
    adding = page.get_by_role("region", name="Add a function")
    adding.get_by_label("Function", exact=True).fill("Design")
    adding.get_by_label("Full-time people").fill("2")
    adding.get_by_role("button", name="Add function").click()
    expect(page.get_by_role("status").first).to_contain_text("Design is added")
    expect(page.get_by_role("row", name=re.compile("^Design"))).to_be_visible()

    set_up(page, "Customer segments")
    segment = page.get_by_role("region", name="Add a segment")
    segment.get_by_label("Segment name").fill("Mid-market SaaS")
    segment.get_by_label("Description").fill("Teams of 50 to 500 seats: the ideal customer.")
    segment.get_by_label("Priority").fill("1")
    segment.get_by_role("button", name="Add segment").click()
    expect(page.get_by_role("status").first).to_contain_text("Mid-market SaaS is added")

    # 3. Leadership forms the squads around the stages: on the form, on the squad's page
    # and from the journey map's "No squad".
    form_squad(
        page,
        FIRST_90,
        "first-90-days",
        "Dev Iyer",
        "New customers reach real value in their first 90 days",
        stages=["Onboarding"],
    )
    form_squad(
        page, ADOPTION, "adoption", "Maya Ross", "Customers make the product part of their week"
    )
    stages = page.get_by_role("region", name="Journey stages")
    expect(stages).to_contain_text("This squad covers no journey stage yet.")
    stages.get_by_role("link", name="Change the stages it covers").click()
    stages.get_by_role("checkbox", name="Adoption").check()
    stages.get_by_role("button", name="Save stages").click()
    expect(stages.get_by_role("link", name="Adoption")).to_be_visible()
    accessible(page)

    # Onboarding (chosen on the form) and Adoption (on the squad's page) are covered.
    expect(season_check(page, "coverage").get_by_role("listitem")).to_have_text(
        [f"No squad of {CYCLE} covers the Renewal stage of Customer lifecycle. Assign a squad"]
    )
    expect(page.locator("#check-squads")).not_to_contain_text("No squad has formed")

    nav(page, "Journeys")
    page.get_by_role("link", name="Customer lifecycle").click()
    coverage = page.get_by_role("region", name=f"Who covers each stage in {CYCLE}")
    expect(coverage).to_contain_text(f"1 of 3 stages has no squad in {CYCLE}.")
    coverage.get_by_role("link", name="No squad : choose one for Renewal").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Which squad covers Renewal?")
    accessible(page)
    page.get_by_label("Squad", exact=True).select_option(label=FIRST_90)
    page.get_by_role("button", name="Cover the stage").click()
    expect(page.get_by_role("status").first).to_contain_text(
        f"{FIRST_90} covers the Renewal stage now."
    )
    expect(coverage).to_contain_text(f"Every stage has a squad in {CYCLE}.")
    screenshot(page, artifacts, "walk-journey")
    accessible(page)

    # Every stage is covered now; what is left is the squads' to do.
    check = season_check(page, "coverage")
    expect(check).to_contain_text("Every journey stage is covered by a squad")
    expect(check.get_by_role("listitem")).to_have_count(0)
    squads = page.locator("#check-squads")
    expect(squads.get_by_role("listitem")).to_have_text(
        [
            f"{FIRST_90}'s OKR has no key result. Add a key result",
            f"{ADOPTION}'s OKR has no key result. Add a key result",
        ]
    )
    expect(page.locator("#check-plans").get_by_role("listitem")).to_have_count(2)
    screenshot(page, artifacts, "walk-season-squads-formed")

    # 4. Each DRI writes the plan, sets the OKR and approves. --------------------------------
    as_person(page, "dev")
    nav(page, "Squads")
    page.get_by_role("link", name=FIRST_90).first.click()
    members = page.get_by_role("region", name="Members")
    members.get_by_text("Add a member").click()
    members.get_by_label("Person").select_option(label="Sam Cole")
    members.get_by_role("button", name="Add member").click()
    expect(members.get_by_role("listitem").filter(has_text="Sam Cole")).to_contain_text("Marketing")

    okr = page.get_by_role("region", name=f"OKR {CYCLE}")
    okr.get_by_role("link", name="Add a key result").click()
    okr.get_by_label("Name").fill("Day-90 activation rate")
    okr.get_by_label("Key", exact=True).fill("activation")
    okr.get_by_label("Unit").fill("%")
    okr.get_by_label("Baseline").fill("42")
    okr.get_by_role("button", name="Add key result").click()
    activation = okr.get_by_role("article", name="Day-90 activation rate")
    expect(activation).to_contain_text("no target")

    # Without a target the key result still blocks; its link leads to where it is set.
    squads = season_check(page, "squads")
    expect(squads).not_to_contain_text(f"{FIRST_90}'s OKR has no key result")
    expect(squads).to_contain_text(
        f"{FIRST_90}'s key result \u201cDay-90 activation rate\u201d has no target."
    )
    squads.get_by_role("link", name="Set its baseline and target").click()
    okr.get_by_label("Target").fill("52")
    okr.get_by_role("button", name="Save key result").click()
    expect(activation).to_contain_text("52%")
    expect(season_check(page, "squads").get_by_role("listitem")).to_have_text(
        [f"{ADOPTION}'s OKR has no key result. Add a key result"]
    )

    page.goto("/squads/first-90-days/plan/")
    write_section(
        page,
        "current-experience",
        "Edit current customer experience",
        "New customers are overwhelmed and cannot find the education that fits them.",
    )
    desired = write_section(
        page,
        "desired-experience",
        "Edit desired customer experience",
        "Day 1: An assessment routes them to their path.\nWeek 2: A first milestone, with a guide.",
        "An assessment routes them to their path.",
        "A first milestone, with a guide.",
    )
    # Written by moment, the section lists each moment on its own.
    expect(desired.get_by_role("listitem")).to_have_count(2)
    write_section(page, "not-doing", "Edit the not-doing list", "No new onboarding webinar series.")
    guided = add_initiative(
        page,
        title="Guided onboarding program",
        key="guided-onboarding",
        function="Customer Success",
        description="A CSM walks each new account to its first milestone.",
        stage="Onboarding",
        segment="Mid-market SaaS",
        starts=f"{YEAR}-02-01",
        ends=f"{YEAR}-06-30",
        headcount="2",
    )
    expect(guided).to_contain_text(f"1 Feb – 30 Jun {YEAR}")
    expect(guided).to_contain_text("2 people")

    # 5. First 90 Days asks Product-led Adoption for what its program cannot go without.
    page.locator("#dependencies").get_by_role("link", name="Add a dependency").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Record a dependency")
    page.get_by_label("Who needs it").select_option(label="Guided onboarding program")
    page.get_by_label("A squad").select_option(label=ADOPTION)
    page.get_by_label("What is needed").fill(NEED)
    page.get_by_label("Due").fill(f"{YEAR}-03-15")
    page.get_by_label("Owner on the provider side").select_option(label="Maya Ross")
    page.get_by_role("checkbox", name=re.compile("Blocking")).check()
    page.get_by_role("button", name="Record the dependency").click()
    expect(page).to_have_url(re.compile(r"/squads/first-90-days/plan/"))
    needs = page.locator("#dependencies").get_by_role("row").filter(has_text=NEED)
    expect(needs).to_contain_text("Requested")

    approve_plan(page, "Dev Iyer")
    screenshot(page, artifacts, "walk-plan-approved")
    accessible(page)
    dependencies = season_check(page, "dependencies")
    expect(dependencies).to_contain_text(f"\u201c{NEED}\u201d")
    expect(dependencies).to_contain_text(
        f"which {FIRST_90} needs from {ADOPTION}, is requested, not accepted."
    )
    expect(page.locator("#check-plans").get_by_role("listitem")).to_have_text(
        [
            f"The plan of {ADOPTION} is a draft: its DRI, Maya Ross, has not approved it. "
            "Open the plan"
        ]
    )

    as_person(page, "maya")
    page.goto("/squads/adoption/plan/")
    write_section(
        page,
        "current-experience",
        "Edit current customer experience",
        "Accounts set the product up, then drift back to spreadsheets by the second month.",
    )
    milestones = add_initiative(
        page,
        title="In-app usage milestones",
        key="usage-milestones",
        function="Product",
        description="The product marks each milestone a new account reaches.",
        stage="Adoption",
        starts=f"{YEAR}-01-15",
        ends=f"{YEAR}-04-30",
        headcount="3",
    )
    # Three people is more than Product can staff; the check says so and leads, through
    # the functions page, to the initiatives that plan on Product.
    capacity = season_check(page, "capacity")
    expect(capacity).to_contain_text(f"Product has 3 people planned in {CYCLE} but can staff 2.")
    screenshot(page, artifacts, "walk-season-over-capacity")
    capacity.get_by_role("link", name="See capacity and plans").click()
    product = page.get_by_role("row", name=re.compile("^Product"))
    expect(product).to_contain_text("1 over")
    accessible(page)
    product.get_by_role("link", name="1 initiative of Product, on the timeline").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Timeline")
    bar = page.locator("svg.timeline-svg").get_by_role(
        "link", name=re.compile(r"^In-app usage milestones \(")
    )
    bar.locator("rect").click()
    expect(page).to_have_url(re.compile(r"/squads/adoption/plan/#initiative-usage-milestones$"))
    edit_initiative(page, milestones, Headcount="2")
    expect(milestones).to_contain_text("2 people")
    capacity = season_check(page, "capacity")
    expect(capacity).to_contain_text("Every function is within its capacity")
    expect(capacity.get_by_role("listitem")).to_have_count(0)

    page.goto("/squads/adoption/")
    okr = page.get_by_role("region", name=f"OKR {CYCLE}")
    okr.get_by_role("link", name="Edit", exact=True).click()
    okr.get_by_label("Objective").fill("Customers make the product part of every week")
    okr.get_by_role("button", name="Save objective").click()
    expect(okr).to_contain_text("Customers make the product part of every week")
    okr.get_by_role("link", name="Add a key result").click()
    okr.get_by_label("Name").fill("Weekly active accounts")
    okr.get_by_label("Key", exact=True).fill("weekly-active")
    okr.get_by_label("Unit").fill("%")
    okr.get_by_label("Baseline").fill("35")
    okr.get_by_label("Target").fill("50")
    okr.get_by_role("button", name="Add key result").click()
    expect(okr.get_by_role("article", name="Weekly active accounts")).to_contain_text("50%")
    squads = season_check(page, "squads")
    expect(squads).to_contain_text(
        "Every squad has a DRI and an OKR whose key results are measurable"
    )
    expect(squads.get_by_role("listitem")).to_have_count(0)

    # The provider accepts on the board, where the check's link leads.
    page.locator("#check-dependencies").get_by_role("link", name="See it on the board").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Dependency board")
    row = page.get_by_role("row").filter(has_text=NEED)
    expect(row.locator(".badge--requested")).to_have_text("Requested")
    row.get_by_role("button", name=re.compile("^Accept")).click()
    expect(row.locator(".badge--accepted")).to_have_text("Accepted")
    screenshot(page, artifacts, "walk-board-accepted")
    accessible(page)
    dependencies = season_check(page, "dependencies")
    expect(dependencies).to_contain_text("Every blocking dependency is accepted or done")
    expect(dependencies.get_by_role("listitem")).to_have_count(0)

    page.locator("#check-plans").get_by_role("link", name="Open the plan").click()
    approve_plan(page, "Maya Ross")

    # 6. Nothing blocks: leadership reconciles and commits, without overriding anything.
    as_person(page, "lena")
    nav(page, "Season")
    page.get_by_role("link", name=CYCLE).click()
    readiness = page.get_by_role("region", name="Ready to commit?")
    expect(readiness.locator(".card__header .badge")).to_have_text("Ready")
    expect(readiness.locator(".readiness__items")).to_have_count(0)
    screenshot(page, artifacts, "walk-season-ready")
    accessible(page)
    page.get_by_role("button", name="Start reconciling").click()
    expect(page.get_by_role("status").first).to_contain_text(f"{CYCLE} is reconciling now.")
    moves = page.get_by_role("region", name="Move the season")
    expect(moves).to_contain_text("Nothing blocks committing.")
    expect(moves.get_by_label(re.compile("^Commit although"))).to_have_count(0)
    page.get_by_role("button", name="Commit to this plan").click()
    expect(page.get_by_role("status").first).to_contain_text(f"{CYCLE} is committed.")
    drift = page.get_by_role("region", name="Drift since commit")
    expect(drift).to_contain_text("Against the baseline kept when Lena Park committed")
    expect(drift).to_contain_text("Nothing has moved since")
    history = page.get_by_role("region", name="History")
    expect(history).to_contain_text("Lena Park")
    expect(history).not_to_contain_text("although")
    screenshot(page, artifacts, "walk-season-committed")
    accessible(page)

    # 7. A DRI moves a date; the plan and the season page show the drift since commit.
    as_person(page, "dev")
    page.goto("/squads/first-90-days/plan/")
    edit_initiative(page, guided, Ends=f"{YEAR}-08-31")
    expect(guided).to_contain_text(f"1 Feb – 31 Aug {YEAR}")
    page.reload()
    moved = page.get_by_role("listitem").filter(has_text="Dates moved Guided onboarding program")
    expect(moved.get_by_role("deletion")).to_have_text(f"1 Feb – 30 Jun {YEAR}")
    expect(moved).to_contain_text(f"→ 1 Feb – 31 Aug {YEAR}")
    screenshot(page, artifacts, "walk-plan-drift")
    page.get_by_role("link", name="the whole drift report").click()
    drift = page.get_by_role("region", name="Drift since commit")
    expect(drift).not_to_contain_text("Nothing has moved since")
    expect(drift.get_by_role("listitem")).to_have_text(
        [
            f"Dates moved Guided onboarding program · {FIRST_90} · 1 Feb {YEAR} – 30 Jun "
            f"{YEAR} → 1 Feb {YEAR} – 31 Aug {YEAR}"
        ]
    )

    # In flight, the provider delivers: the milestones and the dependency are done.
    as_person(page, "lena")
    page.goto(SEASON)
    page.get_by_role("button", name="Mark in flight").click()
    expect(page.get_by_role("status").first).to_contain_text(f"{CYCLE} is in flight now.")

    as_person(page, "maya")
    page.goto("/squads/adoption/plan/")
    edit_initiative(page, milestones, Status="Done")
    expect(milestones).to_contain_text("Done")
    nav(page, "Board")
    row = page.get_by_role("row").filter(has_text=NEED)
    row.get_by_role("button", name=re.compile("^Done")).click()
    expect(row.locator(".badge--done")).to_have_text("Done")

    # 8. Leadership carries the unfinished work into the next cycle. ------------------------
    as_person(page, "lena")
    page.goto(SEASON)
    page.get_by_role("link", name="Carry forward into a new cycle").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Carry {CYCLE} forward")
    following = page.get_by_role("region", name="The next cycle")
    following.get_by_label("Name").fill(NEXT)
    following.get_by_label("Key").fill(NEXT_KEY)
    following.get_by_label("Starts").fill(f"{YEAR + 1}-01-01")
    following.get_by_label("Ends").fill(f"{YEAR + 1}-12-31")
    work = page.get_by_role("region", name="The work to take along")
    # Only what is unfinished is offered, all of it picked: not the milestones nor the
    # dependency, both done.
    expect(work.get_by_role("checkbox")).to_have_count(3)
    for name in ("Guided onboarding program", "Day-90 activation rate", "Weekly active accounts"):
        expect(work.get_by_role("checkbox", name=name)).to_be_checked()
    expect(work).not_to_contain_text("In-app usage milestones")
    expect(work).not_to_contain_text(NEED)
    # Adoption's key result stays behind; the squad with it.
    work.get_by_role("checkbox", name="Weekly active accounts").uncheck()
    screenshot(page, artifacts, "walk-carry-forward")
    accessible(page)
    page.get_by_role("button", name="Open the next cycle").click()

    expect(page).to_have_url(re.compile(rf"/cycles/{NEXT_KEY}/$"))
    expect(page.get_by_role("status").first).to_contain_text(
        f"{NEXT} is open, as a draft, with 1 squad, 1 initiative, 0 dependencies and 1 key "
        f"result carried forward from {CYCLE}."
    )
    carried = page.get_by_role("region", name=f"Carried forward from {CYCLE}")
    expect(carried).to_contain_text(
        f"Lena Park opened {NEXT} with 1 squad, 1 initiative, 0 dependencies and 1 key result."
    )
    squads_carried = carried.get_by_role("table", name="Squads carried forward")
    expect(squads_carried.get_by_role("row")).to_have_count(2)
    expect(squads_carried).to_contain_text(f"first-90-days-{NEXT_KEY}")
    expect(squads_carried).not_to_contain_text(ADOPTION)
    expect(carried).to_contain_text(f"Initiatives: Guided onboarding program ({FIRST_90}).")
    expect(carried).to_contain_text(f"Key results: Day-90 activation rate ({FIRST_90}).")
    expect(carried).not_to_contain_text("Weekly active accounts")
    expect(page.get_by_role("region", name="History")).to_contain_text(
        f"opened the cycle with work carried forward from {CYCLE}"
    )
    screenshot(page, artifacts, "walk-next-cycle")
    accessible(page)

    # The next season starts over: Adoption has no squad in it yet, and the check's link
    # offers the squads of the next cycle, not the last one's.
    check = page.locator("#check-coverage")
    expect(check).to_contain_text(
        f"No squad of {NEXT} covers the Adoption stage of Customer lifecycle."
    )
    check.get_by_role("link", name="Assign a squad").click()
    expect(page.get_by_role("region", name=f"Squads of {NEXT}")).to_be_visible()
    page.get_by_label("Squad", exact=True).select_option(label=FIRST_90)
    page.get_by_role("button", name="Cover the stage").click()
    expect(page.get_by_role("status").first).to_contain_text(
        f"{FIRST_90} covers the Adoption stage now."
    )
    check = season_check(page, "coverage", f"/cycles/{NEXT_KEY}/")
    expect(check.get_by_role("listitem")).to_have_count(0)

    # The carried work is where the page says, its squad's plan a draft to approve afresh.
    carried.get_by_role("link", name="Day-90 activation rate").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(FIRST_90)
    expect(page.get_by_role("region", name=f"OKR {NEXT}")).to_contain_text("Day-90 activation rate")
    page.go_back()
    carried.get_by_role("link", name="Guided onboarding program").click()
    expect(page).to_have_url(
        re.compile(rf"/squads/first-90-days-{NEXT_KEY}/plan/#initiative-guided-onboarding$")
    )
    expect(page.locator("#initiative-guided-onboarding")).to_contain_text(f"1 Feb – 31 Aug {YEAR}")
    expect(page.locator("#plan-status")).to_contain_text("has not approved it yet")
