"""The board's, the plan page's and the timeline's cached renderings: whatever changes the
data they show, however it is written, the next person to ask sees it; and no one sees
another person's rights, CSRF token or poll token."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from urllib.parse import unquote

import pytest
from django.conf import settings as django_settings
from django.core.handlers.wsgi import WSGIRequest
from django.db import connection, transaction
from django.http import QueryDict
from django.test import Client
from django.urls import reverse

from core import pagecache
from core.models import PageRevision, Profile
from dependencies.models import Dependency
from squads import cowriting
from squads.models import OKR, Comment, Initiative, KeyResult, Membership, Plan, Squad, SquadStage
from tests import factories as f

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

DUE = dt.date(2027, 3, 1)


# A world of its own, apart from the shared one: Ann's squad "onboarding", with Ben, needs an
# invoice API from Cid's squad "billing" for its welcome pack.


@pytest.fixture
def ben():
    return f.person("ben", "Ben Brook")


@pytest.fixture
def cid():
    return f.person("cid", "Cid Cole")


@pytest.fixture
def onboarding(ben):
    return f.squad("onboarding", dri=f.person("ann"), cycle=f.cycle("fy2027"), members=[ben])


@pytest.fixture
def billing(onboarding, cid):
    return f.squad("billing", dri=cid, cycle=onboarding.cycle)


@pytest.fixture
def welcome_invoices(onboarding, billing, cid):
    """The welcome pack (onboarding's) needs the invoice API (billing's), owned by Cid."""
    work = f.initiative(onboarding, "welcome-pack", title="Welcome pack")
    offer = f.initiative(billing, "invoice-api", title="Invoice API")
    return Dependency.objects.create(
        key="welcome-invoices",
        from_initiative=work,
        to_initiative=offer,
        what="Invoices in the welcome pack",
        due=DUE,
        owner=cid,
    )


def plan_url(squad: Squad) -> str:
    return reverse("squads:plan", args=[squad.key])


def page(client: Client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_cache_is_in_use_here():
    assert pagecache.enabled()


# ---------------------------------------------------------------------------------------
# Changes show at once, however they are written
# ---------------------------------------------------------------------------------------


def test_a_bulk_status_change_shows_on_the_board_and_on_both_plans(
    welcome_invoices, olga, onboarding, billing, ben
):
    board = signed_in(olga)
    member = signed_in(ben)
    assert "Requested" in page(board, reverse("board:board"))
    assert "Requested" in page(member, plan_url(onboarding))
    assert "Requested" in page(member, plan_url(billing))

    # No signal, no version: a plain UPDATE, as a script or a bulk edit would make.
    Dependency.objects.filter(pk=welcome_invoices.pk).update(status="at_risk")

    assert "At risk" in page(board, reverse("board:board"))
    assert "At risk" in page(member, plan_url(onboarding))
    assert "At risk" in page(member, plan_url(billing))


def test_renaming_the_provider_shows_on_the_board_and_on_the_needing_plan(
    welcome_invoices, olga, ben, onboarding, billing
):
    board, member = signed_in(olga), signed_in(ben)
    assert "Invoice API" in page(board, reverse("board:board"))
    assert "Invoice API" in page(member, plan_url(onboarding))

    Initiative.objects.filter(pk=welcome_invoices.to_initiative_id).update(
        title="Invoices, version two"
    )
    Squad.objects.filter(pk=billing.pk).update(name="Billing and Invoices")

    board_page, plan_page = page(board, reverse("board:board")), page(member, plan_url(onboarding))
    for content in (board_page, plan_page):
        assert "Invoices, version two" in content
        assert "Invoice API" not in content
        assert "Billing and Invoices" in content


def test_a_person_renamed_in_the_directory_shows_as_the_owner(welcome_invoices, olga):
    board = signed_in(olga)
    assert "Cid Cole" in page(board, reverse("board:board"))
    Profile.objects.filter(user=welcome_invoices.owner).update(display_name="Cidney Cole-Smith")
    assert "Cidney Cole-Smith" in page(board, reverse("board:board"))


def test_a_plan_section_written_with_sql_shows_on_the_plan(onboarding, ben):
    member = signed_in(ben)
    assert "Customers wait a week" not in page(member, plan_url(onboarding))
    Plan.objects.update_or_create(
        squad=onboarding, defaults={"current_experience": "Customers wait a week for a login."}
    )
    assert "Customers wait a week for a login." in page(member, plan_url(onboarding))
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE planning_plan SET current_experience = %s WHERE squad_id = %s",
            ["Customers log in on day one.", onboarding.pk],
        )
    content = page(member, plan_url(onboarding))
    assert "Customers log in on day one." in content
    assert "wait a week" not in content


def test_a_change_that_is_rolled_back_never_shows(onboarding, ben):
    member = signed_in(ben)
    Plan.objects.update_or_create(squad=onboarding, defaults={"success_metrics": "Loyalty points."})
    assert "Loyalty points." in page(member, plan_url(onboarding))
    with pytest.raises(RuntimeError), transaction.atomic():
        Plan.objects.filter(squad=onboarding).update(success_metrics="Referral codes.")
        # Someone reads the page while the change is not yet committed elsewhere.
        assert "Referral codes." in page(member, plan_url(onboarding))
        raise RuntimeError("the save fails")
    content = page(member, plan_url(onboarding))
    assert "Loyalty points." in content
    assert "Referral codes." not in content


def test_one_squads_change_leaves_other_squads_plans_cached(onboarding, billing, ben):
    before = pagecache.revisions([pagecache.squad_scope(billing.pk), pagecache.DIRECTORY])
    Plan.objects.update_or_create(squad=onboarding, defaults={"success_metrics": "Loyalty points."})
    f.initiative(onboarding, "another", title="Another")
    after = pagecache.revisions([pagecache.squad_scope(billing.pk), pagecache.DIRECTORY])
    assert after == before


def test_a_bulk_insert_moves_each_scope_once_and_values_never_repeat(onboarding, billing):
    work = f.initiative(onboarding, "bulk", title="Bulk")
    before = dict(PageRevision.objects.values_list("scope", "value"))
    Dependency.objects.bulk_create(
        Dependency(key=f"bulk-{n}", from_initiative=work, to_squad=billing, what="x", due=DUE)
        for n in range(500)
    )
    after = dict(PageRevision.objects.values_list("scope", "value"))
    moved = {scope for scope in after if after[scope] != before.get(scope)}
    assert moved == {"board", f"squad:{onboarding.pk}", f"squad:{billing.pk}"}
    assert len(set(after.values())) == len(after)


# ---------------------------------------------------------------------------------------
# What is per person stays per person
# ---------------------------------------------------------------------------------------


def test_a_reader_never_gets_a_members_edit_buttons(onboarding, ben, olga):
    edit = reverse("squads:plan_section_edit", args=[onboarding.key, "current-experience"])
    assert edit in page(signed_in(ben), plan_url(onboarding))
    reader = page(signed_in(olga), plan_url(onboarding))
    assert edit not in reader
    assert "Read only: only the squad's members change its plan." in reader


def test_the_board_offers_answers_only_to_the_provider(welcome_invoices, ben, cid):
    assert 'value="accept"' in page(signed_in(cid), reverse("board:board"))
    assert 'value="accept"' not in page(signed_in(ben), reverse("board:board"))


def test_a_cached_page_carries_the_readers_own_csrf_and_poll_tokens(onboarding, ben):
    person = f.person("eve", "Eve Ek")
    Membership.objects.create(squad=onboarding, person=person, function="Product")
    first = page(signed_in(ben), plan_url(onboarding))

    eve = Client(enforce_csrf_checks=True)
    eve.force_login(person)
    content = page(eve, plan_url(onboarding))
    assert pagecache.marker("csrf_token") not in content
    assert pagecache.marker("live_url") not in content
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', content).group(1)
    assert token not in first

    live = re.search(r'data-live-url="[^"]*\?t=([^"]+)"', content).group(1)
    assert cowriting.read_poll_token(unquote(live)) == (person.pk, onboarding.pk)

    # The token from the cached page is accepted: the save goes through.
    response = eve.post(
        reverse("squads:plan_section_edit", args=[onboarding.key, "success-metrics"]),
        {"csrfmiddlewaretoken": token, "text": "Loyalty points.", "version": "1"},
    )
    assert response.status_code in (200, 302)
    assert Plan.objects.get(squad=onboarding).success_metrics == "Loyalty points."
    assert "Loyalty points." in page(signed_in(ben), plan_url(onboarding))


# ---------------------------------------------------------------------------------------
# Without the cache
# ---------------------------------------------------------------------------------------


def test_pages_render_when_the_cache_cannot_be_reached(
    welcome_invoices, olga, onboarding, settings
):
    settings.CACHES = {
        "default": {
            "BACKEND": "throughline.redis_cache.RedisCache",
            "LOCATION": "redis://127.0.0.1:9/0",  # nothing listens on the discard port
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.2, "SOCKET_TIMEOUT": 0.2},
        }
    }
    settings.COWRITING_SHARED_CACHE = False
    client = signed_in(olga)
    assert "Invoices in the welcome pack" in page(client, reverse("board:board"))
    assert "Invoices in the welcome pack" in page(client, plan_url(onboarding))


# ---------------------------------------------------------------------------------------
# Every table a cached page reads moves a revision
# ---------------------------------------------------------------------------------------

# Read on the way to a cached body but not shown in it: the session and account, what the
# person may do (part of the key, read afresh each time), the revisions themselves, the
# co-writing stamp and the navigation around the body (both put in per request).
NOT_IN_THE_BODY = {
    "django_session",
    "auth_group",
    "auth_user_groups",
    "planning_pagerevision",
    "planning_planstamp",
    "planning_notification",
}


def _tables_read(sql: str) -> set[str]:
    return set(re.findall(r'(?:FROM|JOIN)\s+"?([a-z_]+)"?', sql))


def _tables_with_triggers() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid"
            " WHERE t.tgname LIKE 'planning_touch%%'"
        )
        return {row[0] for row in cursor.fetchall()}


def test_every_table_the_cached_pages_draw_from_moves_a_revision(
    welcome_invoices, olga, ben, onboarding, settings
):
    from django.test.utils import CaptureQueriesContext

    stage = f.stage()
    work = f.initiative(onboarding, "staged", title="Staged", stage=stage)
    SquadStage.objects.create(squad=onboarding, stage=stage)
    Comment.objects.create(squad=onboarding, initiative=work, author=ben, body="Looks right.")
    Comment.objects.create(squad=onboarding, section="success_metrics", author=ben, body="Agreed.")
    okr = OKR.objects.create(squad=onboarding, cycle=onboarding.cycle, objective="Welcome everyone")
    KeyResult.objects.create(okr=okr, key="activation", name="Activation", target=80)
    settings.PAGE_CACHE = False  # draw every part, as a cache miss does
    read: set[str] = set()
    for client, url in (
        (signed_in(olga), reverse("board:board")),
        (signed_in(ben), plan_url(onboarding)),
        (signed_in(ben), reverse("board:board") + "?group=month&status=open"),
        (signed_in(ben), reverse("timeline")),
        (signed_in(olga), reverse("timeline") + "?group=stage&zoom=month"),
    ):
        with CaptureQueriesContext(connection) as queries:
            page(client, url)
        for query in queries.captured_queries:
            read |= _tables_read(query["sql"])
    assert {
        "dependencies_dependency",
        "planning_plan",
        "planning_initiative",
        "journeys_stage",
        "journeys_segment",
    } <= read
    untracked = read - NOT_IN_THE_BODY - _tables_with_triggers()
    assert untracked == set(), f"shown on a cached page, no trigger moves a revision: {untracked}"


# ---------------------------------------------------------------------------------------
# The query parameters that change a page are in its key; any other bypasses the cache
# ---------------------------------------------------------------------------------------


def _arrangement(content: str) -> str:
    return re.search(r'id="initiatives"[^>]*data-view="([a-z]+)"', content).group(1)


def test_one_persons_timeline_is_never_served_as_anothers_plain_plan(onboarding, ben):
    f.initiative(onboarding, "welcome-pack", title="Welcome pack")
    other = f.person("eve", "Eve Ek")
    Membership.objects.create(squad=onboarding, person=other, function="Product")
    assert _arrangement(page(signed_in(ben), plan_url(onboarding) + "?view=timeline")) == "timeline"
    assert _arrangement(page(signed_in(other), plan_url(onboarding))) == "function"
    assert _arrangement(page(signed_in(ben), plan_url(onboarding) + "?view=function")) == "function"
    assert (
        _arrangement(page(signed_in(other), plan_url(onboarding) + "?view=timeline")) == "timeline"
    )


class _Recorded:
    """The query parameters read by name while a cached body is drawn."""

    drawing = False
    names: set[str] = set()


class _RecordingQueryDict(QueryDict):
    """request.GET, noting each name looked up once it is built (copies too: a form copies
    the data it is bound to)."""

    def __init__(self, *args, **kwargs) -> None:
        self._ready = False
        super().__init__(*args, **kwargs)
        self._ready = True

    def _note(self, key) -> None:
        if _Recorded.drawing and self._ready:
            _Recorded.names.add(key)

    def __getitem__(self, key):
        self._note(key)
        return super().__getitem__(key)

    def __contains__(self, key):
        self._note(key)
        return super().__contains__(key)

    def get(self, key, default=None):
        self._note(key)
        return super().get(key, default)

    def getlist(self, key, default=None):
        self._note(key)
        return super().getlist(key, default)


@pytest.fixture
def recorded(monkeypatch, settings):
    settings.PAGE_CACHE = False  # draw every body
    body = pagecache.body

    def drawing(request, *, render, **kwargs):
        def recording(stand_ins):
            _Recorded.drawing = True
            try:
                return render(stand_ins)
            finally:
                _Recorded.drawing = False

        return body(request, render=recording, **kwargs)

    monkeypatch.setattr(pagecache, "body", drawing)
    monkeypatch.setattr(
        WSGIRequest,
        "GET",
        property(lambda request: _RecordingQueryDict(request.META.get("QUERY_STRING", ""))),
    )
    _Recorded.names = set()
    return _Recorded


def test_each_cached_page_lists_exactly_the_query_parameters_its_body_reads(
    recorded, welcome_invoices, onboarding, ben, olga
):
    every = "&".join(f"{name}=x" for name in sorted(set().union(*QUERY_PARAMS.values())))
    for name, url, client in (
        ("plan", plan_url(onboarding), signed_in(ben)),
        ("board", reverse("board:board"), signed_in(olga)),
        ("timeline", reverse("timeline"), signed_in(ben)),
    ):
        recorded.names = set()
        for query in ("", "?view=timeline", "?group=month&status=open&page=2", "?" + every):
            client.get(url + query)
        assert recorded.names == pagecache.QUERY_PARAMETERS[name], name


QUERY_PARAMS = pagecache.QUERY_PARAMETERS
# Read from request.GET by views whose pages are not cached: where, so that a name read
# anywhere is placed on purpose, either here or in pagecache.QUERY_PARAMETERS.
READ_BY_PAGES_NOT_CACHED = {
    "since": "the co-writing poll",
    "t": "the co-writing poll",
    "editing": "the co-writing poll",
    "page": "the plan history, the findings list and the search page",
    "next": "forms that send the person back where they came from",
    "nodes": "the dependency graph",
    "was": "the findings page after a review run",
    "seen": "the findings page's poll of the review's status",
    "initiative": "the initiative editors' check for similar work (a POST)",
    "q": "the search page",
    "kind": "the search page (one kind of result, paged)",
}


def test_every_query_parameter_read_in_the_code_is_placed_on_purpose():
    root = Path(django_settings.BASE_DIR)
    read = re.compile(r"""\.GET(?:\.get|\.getlist|\.pop)?[(\[]\s*["']([\w-]+)["']""")
    in_templates = re.compile(r"request\.GET\.(\w+)")
    names: dict[str, str] = {}
    for folder in ("planning", "squads", "dependencies", "journeys", "api"):
        for path in (root / folder).rglob("*.py"):
            for name in read.findall(path.read_text()):
                names.setdefault(name, str(path.relative_to(root)))
    for path in (root / "templates").rglob("*.html"):
        for name in in_templates.findall(path.read_text()):
            names.setdefault(name, str(path.relative_to(root)))
    assert {"view", "group", "page", "since"} <= set(names)  # the scan finds them
    cached = set().union(*QUERY_PARAMS.values())
    unplaced = {
        name: where
        for name, where in names.items()
        if name not in cached and name not in READ_BY_PAGES_NOT_CACHED
    }
    assert unplaced == {}, (
        "a query parameter is read here: add it to pagecache.QUERY_PARAMETERS if a cached "
        f"page's body reads it, else to READ_BY_PAGES_NOT_CACHED: {unplaced}"
    )


def _drawn(content: str) -> str:
    """The page without what differs per request (nonce, CSRF and poll tokens)."""
    content = re.sub(r'nonce="[^"]*"', "", content)
    content = re.sub(r'value="[A-Za-z0-9]{64}"', "", content)
    content = re.sub(r'"x-csrftoken": "[^"]*"', "", content, flags=re.IGNORECASE)
    return re.sub(r"\?t=[^\"&]+", "", content)


@pytest.mark.parametrize(
    ("name", "queries"),
    [
        ("plan", ["", "?view=timeline", "?view=function", "?view=nonsense"]),
        (
            "board",
            [
                "",
                "?group=month",
                "?group=due",
                "?status=open",
                "?status=done",
                "?status=open&status=done",
                "?overdue=on",
                "?blocking=on",
                "?within=7",
                "?dep=welcome-invoices",
                "?from=onboarding",
                "?to=billing",
                "?page=2",
                "?group=month&status=open",
                "?unlisted=1",
            ],
        ),
        (
            "timeline",
            [
                "",
                "?group=stage",
                "?zoom=month",
                "?squad=onboarding",
                "?squad=billing",
                "?function=Product",
                "?function=Sales",
                "?stage=none",
                "?segment=nowhere",
                "?open=onboarding",
                "?page=2",
                "?group=stage&zoom=month",
                "?unlisted=1",
            ],
        ),
    ],
)
def test_different_query_parameters_never_share_a_cached_body(
    name, queries, welcome_invoices, onboarding, ben, settings
):
    url = {
        "plan": plan_url(onboarding),
        "board": reverse("board:board"),
        "timeline": reverse("timeline"),
    }[name]
    client = signed_in(ben)
    fresh = {}
    settings.PAGE_CACHE = False
    for query in queries:
        fresh[query] = _drawn(page(client, url + query))
    settings.PAGE_CACHE = True
    for _ in range(2):  # the first round fills the cache, the second reads it
        for query in queries:
            assert _drawn(page(client, url + query)) == fresh[query], query
