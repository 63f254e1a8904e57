"""The search page, /search/?q=: what a person finds, what they never find, and its bounds.

Behaviour tests run with each way the database searches: in full text on PostgreSQL and with
the plain fallback (on SQLite, and forced on PostgreSQL), so the fallback is checked whatever
the suite runs on. Tests that need PostgreSQL's own search (`or`, English stems, the indexes,
the time limit) are marked `postgres`.
"""

from __future__ import annotations

import datetime as dt
import html
import re
from dataclasses import dataclass, field

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from hypothesis import HealthCheck, given
from hypothesis import settings as examples
from hypothesis import strategies as st

from core import search as engine_module
from core.search import Query
from dependencies.models import Dependency
from journeys.models import Stage
from squads.models import OKR, Comment, Initiative, KeyResult, Plan
from tests import factories as f

pytestmark = pytest.mark.django_db

# Full text is what PostgreSQL does; the fallback is what SQLite does, and is forced on
# PostgreSQL too so that both paths are checked wherever the suite runs.
ENGINES = ["full text", "fallback"] if connection.vendor == "postgresql" else ["fallback"]
KIND_KEYS = ["initiatives", "dependencies", "squads", "stages", "key-results", "people", "comments"]


@pytest.fixture(params=ENGINES)
def engine(request, monkeypatch) -> str:
    if request.param == "fallback":
        monkeypatch.setattr(engine_module, "uses_full_text", lambda using: False)
    return request.param


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


# --- reading the page as a person does -------------------------------------------------------


@dataclass
class Hit:
    title: str
    url: str
    title_html: str
    snippet_html: str

    @property
    def snippet(self) -> str:
        return _text(self.snippet_html)


@dataclass
class Shown:
    html: str
    counts: dict[str, int] = field(default_factory=dict)  # the list at the top, by label
    totals: dict[str, int] = field(default_factory=dict)  # each group's heading, by kind
    hits: dict[str, list[Hit]] = field(default_factory=dict)

    def titles(self, kind: str) -> list[str]:
        return [hit.title for hit in self.hits.get(kind, [])]

    @property
    def text(self) -> str:
        return _text(self.html)


