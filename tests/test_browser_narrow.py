"""Every page of Throughline on a phone: 390 × 844 without sideways scrolling, and clean
under axe-core at 390 and 1280 wide, in the light and the dark colour scheme.

The pages are not listed by hand: every route docs/permissions.md documents for GET (the
table tests/test_permissions.py keeps true to the URL resolver) is opened, as a person it
shows as "yes" (or signed out where it is "open"), with the objects of the permission
matrix's demo company (tests/permission_matrix.py). A new page is therefore opened here
as soon as it has its row in the table; a GET route that is not a page a person reads (a
download, a feed, a fragment HTMX asks for, a redirect) is named in NOT_PAGES with the
reason, and the test checks it really does not answer a page. Pages behind a one-time
link (signing up, choosing a new password) and states no address names (a filtered board,
the 404 and 403 pages, a conflict while editing, an import's preview) are added below.

One Chromium and one context per person: each page is loaded once at 390 px, measured,
checked by axe-core in both colour schemes (the scheme is switched by media emulation,
which is what a context's color_scheme sets), then widened to 1280 px and checked again.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from tests import permission_matrix as matrix
from tests.test_browser import (  # the shared browser and helpers
    PASSWORD,
    accessibility_problems,
    browser,  # noqa: F401 - the module's Chromium, a fixture
    demo,  # noqa: F401 - the demo company, a fixture
    expect,
    opened_page,
    sign_in,
)

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
SCHEMES = ("light", "dark")

# GET routes that are not a page a person reads, and why.
NOT_PAGES = {
    "home": "redirects to the squads list",
    "board:export_csv": "a CSV download",
    "board:export_xlsx": "an Excel download",
    "board:row": "one board row for HTMX; a plain load redirects to the board",
    "findings_status": "the review's status for HTMX; a plain load redirects to the findings",
    "import_template_csv": "a CSV download",
    "import_template_xlsx": "an Excel download",
    "squads:initiative": "one initiative for HTMX; a plain load redirects to the plan",
    "squads:initiative_comments": "a thread for HTMX; a plain load redirects to the plan",
    "squads:initiatives": "the initiatives for HTMX; a plain load redirects to the plan",
    "squads:kr_detail": "a key result for HTMX; a plain load redirects to the squad",
    "squads:okr": "the objective for HTMX; a plain load redirects to the squad",
    "squads:plan_live": "the plan's poll, JSON",
    "squads:plan_section": "one section for HTMX; a plain load redirects to the plan",
    "squads:section_comments": "a thread for HTMX; a plain load redirects to the plan",
    "calendar_person": "an iCalendar feed",
    "calendar_squad": "an iCalendar feed",
    "api_unknown": "the API's JSON 404",
    "company_sign_in": "sends the browser to the company's sign-in (a 404 while not set up)",
    "health": "the liveness probe, for machines",
    "ready": "the readiness probe, for machines",
    "metrics": "Prometheus metrics, for machines",
}
# Routes outside the table whose pages are opened below, through their one-time links.
LINKED_PAGES = {
    "password_reset_confirm",
    "signup",
    "signup_form",
    "signin_link",
    "company_sign_in_callback",
}
# Whom a page is opened as, where the first role of the table that may see it would show
# an empty page: the person whose notifications, tokens and calendar links exist.
VIEWERS = {
    "notifications": "member",
    "api_tokens": "member",
    "calendar": "dri",
    "account": "member",
}
ROLE_ORDER = ("admin", "dri", "member", "provider", "leadership", "operations", "reader")
# The same routes with their filters and views set: what a person narrows a list to.
VARIANTS = {
    "board:board": (
        "?status=requested&blocking=on",
        "?group=needer",
        "?group=stage&overdue=on",
    ),
    "findings": ("?severity=high",),
    "timeline": ("?zoom=month&group=stage",),
    "search": ("?q=onboarding",),
}
NEW_PASSWORD_TOKEN = "narrow-test-invitation-token-0123456789abcdefghij"


@dataclass
class Visit:
    name: str
    path: str
    role: str  # "anonymous" or a role of the permission matrix
    status: int = 200
    # Gets the page there in the browser when an address alone does not (a form to send).
    arrive: Callable[[Page], None] | None = None
    problems: list[str] = field(default_factory=list)


def _viewer(route: str, row: dict[str, str]) -> str:
    if row.get("anonymous") == "open":
        return "anonymous"
    if route in VIEWERS:
        return VIEWERS[route]
    allowed = [role for role in ROLE_ORDER if row.get(role) == "yes"]
    assert allowed, f"{route}: nobody may open it, per docs/permissions.md"
    return allowed[0]


def page_routes() -> dict[str, dict[str, str]]:
    """Every route the table documents for GET, outside the API, but NOT_PAGES."""
    return {
        case.route: row
        for case, row in matrix.documented().items()
        if case.method == "GET"
        and not case.route.startswith("api:")
        and case.route not in NOT_PAGES
    }


def test_every_route_is_a_page_here_or_says_why_not():
    """A route the permission table does not cover is either opened here through its link,
    or named in NOT_PAGES; and NOT_PAGES names only routes that exist."""
    documented = {case.route for case in matrix.documented()}
    outside = matrix.routes() - documented - {r for r in matrix.routes() if r.startswith("api:")}
    unexplained = sorted(outside - LINKED_PAGES - set(NOT_PAGES))
    assert not unexplained, f"routes neither opened nor in NOT_PAGES: {unexplained}"
    gone = sorted((set(NOT_PAGES) | LINKED_PAGES | set(VARIANTS)) - matrix.routes())
    assert not gone, f"listed here but no longer routes: {gone}"


def visits(world: matrix.World) -> list[Visit]:
    found = []
    for route, row in sorted(page_routes().items()):
        role = _viewer(route, row)
        path = world.url(route)
        found.append(Visit(route, path, role))
        for query in VARIANTS.get(route, ()):
            found.append(Visit(f"{route} {query}", path + query, role))
    return found


def linked_and_stateful_visits(world: matrix.World) -> list[Visit]:
    from django.contrib.auth.tokens import default_token_generator
    from django.utils.encoding import force_bytes
    from django.utils.http import urlsafe_base64_encode

    from core import services as core_services

    jo = get_user_model().objects.get(username="jo")
    uid, token = urlsafe_base64_encode(force_bytes(jo.pk)), default_token_generator.make_token(jo)
    reset = f"/accounts/reset/{uid}/{token}/"
    world.invitation.token_digest = core_services.token_digest(NEW_PASSWORD_TOKEN)
    world.invitation.save(update_fields=["token_digest"])

    def conflict(page: Page) -> None:
        from squads import services as squad_services

        page.goto("/squads/first-90-days/plan/section/desired-experience/edit/")
        squad_services.plan_section_update(
            squad=world.squad("first-90-days"),
            section="desired_experience",
            text="Written meanwhile by someone else.",
            by=world.users["admin"],
        )
        form = page.locator("#desired-experience form")
        form.get_by_role("textbox").fill("My own words, written at the same time.")
        form.get_by_role("button", name="Save").click()
        conflict_shown = page.get_by_role("alert").filter(has_text="after you started editing")
        expect(conflict_shown).to_be_visible()

    def import_preview(page: Page) -> None:
        # One new initiative for the DRI's squad: a valid file, so its preview shows.
        rows = (
            "squad,key,title,function,starts,ends,headcount\n"
            "first-90-days,renewal-health,Renewal health score,Operations,2027-04-01,2027-06-30,1\n"
        )
        page.goto("/import/")
        page.locator("input[type=file]").set_input_files(
            {"name": "plans.csv", "mimeType": "text/csv", "buffer": rows.encode()}
        )
        page.get_by_role("button", name="Check the file").click()
        expect(page.get_by_role("heading", name="Preview of plans.csv")).to_be_visible()

    def signin_link(page: Page) -> None:
        from core.single_sign_on import signin_link_tokens

        # Made now: a token lapses once its administrator signs in, as the visits before did.
        admin = get_user_model().objects.get(pk=world.users["admin"].pk)
        page.goto(
            f"/accounts/signin-link/{urlsafe_base64_encode(force_bytes(admin.pk))}/"
            f"{signin_link_tokens.make_token(admin)}/"
        )
        expect(page.get_by_role("button", name="Sign in as admin")).to_be_visible()

    return [
        Visit("password_reset_confirm", reset, "anonymous"),
        Visit("signin_link", "", "anonymous", arrive=signin_link),
        # The provider's answer, while the company sign-in is not set up.
        Visit("company_sign_in_callback", "/accounts/company/callback/", "anonymous", 404),
        # Before the link below opens the invitation in this browser.
        Visit("signup_form without an invitation", "/signup/", "anonymous", status=404),
        Visit("signup then signup_form", f"/signup/{NEW_PASSWORD_TOKEN}/", "anonymous"),
        Visit("404", "/squads/no-such-squad/", "member", status=404),
        Visit("403", world.url("squads:kr_edit"), "member", status=403),
        Visit("conflict while editing a section", "", "dri", status=409, arrive=conflict),
        Visit("an import's preview", "", "dri", arrive=import_preview),
    ]


# The element that reaches furthest past the right edge, the innermost of several that end
# there, leaving out what an ancestor clips or scrolls (an absolutely positioned element only
# by an ancestor it is positioned in): what makes the page scroll sideways.
WIDEST = """() => {
  const width = window.innerWidth;
  if (document.documentElement.scrollWidth <= width) return null;
  const clipped = (el) => {
    let position = getComputedStyle(el).position;
    if (position === "fixed") return true;
    for (let p = el.parentElement; p && p !== document.documentElement; p = p.parentElement) {
      const style = getComputedStyle(p);
      if (position === "absolute" && style.position === "static") continue;
      if (style.overflowX !== "visible") return true;
      position = style.position;
      if (position === "fixed") return true;
    }
    return false;
  };
  let worst = null;
  for (const el of document.body.querySelectorAll("*")) {
    const box = el.getBoundingClientRect();
    if (box.width === 0 || box.right <= width + 0.5 || clipped(el)) continue;
    if (!worst || box.right > worst.right + 0.5
        || (Math.abs(box.right - worst.right) <= 0.5 && worst.el.contains(el))) {
      worst = {el, right: box.right, width: box.width};
    }
  }
  const scroll = document.documentElement.scrollWidth;
  if (!worst) return `the page is ${scroll} px wide`;
  const el = worst.el;
  const name = el.tagName.toLowerCase() + (el.id ? "#" + el.id : "")
    + [...el.classList].map((c) => "." + c).join("");
  const text = (el.textContent || "").trim().replace(/\\s+/g, " ").slice(0, 50);
  return `the page is ${scroll} px wide; widest: ${name} (${Math.round(worst.width)} px, `
    + `right edge at ${Math.round(worst.right)} px)` + (text ? ` "${text}"` : "");
}"""


def check(page: Page, visit: Visit) -> None:
    """At 390 then 1280 wide, light then dark: what is wrong, in visit.problems."""
    page.set_viewport_size(PHONE)
    if too_wide := page.evaluate(WIDEST):
        visit.problems.append(f"scrolls sideways at 390 px: {too_wide}")
    for viewport in (PHONE, DESKTOP):
        page.set_viewport_size(viewport)
        for scheme in SCHEMES:
            page.emulate_media(color_scheme=scheme)
            for problem in accessibility_problems(page):
                visit.problems.append(f"axe at {viewport['width']} px, {scheme}: {problem}")
    page.emulate_media(color_scheme="light")
    page.set_viewport_size(PHONE)


@pytest.fixture
def world(live_server) -> matrix.World:
    made = matrix.World()
    users = get_user_model().objects
    for username in matrix.ROLE_USERS.values():
        user = users.get(username=username)
        user.set_password(PASSWORD)
        user.save(update_fields=["password"])
    return made


def test_not_pages_do_not_answer_a_page(world: matrix.World):
    client = Client()
    client.force_login(world.users["admin"])
    wrong = []
    for route in sorted(set(NOT_PAGES) & {case.route for case in matrix.documented()}):
        response = client.get(world.url(route))
        html = "html" in response.get("Content-Type", "")
        if response.status_code == 200 and html and b"<html" in response.content[:4000]:
            wrong.append(route)
    assert not wrong, f"NOT_PAGES lists routes that answer a whole page: {wrong}"


def test_every_page_fits_a_phone_and_passes_axe_in_both_schemes(
    browser: Browser,  # noqa: F811
    live_server,
    world: matrix.World,
):
    planned = visits(world) + linked_and_stateful_visits(world)
    pages: dict[str, Page] = {}
    statuses: list[str] = []
    with ExitStack() as stack:

        def page_for(role: str) -> Page:
            if role not in pages:
                opened = stack.enter_context(
                    opened_page(browser, live_server.url, viewport=PHONE, color_scheme="light")
                )
                if role != "anonymous":
                    sign_in(opened, matrix.ROLE_USERS[role])
                pages[role] = opened
            return pages[role]

        for visit in planned:
            page = page_for(visit.role)
            if visit.arrive is not None:
                page.set_viewport_size(PHONE)
                visit.arrive(page)
                status = visit.status  # arrive() checked that the page shows what it should
            else:
                response = page.goto(visit.path)
                status = response.status if response is not None else 0
            if status != visit.status:
                statuses.append(f"{visit.name} ({visit.path}): {status}, not {visit.status}")
                continue
            check(page, visit)
    assert not statuses, "pages that did not open as expected:\n" + "\n".join(statuses)
    report = "\n\n".join(
        f"{visit.name} ({visit.path or 'after a form'}) as {visit.role}:\n"
        + "\n".join(visit.problems)
        for visit in planned
        if visit.problems
    )
    assert not report, f"pages that do not fit a phone or fail axe-core:\n\n{report}"
    assert len(planned) > 60, len(planned)


@pytest.fixture
def phone(browser: Browser, live_server, demo) -> Iterator[Page]:  # noqa: F811
    with opened_page(browser, live_server.url, viewport=PHONE) as opened:
        yield opened


def test_on_a_phone_the_menu_and_the_filters_fold_and_open_by_keyboard(phone: Page):
    page = phone
    sign_in(page, "priya")
    page.goto("/board/")
    nav = page.get_by_role("navigation", name="Main")
    menu = nav.get_by_role("button", name="Menu")
    board_link = nav.get_by_role("link", name="Board", exact=True)
    expect(menu).to_have_attribute("aria-expanded", "false")
    expect(board_link).to_be_hidden()
    # The list, not the filters, fills the first screen.
    expect(page.get_by_label("Status")).to_be_hidden()
    first_row = page.locator("tr.dep-row").first
    assert first_row.bounding_box()["y"] < PHONE["height"], first_row.bounding_box()

    # Skip link, brand, then the Menu button; Enter opens it, its links follow it.
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    expect(menu).to_be_focused()
    page.keyboard.press("Enter")
    expect(menu).to_have_attribute("aria-expanded", "true")
    page.keyboard.press("Tab")
    expect(nav.get_by_role("link", name="Season")).to_be_focused()
    # Escape closes it and gives the focus back to the button.
    page.keyboard.press("Escape")
    expect(menu).to_have_attribute("aria-expanded", "false")
    expect(menu).to_be_focused()
    expect(board_link).to_be_hidden()

    # The filters open from their summary, by keyboard, and filter.
    filters = page.locator(".board-filters summary")
    filters.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_label("Status")).to_be_visible()
    page.get_by_label("Status").select_option(label="Accepted")
    page.get_by_role("button", name="Apply").click()
    expect(page).to_have_url(re.compile(r"status=accepted"))
    expect(filters).to_contain_text("in use")

    # On a desktop the button is gone and everything is shown.
    page.set_viewport_size(DESKTOP)
    expect(menu).to_be_hidden()
    expect(board_link).to_be_visible()
    expect(page.get_by_label("Status")).to_be_visible()


def test_on_a_phone_without_javascript_every_link_stays_reachable(
    browser: Browser,  # noqa: F811
    live_server,
    demo,  # noqa: F811
):
    with opened_page(browser, live_server.url, viewport=PHONE, java_script_enabled=False) as page:
        sign_in(page, "priya")
        page.goto("/board/")
        nav = page.get_by_role("navigation", name="Main")
        expect(nav.get_by_role("button", name="Menu")).to_be_hidden()
        for name in ("Season", "Goals", "Journeys", "Squads", "Board", "Timeline", "People"):
            expect(nav.get_by_role("link", name=name, exact=True)).to_be_visible()
        expect(page.get_by_label("Status")).to_be_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