def _text(fragment: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", "", fragment)).split())


def shown(response) -> Shown:
    assert response.status_code == 200, response.status_code
    page = response.content.decode()
    main = page[page.index('<main id="main"') :]
    result = Shown(html=main)
    counts = re.search(r'<ul class="search-counts__list">(.*?)</ul>', main, re.S)
    if counts:
        for label, count in re.findall(r'>([^<>]+?) <span class="count">(\d+)</span>', counts[1]):
            result.counts[label.strip()] = int(count)
    for kind, body in re.findall(
        r'<section class="card search-group" id="results-([\w-]+)"(.*?)</section>', main, re.S
    ):
        result.totals[kind] = int(re.search(r'<span class="count">(\d+)</span>', body)[1])
        result.hits[kind] = []
        for item in re.findall(r'<li class="search-hit">(.*?)</li>', body, re.S):
            title_html = re.search(r'<h3 class="search-hit__title">(.*?)</h3>', item, re.S)[1]
            link = re.search(r'<a href="([^"]*)">', title_html)
            snippet = re.search(r'<p class="search-hit__snippet">(.*?)</p>', item, re.S)
            result.hits[kind].append(
                Hit(
                    title=_text(title_html),
                    url=html.unescape(link[1]) if link else "",
                    title_html=title_html,
                    snippet_html=snippet[1] if snippet else "",
                )
            )
    return result


def search(client: Client, q: str, **params) -> Shown:
    return shown(client.get("/search/", {"q": q, **params}))


# --- a small world with something of every kind ------------------------------------------------


@pytest.fixture
def every_kind(cycle, needing, providing, wizard, dep, stage, bob, dora):
    """ "wizard" in an initiative (the fixture's), a dependency (the fixture's), a squad, a
    journey stage, a key result, a person and two comments."""
    guild = f.squad("wizard-guild", dri=dora, cycle=cycle, name="Wizard Guild")
    wanda = f.person("wanda", "Wanda Wizard", function="Marketing")
    f.member(providing, wanda, function="Marketing")
    setup = f.stage("lifecycle", "setup", name="Wizard setup", customer_goal="Set up quickly")
    okr = OKR.objects.create(squad=needing, cycle=cycle, objective="Customers reach value fast")
    kr = KeyResult.objects.create(okr=okr, key="wizard-completion", name="Wizard completion rate")
    on_initiative = Comment.objects.create(
        squad=needing, initiative=wizard, author=bob, body="The wizard copy needs a review."
    )
    on_section = Comment.objects.create(
        squad=needing, section="desired_experience", author=bob, body="Day 1 opens the wizard."
    )
    return {
        "guild": guild,
        "stage": setup,
        "kr": kr,
        "comments": (on_initiative, on_section),
    }


def test_someone_not_signed_in_is_sent_to_sign_in(client):
    response = client.get("/search/", {"q": "wizard"})
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=/search/")


def test_every_page_has_the_search_box_and_the_search_page_keeps_the_words(carol):
    client = signed_in(carol)
    page = client.get("/squads/").content.decode()
    form = re.search(
        r'<form class="nav-search" role="search" method="get" action="/search/">'
        r"(.*?)</form>",
        page,
        re.S,
    )
    assert form, "the navigation has no search form"
    assert '<label for="nav-search">Search</label>' in form[1]
    assert 'name="q"' in form[1]
    results = client.get("/search/", {"q": "wizard <b>"}).content.decode()
    assert 'id="nav-search" name="q" value="wizard &lt;b&gt;"' in results


def test_an_empty_search_shows_a_hint_and_no_results(carol):
    for q in ("", "   "):
        page = search(signed_in(carol), q)
        assert "Type a few words to find initiatives" in page.text
        assert page.hits == {} and page.counts == {}


def test_a_search_of_only_words_to_leave_out_asks_for_a_word(carol, engine, wizard):
    page = search(signed_in(carol), "-campaign")
    assert "Say what to find as well as what to leave out" in page.text
    assert page.hits == {}


def test_each_kind_is_found_and_links_to_where_it_lives(carol, engine, every_kind, wizard):
    client = signed_in(carol)
    page = search(client, "wizard")

    assert set(page.counts) == {
        "Initiatives",
        "Dependencies",
        "Squads",
        "Journey stages",
        "Key results",
        "People",
        "Comments",
    }
    assert page.counts["Comments"] == 2 and page.totals["comments"] == 2
    urls = {kind: [hit.url for hit in hits] for kind, hits in page.hits.items()}
    stage = every_kind["stage"]
    assert urls["initiatives"] == ["/squads/first-90-days/plan/#initiative-wizard"]
    assert urls["dependencies"] == ["/board/?dep=messaging"]
    assert urls["squads"] == ["/squads/wizard-guild/"]
    assert urls["stages"] == [f"/journeys/lifecycle/#stage-{stage.pk}"]
    assert urls["key-results"] == ["/squads/first-90-days/#kr-wizard-completion"]
    assert urls["people"] == ["/people/wanda/"]
    assert sorted(urls["comments"]) == [
        "/squads/first-90-days/plan/#comments-desired-experience",
        "/squads/first-90-days/plan/#comments-initiative-wizard",
    ]
    assert page.titles("people") == ["Wanda Wizard"]
    assert "Bob Baker on “In-app onboarding wizard”" in page.titles("comments")
    assert "The wizard copy needs a review." in [hit.snippet for hit in page.hits["comments"]]

    # Each link opens a page that has the thing where the link points.
    for kind, links in urls.items():
        for url in links:
            path, _, anchor = url.partition("#")
            target = client.get(path)
            assert target.status_code == 200, (kind, url)
            body = target.content.decode()
            if anchor:
                assert f'id="{anchor}"' in body, (kind, url)
            else:
                assert any(
                    name in body
                    for name in ("Feature messaging for the wizard", "Wizard Guild", "Wanda Wizard")
                )


def test_a_search_longer_than_the_limit_is_cut_with_a_note(carol, engine, wizard):
    client = signed_in(carol)
    long = "wizard " + "-zzzz " * 60
    page = search(client, long)
    assert len(long) > 300
    assert "only its first 200 were searched" in page.text
    assert page.titles("initiatives") == ["In-app onboarding wizard"]

    # A word past the first 200 characters is not searched for.
    page = search(client, "-zzzz " * 40 + "wizard")
    assert "only its first 200 were searched" in page.text
    assert page.hits == {}
    kept = re.search(r'id="search-page-q" name="q" value="([^"]*)"', page.html)[1]
    assert len(html.unescape(kept)) <= 200


# --- drafts a cycle keeps to those working on them ---------------------------------------------


@pytest.fixture
def restricted(cycle, needing, providing, bob):
    """First 90 Days' plan is a draft in a cycle that restricts drafts; Product-led Growth's
    plan is approved. "zebra" is in a draft initiative, in a comment on the draft, and in
    the approved plan's initiative."""
    cycle.restrict_drafts = True
    cycle.save()
    Plan.objects.create(squad=providing, approved_at=timezone.now())
    secret = f.initiative(
        needing,
        "zebra",
        title="Zebra pricing experiment",
        description="Confidential zebra launch plan",
    )
    Comment.objects.create(squad=needing, initiative=secret, author=bob, body="Zebra numbers vary")
    Comment.objects.create(
        squad=needing, section="current_experience", author=bob, body="Zebra churn is rising"
    )
    f.initiative(providing, "roadmap", title="Public roadmap", description="A zebra mascot")
    return secret


HIDDEN_TEXT = ["Zebra pricing experiment", "Confidential", "launch plan", "numbers vary", "churn"]


def test_restricted_drafts_are_never_found_by_those_who_may_not_read_them(
    engine, restricted, carol, pete
):
    for person in (carol, pete):  # an outsider; a member of another squad
        client = signed_in(person)
        for q in ("zebra", "confidential launch", "zebra numbers", "pricing"):
            page = search(client, q)
            for text in HIDDEN_TEXT:
                assert text.lower() not in page.text.lower().replace(q.lower(), ""), (q, text)
        page = search(client, "zebra")
        assert page.titles("initiatives") == ["Public roadmap"]
        assert page.counts["Initiatives"] == 1 and page.totals["initiatives"] == 1
        assert page.counts["Comments"] == 0 and "comments" not in page.hits
        assert search(client, "pricing").counts["Initiatives"] == 0
        # Nor on the pages of one kind.
        assert search(client, "zebra", kind="initiatives").totals == {"initiatives": 1}
        assert search(client, "zebra", kind="comments").totals == {"comments": 0}


def test_the_squad_leadership_and_operations_find_the_draft(engine, restricted, bob, leo, olga):
    for person in (bob, leo, olga):
        page = search(signed_in(person), "zebra")
        assert sorted(page.titles("initiatives")) == ["Public roadmap", "Zebra pricing experiment"]
        assert page.counts["Comments"] == 2
        assert "Confidential zebra launch plan" in page.text


def test_an_approved_plan_is_found_by_everyone(engine, restricted, needing, alice, carol):
    Plan.objects.create(squad=needing, approved_at=timezone.now(), approved_by=alice)
    page = search(signed_in(carol), "zebra")
    assert sorted(page.titles("initiatives")) == ["Public roadmap", "Zebra pricing experiment"]
    assert page.counts["Comments"] == 2


# --- what is shown is text ----------------------------------------------------------------------


def test_hostile_text_shows_as_text_and_only_the_matches_are_marked(engine, needing, bob, carol):
    f.initiative(
        needing,
        "hostile",
        title='<script>alert("t")</script> Onboarding <b>bold</b> \ue000<i>x</i>\ue001',
        description='<img src=x onerror=alert(1)> onboarding & "quotes" \ue001</mark><u>',
    )
    Comment.objects.create(
        squad=needing,
        section="desired_experience",
        author=bob,
        body='<a href="javascript:alert(1)">onboarding</a> \ue000',
    )
    page = search(signed_in(carol), "onboarding")

    for raw in ("<script>", "<b>bold", "<i>x", "<img", "<u>", "</mark><u>", 'href="javascript:'):
        assert raw not in page.html, raw
    assert (
        "&lt;script&gt;alert(&quot;t&quot;)&lt;/script&gt;"
        in page.hits["initiatives"][0].title_html
    )
    [initiative] = page.hits["initiatives"]
    assert initiative.title.startswith('<script>alert("t")</script> Onboarding <b>bold</b>')
    assert "onerror=alert(1)> onboarding" in initiative.snippet
    [comment] = page.hits["comments"]
    # PostgreSQL's snippet may leave out the markup around the words; whatever it keeps is
    # shown as text (above).
    assert "<mark>onboarding</mark>" in comment.snippet_html
    marked = re.findall(r"<mark>(.*?)</mark>", page.html)
    assert marked and {m.lower() for m in marked} == {"onboarding"}, marked


def test_a_title_match_ranks_above_a_description_match(engine, needing, carol):
    # The description match is older, so only the rank can put the title match first.
    f.initiative(needing, "quarterly", title="Quarterly plan", description="Renewal of contracts")
    f.initiative(needing, "playbook", title="Renewal playbook", description="How we work")
    page = search(signed_in(carol), "renewal")
    assert page.titles("initiatives") == ["Renewal playbook", "Quarterly plan"]


def test_quotes_find_a_phrase_and_a_minus_leaves_a_word_out(engine, needing, carol):
    f.initiative(needing, "guided", title="Guided onboarding program")
    f.initiative(needing, "data", title="Onboarding that is guided by data")
    f.initiative(needing, "campaign", title="Onboarding campaign")
    client = signed_in(carol)
    assert search(client, '"guided onboarding"').titles("initiatives") == [
        "Guided onboarding program"
    ]
    assert sorted(search(client, "onboarding -campaign").titles("initiatives")) == [
        "Guided onboarding program",
        "Onboarding that is guided by data",
    ]


def test_the_last_word_also_matches_the_start_of_a_word(engine, wizard, needing, carol):
    f.initiative(needing, "campaign", title="Onboarding campaign")
    client = signed_in(carol)
    assert search(client, "wiz").titles("initiatives") == ["In-app onboarding wizard"]
    assert search(client, "onboarding wiz").titles("initiatives") == ["In-app onboarding wizard"]
    page = search(client, "onboarding wiz")
    assert "<mark>wiz" in page.hits["initiatives"][0].title_html


@pytest.mark.postgres
def test_or_finds_either_word(wizard, needing, carol):
    f.initiative(needing, "campaign", title="Enrollment campaign")
    f.initiative(needing, "dashboard", title="Activation dashboard")
    titles = search(signed_in(carol), "wizard or campaign").titles("initiatives")
    assert sorted(titles) == ["Enrollment campaign", "In-app onboarding wizard"]


@pytest.mark.postgres
def test_words_are_matched_by_their_english_stem(needing, carol):
    f.initiative(needing, "activation", title="Improve activation", description="Customers")
    page = search(signed_in(carol), "activating customer")
    assert page.titles("initiatives") == ["Improve activation"]
    assert "<mark>activation</mark>" in page.hits["initiatives"][0].title_html


# --- bounds ---------------------------------------------------------------------------------


def test_results_are_paged_by_kind(engine, needing, carol):
    for n in range(25):
        f.initiative(needing, f"step-{n:02}", title=f"Onboarding step {n:02}")
    client = signed_in(carol)
    first = search(client, "onboarding")
    assert first.totals["initiatives"] == 25 and len(first.hits["initiatives"]) == 20
    more = re.search(r'<p class="search-more"><a href="([^"]+)">More initiatives', first.html)
    assert more, "no link to more initiatives"
    second = shown(client.get(html.unescape(more[1])))
    assert len(second.hits["initiatives"]) == 5
    assert "21–25 of 25" in second.text
    assert set(second.titles("initiatives")).isdisjoint(first.titles("initiatives"))
    assert len(set(first.titles("initiatives")) | set(second.titles("initiatives"))) == 25
    assert 'rel="prev"' in second.html and 'rel="next"' not in second.html
    assert list(second.hits) == ["initiatives"]  # one kind only

    past = search(client, "onboarding", kind="initiatives", page="999")
    assert "No more initiatives for this search" in past.text
    assert search(client, "onboarding", kind="initiatives", page="x").titles("initiatives") == (
        first.titles("initiatives")
    )


def _grow(n: int, cycle, squad, author, stage) -> None:
    """n more of every kind, each matching "onboarding"."""
    start = Initiative.objects.count()
    okr, _ = OKR.objects.get_or_create(squad=squad, cycle=cycle, defaults={"objective": "Value"})
    for i in range(start, start + n):
        initiative = f.initiative(squad, f"onboarding-{i}", title=f"Onboarding {i}")
        Dependency.objects.create(
            key=f"onboarding-{i}",
            from_initiative=initiative,
            to_function="Product",
            what=f"Onboarding help {i}",
            due=dt.date(2027, 3, 1),
        )
        Comment.objects.create(squad=squad, initiative=initiative, author=author, body="Onboarding")
        KeyResult.objects.create(okr=okr, key=f"onboarding-{i}", name=f"Onboarding rate {i}")
        person = f.person(f"onboarder{i}", f"Onboarding Lead {i}")
        f.member(squad, person)
        f.squad(f"onboarding-{i}", dri=person, cycle=cycle, name=f"Onboarding squad {i}")
        Stage.objects.create(
            journey=stage.journey,
            key=f"onboarding-{i}",
            name=f"Onboarding {i}",
            customer_goal="Value",
            today="Lost",
            tomorrow="Guided",
            emotion_today=0,
            emotion_target=1,
        )


def test_the_number_of_queries_does_not_grow_with_the_data(
    engine, cycle, needing, bob, stage, carol
):
    client = signed_in(carol)
    _grow(2, cycle, needing, bob, stage)
    search(client, "onboarding")  # the first request reads what later ones find cached

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            page = search(client, "onboarding")
        assert all(page.totals[kind] > 1 for kind in KIND_KEYS), page.totals
        return len(captured.captured_queries)

    few = queries()
    _grow(30, cycle, needing, bob, stage)
    search(client, "onboarding")  # the directory moved: the cycles are read once again
    assert queries() == few
    assert few <= 16, few


@pytest.mark.postgres
def test_a_search_past_its_time_limit_says_so_and_the_next_one_works(
    wizard, carol, settings, monkeypatch
):
    import dataclasses

    from planning import search as reads

    slow = [
        dataclasses.replace(
            kind,
            rows=lambda actor, q, rows=kind.rows: rows(actor, q).extra(
                where=["(SELECT true FROM pg_sleep(0.5))"]
            ),
        )
        for kind in reads.KINDS
    ]
    client = signed_in(carol)
    settings.SEARCH_TIME_LIMIT_MS = 50
    with monkeypatch.context() as patch:
        patch.setattr(reads, "KINDS", slow)
        page = search(client, "wizard")
    assert "This search took too long" in page.text
    assert page.hits == {}

    settings.SEARCH_TIME_LIMIT_MS = 2000
    assert search(client, "wizard").titles("initiatives") == ["In-app onboarding wizard"]


# --- the indexes ----------------------------------------------------------------------------

SEARCH_INDEXES = {
    "Initiative": "initiative_search",
    "Dependency": "dependency_search",
    "Squad": "squad_search",
    "Stage": "stage_search",
    "KeyResult": "keyresult_search",
    "Profile": "profile_search",
    "Comment": "comment_search",
}


@pytest.mark.postgres
def test_each_kind_is_matched_through_its_index():
    """With every other way of reading the table priced out, the plan of each kind's match
    is its GIN index: the vector the search builds is the expression the migration indexed."""
    from core.models import Profile
    from squads.models import Squad

    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")
        cursor.execute("SET LOCAL enable_indexonlyscan = off")
    models = {
        "Initiative": Initiative,
        "Dependency": Dependency,
        "Squad": Squad,
        "Stage": Stage,
        "KeyResult": KeyResult,
        "Profile": Profile,
        "Comment": Comment,
    }
    ts = engine_module.tsquery(Query.parse("onboarding wiz"))
    for name, model in models.items():
        # The base manager: on a table this small, the live rows' partial unique index
        # would otherwise be the planner's cheapest way to apply "not removed".
        rows = model._base_manager.alias(v=model.SEARCHED.vector())
        plan = rows.filter(v=ts).values("pk").explain()
        assert f"Bitmap Index Scan on {SEARCH_INDEXES[name]}" in plan, (name, plan)


# (app, the search migration, the one before it)
SEARCH_MIGRATIONS = [
    ("core", "0002_search_indexes", "0001_initial"),
    ("journeys", "0003_search_indexes", "0002_cowriting"),
    ("squads", "0006_search_indexes", "0005_actions_squadstage_history"),
    ("dependencies", "0005_search_indexes", "0004_initiatives_in_squads"),
]


def _search_indexes() -> set[str]:
    with connection.cursor() as cursor:
        found = set()
        for table in connection.introspection.table_names(cursor):
            for name in connection.introspection.get_constraints(cursor, table):
                if name in SEARCH_INDEXES.values():
                    found.add(name)
        return found


def test_the_search_migrations_apply_and_reverse(transactional_db):
    expected = set(SEARCH_INDEXES.values()) if connection.vendor == "postgresql" else set()
    executor = MigrationExecutor(connection)
    heads = executor.loader.graph.leaf_nodes()
    assert _search_indexes() == expected
    try:
        executor.migrate([(app, before) for app, _, before in SEARCH_MIGRATIONS])
        assert _search_indexes() == set()
    finally:
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(heads)
    assert _search_indexes() == expected
    applied = MigrationExecutor(connection).loader.applied_migrations
    assert all((app, name) in applied for app, name, _ in SEARCH_MIGRATIONS)


# --- the words --------------------------------------------------------------------------------


def test_the_words_of_a_search_are_read_as_a_web_search():
    query = Query.parse('  guided  "First  90 days" -campaign or wizard, -"old way" ')
    assert query.text == 'guided "First 90 days" -campaign or wizard, -"old way"'
    assert [(t.text, t.excluded, t.phrase) for t in query.terms()] == [
        ("guided", False, False),
        ("First 90 days", False, True),
        ("campaign", True, False),
        ("wizard", False, False),
        ("old way", True, True),
    ]
    assert query.wanted() == ["guided", "First 90 days", "wizard"]
    assert Query.parse("onboarding wiz").last_word() == ("onboarding", "wiz")
    assert Query.parse("wiz").last_word() == ("", "wiz")
    for unfinished in ("a wi", 'x "onboarding wiz', "x -wiz", "onboarding or wiz", "wiz!"):
        assert Query.parse(unfinished).last_word() is None, unfinished
    cut = Query.parse("x" * 250)
    assert cut.cut and len(cut.text) == 200
    assert not Query.parse("-campaign -wizard").has_wanted_terms()


# Words a search may be made of: the web-search syntax, markup, the highlight marks, digits,
# accents and other scripts, stop words, lone quotes and dashes.
_PIECES = st.sampled_from(
    [
        '"',
        "-",
        "or",
        "OR",
        "the",
        "wiz",
        "onboarding",
        "<b>",
        "\ue000",
        "\ue001",
        "'",
        ":*",
        "&",
        "|",
        "!",
        "(",
        ")",
        "\\",
        "90",
        "é",
        "日本",
        "a",
        "%",
        "_",
        "*",
    ]
)


@examples(
    max_examples=40,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    q=st.one_of(
        st.text(max_size=250),
        st.lists(st.one_of(_PIECES, st.text(max_size=8)), max_size=12).map(" ".join),
    ),
    kind=st.sampled_from(["", *KIND_KEYS, "nothing"]),
    page=st.sampled_from(["", "1", "2", "0", "-3", "x", "9" * 5000]),
)
def test_any_search_is_answered_without_an_error(engine, wizard, carol, q, kind, page):
    response = signed_in(carol).get("/search/", {"q": q, "kind": kind, "page": page})
    # Text holding NUL is refused before any view (throughline/middleware.py).
    assert response.status_code == (400 if "\x00" in q else 200), response.status_code
    if response.status_code == 200:
        shown(response)
