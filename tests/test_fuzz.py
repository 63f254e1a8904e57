"""Fuzzing the ways data gets in: the planning-file importer and every form of the web pages.

Whatever arrives (malformed JSON, wrong types, huge strings, odd Unicode, dates out of range,
loops of references) the answer is a clear message, never a crash or a server error, and
input that is refused writes nothing at all.

Example counts are kept small so this module runs in well under a minute and a half; each
test draws a fresh sample on every run (nothing is remembered between runs).
"""

from __future__ import annotations

import copy
import datetime as dt
import io
import json
import re
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.db import transaction
from hypothesis import HealthCheck, event, given, note, settings
from hypothesis import strategies as st

from core.validators import DATE_MAX, DATE_MIN, is_blank
from tests.test_planning_file import database_state

pytestmark = pytest.mark.django_db

EXAMPLE = Path(django_settings.BASE_DIR) / "planning" / "demo" / "first-90-days.json"


def fuzz(examples: int):
    return settings(
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )


@contextmanager
def rolled_back():
    """Run one example in a savepoint that is rolled back, so examples don't see each other.

    Every example therefore starts from the same database, the one `baseline` describes.
    """
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


# --- values that break things ------------------------------------------------------------

ODD_CHARACTERS = "\x00\x01\t\n\r\x1b\x7f\x85\u00a0\u200b\u2028\u2029\ufeff\ud800\udfff\U0001f600"
ODD_STRINGS = [
    "",
    " ",
    "\n",
    "null",
    "NaN",
    "Infinity",
    "-0",
    "1e999999",
    "0x1F",
    "٣",
    "new",
    "a/b",
    "../../etc/passwd",
    "<script>alert(1)</script>",
    "'; DROP TABLE squads_squad; --",
    "Robert\x00Tables",
    "key\n",
    "ｆｙ２０２７",
    "İstanbul",
    "\u202eevil",
]
DATES = [
    "0000-01-01",
    "0001-01-01",
    "9999-12-31",
    "10000-01-01",
    "-0001-01-01",
    "2027-02-29",
    "2028-02-29",
    "2027-13-01",
    "2027-00-10",
    "2027-1-1",
    "2027-01-01T00:00:00",
    "2027-01-01\n",
    "٢٠٢٧-٠١-٠١",
    "1970-01-01",
]
NUMBERS = [
    0,
    -1,
    1.5,
    -0.0,
    1e-7,
    1e30,
    1e308,
    -1e308,
    2**31,
    2**63,
    10**40,
    0.001,
    123456.789,
    99999999.99,
]


def huge_text(min_size: int = 20_001) -> st.SearchStrategy[str]:
    """Long strings, made by repetition so that generating them stays fast."""
    return st.builds(
        lambda piece, n: (piece * (n // len(piece) + 1))[:n],
        st.text(min_size=1, max_size=4),
        st.integers(min_size, min_size * 5),
    )


odd_text = st.one_of(
    st.sampled_from(ODD_STRINGS),
    st.text(alphabet=ODD_CHARACTERS, max_size=20),
    st.text(max_size=60),
    st.sampled_from(DATES),
)
any_text = st.one_of(odd_text, huge_text())
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.sampled_from(NUMBERS),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    any_text,
)
json_values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(
            st.one_of(odd_text, st.sampled_from(["key", "format"])), children, max_size=4
        ),
    ),
    max_leaves=12,
)


# --- the importer ------------------------------------------------------------------------

# "  squads[2].dri: no person with username ..." - a JSON path, a colon, a plain sentence.
PATH = r'(\$|[A-Za-z_]\w*|\["[^\n]*?"\])(\[\d+\]|\.[A-Za-z_]\w*|\["[^\n]*?"\])*'
PROBLEM_LINE = re.compile(rf"^  {PATH}: \S.*\S$", re.ASCII)


def run_import(path: Path) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("import_plans", str(path), stdout=out, stderr=err)
    except SystemExit as exc:
        return exc.code, out.getvalue(), err.getvalue()
    return 0, out.getvalue(), err.getvalue()


def import_text(path: Path, text: str | bytes) -> tuple[int, str, str]:
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
    return run_import(path)


def check_outcome(code: int, out: str, err: str, before: str) -> None:
    """Imported (exit 0), or refused with every problem at its path and nothing written."""
    assert "Traceback" not in err
    if code == 0:
        assert err == ""
        assert out.startswith(("Imported", "Nothing to change"))
        return
    assert code == 1, (code, out, err)
    assert out == ""
    head, *problems = err.split("\n")
    assert re.search(r": \d+ problems?; nothing was written\.$", head), head
    problems = [line for line in problems if line]
    assert problems, err
    for line in problems:
        assert PROBLEM_LINE.match(line), line
    assert database_state() == before


@pytest.fixture
def baseline() -> str:
    """The database as every example starts (and, if refused, must end)."""
    return database_state()


@pytest.fixture
def example() -> dict:
    return json.loads(EXAMPLE.read_text())


@pytest.fixture
def stored_example(tmp_path, example) -> dict:
    """The worked example already imported: a refused file must leave all of it untouched."""
    code, _, err = run_import(_write(tmp_path / "example.json", example))
    assert (code, err) == (0, "")
    return example


@pytest.fixture
def stored_baseline(stored_example) -> str:
    return database_state()


def _write(path: Path, document: Any) -> Path:
    path.write_text(
        json.dumps(document, ensure_ascii=False), encoding="utf-8", errors="surrogatepass"
    )
    return path


@fuzz(30)
@given(text=st.one_of(st.text(max_size=200), st.binary(max_size=200), st.sampled_from(ODD_STRINGS)))
def test_any_text_as_a_planning_file_is_refused_with_a_message(tmp_path, baseline, text):
    with rolled_back():
        code, out, err = import_text(tmp_path / "plans.json", text)
        check_outcome(code, out, err, baseline)


@fuzz(30)
@given(document=json_values)
def test_any_json_document_is_refused_with_a_message(tmp_path, baseline, document):
    with rolled_back():
        code, out, err = run_import(_write(tmp_path / "plans.json", document))
        check_outcome(code, out, err, baseline)


@fuzz(25)
@given(
    document=st.fixed_dictionaries(
        {"format": st.just("planning-file/1")},
        optional={
            name: json_values
            for name in (
                "cycles",
                "people",
                "capacity",
                "segments",
                "journeys",
                "squads",
                "dependencies",
            )
        },
    )
)
def test_a_planning_file_with_sections_of_any_shape_is_refused_with_a_message(
    tmp_path, baseline, document
):
    with rolled_back():
        code, out, err = run_import(_write(tmp_path / "plans.json", document))
        check_outcome(code, out, err, baseline)


def _locations(node: Any, at: tuple = ()) -> list[tuple]:
    """Every place in a document a value sits, as a path of keys and indexes."""
    found = [at] if at else []
    if isinstance(node, dict):
        for name, value in node.items():
            found += _locations(value, (*at, name))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _locations(value, (*at, index))
    return found


def _parent(document: Any, location: tuple) -> tuple[Any, Any]:
    node = document
    for part in location[:-1]:
        node = node[part]
    return node, location[-1]


@st.composite
def mutated_examples(draw, base: dict, where=lambda location: True) -> dict:
    """The worked example with a few values replaced, removed or repeated (those `where`
    accepts the location of)."""
    document = copy.deepcopy(base)
    for _ in range(draw(st.integers(1, 4))):
        locations = [location for location in _locations(document) if where(location)]
        if not locations:
            break
        parent, last = _parent(document, draw(st.sampled_from(locations)))
        action = draw(st.sampled_from(["replace", "replace", "replace", "remove", "repeat"]))
        if action == "remove":
            del parent[last]
        elif action == "repeat" and isinstance(parent, list):
            parent.append(copy.deepcopy(parent[last]))
        else:
            parent[last] = draw(json_values)
    return document


@fuzz(40)
@given(data=st.data())
def test_a_damaged_planning_file_is_refused_with_a_message_and_writes_nothing(
    tmp_path, stored_example, stored_baseline, data
):
    document = data.draw(mutated_examples(stored_example))
    with rolled_back():
        code, out, err = run_import(_write(tmp_path / "plans.json", document))
        check_outcome(code, out, err, stored_baseline)


# The keys planning-file/2 adds (planning/planning_file/outcomes.py): the customer's outcomes.
OUTCOME_KEYS = {
    "goals",
    "milestone_readings",
    "success",
    "milestone_feed_url",
    "milestones",
    "value_today",
    "value_target",
    "expansion",
    "key",
    "touchpoints",
}


def _in_outcomes(location: tuple) -> bool:
    return any(part in OUTCOME_KEYS for part in location if isinstance(part, str))


@fuzz(40)
@given(data=st.data())
def test_a_planning_file_2_damaged_in_its_outcomes_is_refused_or_imported_whole(
    tmp_path, stored_example, stored_baseline, data
):
    document = data.draw(mutated_examples(stored_example, where=_in_outcomes))
    with rolled_back():
        code, out, err = run_import(_write(tmp_path / "plans.json", document))
        check_outcome(code, out, err, stored_baseline)


PARTIES = [
    "first-90-days",
    "cs-onboarding",
    "product-led",
    "marketing-education",
    "first-90-days/assessment-tool",
    "first-90-days/onboarding-wizard",
    "cs-onboarding/onboarding-program",
    "product-led/plg-onboarding",
    "marketing-education/adoption-education",
]
LIVE = ["requested", "accepted", "at_risk"]


def _node(squad, initiative) -> str | None:
    if initiative is not None:
        return f"{initiative.squad.key}/{initiative.key}"
    return squad.key if squad is not None else None


def _link(needer: st.SearchStrategy, provider: st.SearchStrategy) -> st.SearchStrategy:
    return st.tuples(
        needer, provider, st.booleans(), st.sampled_from([*LIVE, *LIVE, "done", "declined"])
    )


@st.composite
def dependency_links(draw) -> list[tuple]:
    """A ring of needers and providers (a loop when its links all block and are open), more
    links at random, and now and then one that depends on itself."""
    ring = draw(st.lists(st.sampled_from(PARTIES), min_size=2, max_size=5, unique=True))
    links = [
        draw(_link(st.just(a), st.just(b))) for a, b in zip(ring, ring[1:] + ring[:1], strict=True)
    ]
    links += draw(
        st.lists(
            _link(st.sampled_from(PARTIES), st.sampled_from(PARTIES)).filter(
                lambda link: link[0] != link[1]
            ),
            max_size=6,
        )
    )
    if draw(st.integers(0, 9)) == 0:
        links.append(draw(_link(st.just(ring[0]), st.just(ring[0]))))
    return draw(st.permutations(links))


@fuzz(12)
@given(links=dependency_links())
def test_dependencies_that_loop_are_imported_and_the_review_names_each_loop(
    tmp_path, stored_example, stored_baseline, links
):
    from graphlib import CycleError, TopologicalSorter

    from core.models import Cycle
    from dependencies.models import Dependency
    from planning.review import rule_cycle
    from planning.snapshot import snapshot_for_cycle

    document = {
        "format": "planning-file/1",
        "dependencies": [
            {
                "key": f"loop-{n}",
                "from": needer,
                "to": provider,
                "what": f"Link {n}",
                "due": "2027-06-30",
                "blocking": blocking,
                "status": status,
            }
            for n, (needer, provider, blocking, status) in enumerate(links)
        ],
    }
    with rolled_back():
        code, out, err = run_import(_write(tmp_path / "loops.json", document))
        if any(needer == provider for needer, provider, *_ in links):
            assert "a squad or initiative cannot depend on itself" in err
            check_outcome(code, out, err, stored_baseline)
            return
        assert (code, err) == (0, ""), err

        edges: dict[str, tuple[str, str]] = {}
        for dep in Dependency.objects.select_related(
            "from_squad", "from_initiative__squad", "to_squad", "to_initiative__squad"
        ):
            provider = _node(dep.to_squad, dep.to_initiative)
            if dep.blocking and dep.status in LIVE and provider is not None:
                edges[dep.key] = (_node(dep.from_squad, dep.from_initiative), provider)
        graph: dict[str, set[str]] = {}
        for needer, provider in edges.values():
            graph.setdefault(needer, set()).add(provider)
        try:
            TopologicalSorter(graph).prepare()
            loops_exist = False
        except CycleError:
            loops_exist = True

        found = rule_cycle(snapshot_for_cycle(Cycle.objects.get(key="fy2027")), dt.date(2027, 2, 1))
        event(f"loops: {len(found)}")
        assert bool(found) == loops_exist
        for finding in found:
            keys = [
                s.removeprefix("dependency:")
                for s in finding.subjects
                if s.startswith("dependency:")
            ]
            # The dependencies a loop finding names close on themselves.
            needers = sorted(edges[k][0] for k in keys)
            providers = sorted(edges[k][1] for k in keys)
            assert needers == providers, finding


# Values a planning file may hold, at the edges of what it may hold.
def _typed(limit: int) -> st.SearchStrategy[str]:
    letters = st.characters(exclude_categories=("Cs", "Cc"))
    return st.one_of(
        st.text(letters, min_size=1, max_size=30).filter(lambda t: not is_blank(t)),
        st.builds(
            lambda piece, n: (piece * n)[:limit],
            st.text(letters, min_size=1, max_size=3).filter(lambda t: not is_blank(t)),
            st.integers(1, limit),
        ),
    )


# Any date a planning file may hold: the planning range, its edges included.
ANY_DATE = st.dates(DATE_MIN, DATE_MAX).map(dt.date.isoformat)
EDGE_VALUES = {
    "starts": ANY_DATE,
    "ends": ANY_DATE,
    "due": ANY_DATE,
    "name": _typed(200),
    "title": _typed(200),
    "unit": _typed(40),
    "function": _typed(100),
    "description": _typed(20_000),
    "customer_goal": _typed(20_000),
    "today": _typed(20_000),
    "tomorrow": _typed(20_000),
    "objective": _typed(20_000),
    "desired_experience": _typed(20_000),
    "what": _typed(20_000),
    "note": _typed(20_000),
    "counter_measure": _typed(20_000),
    "when": st.sampled_from(["Day 1", "Week 52", "Month 99", "Day 9999"]),
    "headcount": st.one_of(st.integers(0, 999_999), st.sampled_from([999_999.99, 0.25])),
    "baseline": st.one_of(
        st.integers(-(10**14) + 1, 10**14 - 1), st.floats(-1e9, 1e9).map(lambda x: round(x, 2))
    ),
    "target": st.integers(-(10**14) + 1, 10**14 - 1),
    "current": st.integers(-(10**14) + 1, 10**14 - 1),
    "emotion_today": st.integers(-2, 2),
    "emotion_target": st.integers(-2, 2),
    "team": st.integers(-2, 2),
    "business": st.integers(-2, 2),
    "customer": st.integers(-2, 2),
    "priority": st.integers(0, 32767),
    "blocking": st.booleans(),
    "email": st.emails().filter(lambda e: len(e) <= 254),
}


@st.composite
def edge_examples(draw, base: dict) -> dict:
    """The worked example with values swapped for others it may hold, extreme ones included."""
    document = copy.deepcopy(base)
    places = [
        at
        for at in _locations(document)
        if isinstance(at[-1], str) and at[-1] in EDGE_VALUES and at[0] not in ("cycles",)
    ]
    for at in draw(st.lists(st.sampled_from(places), min_size=1, max_size=8, unique=True)):
        parent, last = _parent(document, at)
        parent[last] = draw(EDGE_VALUES[last])
    return document


@fuzz(6)
@given(data=st.data())
def test_a_planning_file_with_extreme_values_imports_exports_and_shows(
    tmp_path, client, stored_example, stored_baseline, data
):
    from django.contrib.auth import get_user_model

    from core.models import Cycle
    from planning.review import review
    from planning.snapshot import snapshot_for_cycle

    document = data.draw(edge_examples(stored_example), label="file")
    today = data.draw(st.one_of(st.dates(), st.dates(dt.date(2027, 1, 1), dt.date(2027, 12, 31))))
    with rolled_back():
        code, out, err = run_import(_write(tmp_path / "edges.json", document))
        event("refused" if code else "imported")
        if code != 0:  # ends before starts, say: refused, and said where
            check_outcome(code, out, err, stored_baseline)
            return
        # What was stored exports, and the export imports again as it is.
        exported = io.StringIO()
        call_command("export_plans", stdout=exported)
        code, out, err = run_import(
            _write(tmp_path / "exported.json", json.loads(exported.getvalue()))
        )
        assert (code, err) == (0, "")
        assert out.startswith("Nothing to change"), out

        review(snapshot_for_cycle(Cycle.objects.get(key="fy2027")), today)

        admin = get_user_model().objects.create_superuser("fuzz-admin", "admin@example.com", "x")
        client.force_login(admin)
        for url in (
            "/squads/first-90-days/",
            "/squads/first-90-days/plan/",
            "/journeys/lifecycle/",
            "/board/",
            "/board/graph/",
        ):
            assert client.get(url).status_code == 200, url


# --- the forms, through the web pages ----------------------------------------------------

# Each field has values a person would type (so posts get through to the services and
# what they save is shown again) and values that break things. A post starts from a valid
# body and then breaks, or leaves out, a few of its fields.


# What a browser can send: any character but lone surrogates, which UTF-8 cannot carry.
def _sendable(text: str) -> str:
    return "".join(c for c in text if not "\ud800" <= c <= "\udfff")


typed_text = st.one_of(
    st.sampled_from(["Plain words", "Day 1: a first milestone", "Café ☕ — naïve", "שלום"]),
    st.text(st.characters(exclude_categories=("Cs", "Cc")), min_size=1, max_size=40).filter(
        lambda t: not is_blank(t)
    ),
)
broken_text = st.one_of(odd_text.map(_sendable), huge_text(2_001).map(_sendable))
TEXT = (typed_text, broken_text)

broken_number = st.one_of(
    st.sampled_from(
        [
            "1e999999",
            "-1e999999",
            "1E-999999",
            "NaN",
            "sNaN",
            "Infinity",
            "-inf",
            "1" * 40,
            "0." + "0" * 30 + "1",
            "99999999999999.99999",
            "1,5",
            "１２",
            "٣",
        ]
    ),
    st.decimals(allow_nan=True, allow_infinity=True).map(str),
    st.floats().map(repr),
    odd_text.map(_sendable),
)


def number(largest: str, places: int = 2, minimum: int = -(10**6)) -> tuple:
    """Numbers such a field takes, up to its largest, and numbers it cannot take."""
    typed = st.one_of(
        st.sampled_from(["0", "1", "1.5", " 7 ", largest]),
        st.decimals(min_value=minimum, max_value=10**6, places=places).map(str),
    )
    return typed, broken_number


# Any date of the planning range is a date a form may get; half of them near the demo's
# cycle. Dates outside it (year 1, year 9999) are typing slips, refused.
typed_date = st.one_of(
    st.dates(dt.date(2026, 10, 1), dt.date(2028, 3, 31)),
    st.dates(DATE_MIN, DATE_MAX),
).map(dt.date.isoformat)
broken_date = st.one_of(
    st.sampled_from([*DATES, "12/31/2027", "31.12.2027", "2027-W01", "2027-01-02junk"]),
    st.one_of(st.dates(max_value=DATE_MIN), st.dates(min_value=DATE_MAX)).map(dt.date.isoformat),
    odd_text.map(_sendable),
)
DATE = (typed_date, broken_date)
BOOLEAN = (st.sampled_from(["on", ""]), st.sampled_from(["true", "false", "0", "\x00", "off"]))
BROKEN_IDS = ["0", "-1", "1.5", str(2**31), str(2**63), "9" * 30, "1e3", " 1", "None"]


def choice(valid, typed_only=()) -> tuple:
    return (
        st.sampled_from([str(v) for v in valid] + list(typed_only)),
        odd_text.map(_sendable),
    )


def ident(valid) -> tuple:
    return (
        st.sampled_from([str(v) for v in valid]),
        st.one_of(st.sampled_from(BROKEN_IDS), st.integers().map(str), odd_text.map(_sendable)),
    )


def key(taken=()) -> tuple:
    return (
        st.one_of(st.from_regex(r"\A[a-z0-9][a-z0-9._-]{0,12}\Z"), st.sampled_from(["k", *taken])),
        st.one_of(
            st.sampled_from(["new", "a" * 81, "key\n", "Key With Spaces", "a/b", "-a"]),
            odd_text.map(_sendable),
        ),
    )


def several(field: tuple, most: int = 3) -> tuple:
    """A field posted several times (checkboxes)."""
    typed, broken = field
    return st.lists(typed, max_size=most), st.lists(st.one_of(typed, broken), max_size=most)


@st.composite
def post_body(draw, fields: dict[str, tuple]) -> dict:
    body = {name: draw(typed) for name, (typed, _) in fields.items()}
    for name in draw(st.lists(st.sampled_from(sorted(fields)), max_size=3, unique=True)):
        if draw(st.booleans()):
            body[name] = draw(fields[name][1])
        else:
            del body[name]
    return body


@pytest.fixture
def demo(client, settings):
    """The demo company, and its administrator signed in: allowed to post every form."""
    from django.contrib.auth import get_user_model

    from core.models import Cycle
    from dependencies.models import Dependency
    from journeys.models import Moment, Segment, Stage
    from planning.models import Finding
    from squads.models import Initiative, KeyResult

    settings.DEBUG = True
    settings.WRITE_RATE_LIMIT = 0  # hundreds of posts in seconds are this test's point
    settings.INVITATION_RATE_LIMIT = 0
    call_command("load_demo", stdout=io.StringIO())
    users = get_user_model().objects
    client.force_login(users.get(username="admin"))
    cycle = Cycle.objects.get(key="fy2027")
    stage = Stage.objects.get(journey__key="lifecycle", key="onboarding")
    now = dt.datetime.now(dt.UTC)
    finding = Finding.objects.create(
        cycle=cycle,
        kind="ownership_gap",
        rule="unowned_stage",
        severity="medium",
        subjects=["stage:lifecycle/renewal"],
        identity="fuzz-unowned-renewal",
        message="No squad covers the renewal stage.",
        subjects_state="fuzz",
        first_seen=now,
        last_seen=now,
    )
    moment = Moment.objects.filter(stage=stage).first() or Moment.objects.create(
        stage=stage, when="Day 1", tomorrow="Welcomed", offset_days=1
    )
    from core.services import person_roles_version
    from journeys.services import segment_version
    from squads.models import Squad, SquadStage
    from squads.services import squad_stages_version

    segment = Segment.objects.order_by("pk").first()
    return {
        "client": client,
        "roles_version": person_roles_version(users.get(username="jo")),
        "segment": segment,
        "segment_version": segment_version(segment),
        "stages_version": squad_stages_version(
            SquadStage.objects.filter(squad__key="first-90-days").values_list("stage_id", flat=True)
        ),
        "squads": list(Squad.objects.filter(cycle=cycle).values_list("pk", flat=True)),
        "people": list(users.values_list("pk", flat=True)),
        "members": list(
            users.filter(memberships__squad__key="first-90-days").values_list("pk", flat=True)
        ),
        "cycles": [cycle.pk],
        "stages": list(Stage.objects.values_list("pk", flat=True)),
        "segments": list(Segment.objects.values_list("pk", flat=True)),
        "stage": stage,
        "moment": moment,
        "finding": finding,
        "initiatives": list(Initiative.objects.values_list("pk", flat=True)),
        "dependencies": list(Dependency.objects.values_list("pk", flat=True)),
        "key_results": list(KeyResult.objects.values_list("pk", flat=True)),
    }


def _version(obj) -> str:
    from journeys import services

    if obj.__class__.__name__ == "Stage":
        return str(obj.version)
    return services.moment_version(obj)


def _prefixed(prefix: str, fields: dict) -> dict:
    return {f"{prefix}-{name}": value for name, value in fields.items()}


SQUAD = "/squads/first-90-days"
KR_NUMBER = number("99999999999999.9999", places=4)
KR_FIELDS = {
    "name": TEXT,
    "unit": TEXT,
    "baseline": KR_NUMBER,
    "target": KR_NUMBER,
    "direction": choice(["increase", "decrease"]),
}
REFS = [
    "first-90-days",
    "product-led",
    "cs-onboarding",
    "first-90-days/assessment-tool",
    "first-90-days/onboarding-wizard",
    "product-led/plg-onboarding",
    "cs-onboarding/onboarding-program",
]
EMOTION = choice(["-2", "-1", "0", "1", "2"])
MOMENT_FIELDS = {
    "when": (
        st.sampled_from(["Day 1", "Week 2", "Month 3", "Day 9999", "Quarter 4"]),
        st.one_of(st.sampled_from(["Day 99999999999999999999", "Day -1", "soon"]), broken_text),
    ),
    "today": TEXT,
    "tomorrow": TEXT,
}


def _initiative_fields(w: dict) -> dict:
    impact = choice(["-2", "-1", "0", "1", "2"], typed_only=[""])
    return {
        "title": TEXT,
        "description": TEXT,
        "function": TEXT,
        "stage": ident(w["stages"]),
        "segment": ident(w["segments"]),
        "starts": DATE,
        "ends": DATE,
        "headcount": number("999999.99", minimum=0),
        "status": choice(["proposed", "planned", "in_progress", "done", "dropped"]),
        "impact_team": impact,
        "impact_business": impact,
        "impact_customer": impact,
        "counter_measure": TEXT,
    }


def _stage_fields() -> dict:
    return {
        "name": TEXT,
        "customer_goal": TEXT,
        "today": TEXT,
        "tomorrow": TEXT,
        "emotion_today": EMOTION,
        "emotion_target": EMOTION,
    }


def _version_field(obj) -> tuple:
    return st.just(_version(obj)), st.one_of(st.just(""), broken_text)


# Each form: where it is posted, and its fields.
FORMS = {
    "squad create": lambda w: (
        "/squads/new/",
        {
            "name": TEXT,
            "key": key(["first-90-days"]),
            "cycle": ident(w["cycles"]),
            "dri": ident(w["people"]),
            "dri_function": TEXT,
            "objective": TEXT,
            "kr-key": key(),
            **_prefixed("kr", KR_FIELDS),
        },
    ),
    "member add": lambda w: (
        f"{SQUAD}/members/add/",
        {"person": ident(w["people"]), "function": TEXT},
    ),
    "DRI hand-over": lambda w: (f"{SQUAD}/dri/", {"person": ident(w["members"])}),
    "objective": lambda w: (f"{SQUAD}/okr/edit/", {"objective": TEXT}),
    "key result create": lambda w: (
        f"{SQUAD}/key-results/new/",
        {"key": key(["activation"]), **KR_FIELDS},
    ),
    "key result edit": lambda w: (f"{SQUAD}/key-results/activation/edit/", KR_FIELDS),
    "check-in": lambda w: (
        f"{SQUAD}/key-results/activation/check-ins/",
        {"value": KR_NUMBER, "confidence": choice(range(1, 11)), "note": TEXT},
    ),
    "plan section": lambda w: (f"{SQUAD}/plan/section/desired-experience/edit/", {"text": TEXT}),
    "not-doing list": lambda w: (
        f"{SQUAD}/plan/section/not-doing/edit/",
        {
            "count": (
                st.sampled_from(["1", "3"]),
                st.sampled_from(["0", "-1", "100", "101", "9" * 30, "x"]),
            ),
            "line_0": TEXT,
            "line_1": TEXT,
            "line_2": TEXT,
            "remove_1": BOOLEAN,
        },
    ),
    "initiative create": lambda w: (
        f"{SQUAD}/plan/initiatives/new/",
        {"key": key(["assessment-tool"]), **_initiative_fields(w)},
    ),
    "initiative edit": lambda w: (
        f"{SQUAD}/plan/initiatives/assessment-tool/edit/",
        _initiative_fields(w),
    ),
    # Asking for similar work without script: the editor comes back with the draft in it.
    "similar work": lambda w: (
        f"{SQUAD}/plan/similar-work/",
        {"key": key(["assessment-tool"]), **_initiative_fields(w), "check": BOOLEAN},
    ),
    "similar work in an edit": lambda w: (
        f"{SQUAD}/plan/similar-work/?initiative=assessment-tool",
        {**_initiative_fields(w), "check": BOOLEAN},
    ),
    "journey create": lambda w: (
        "/journeys/",
        _prefixed(
            "journey",
            {
                "name": TEXT,
                "key": key(["lifecycle"]),
                "description": TEXT,
                "segments": several(ident(w["segments"])),
            },
        ),
    ),
    "journey edit": lambda w: (
        "/journeys/lifecycle/edit/",
        _prefixed(
            "journey",
            {"name": TEXT, "description": TEXT, "segments": several(ident(w["segments"]))},
        ),
    ),
    "stage create": lambda w: (
        "/journeys/lifecycle/stages/new/",
        _prefixed("new-stage", {"key": key(["onboarding"]), **_stage_fields()}),
    ),
    "stage edit": lambda w: (
        "/journeys/lifecycle/stages/onboarding/edit/",
        {
            "version": _version_field(w["stage"]),
            **_prefixed(f"stage-{w['stage'].pk}", _stage_fields()),
        },
    ),
    "stage move": lambda w: (
        "/journeys/lifecycle/stages/onboarding/move/",
        {"direction": choice(["left", "right"])},
    ),
    "moment create": lambda w: (
        "/journeys/lifecycle/stages/onboarding/moments/new/",
        _prefixed(f"new-moment-{w['stage'].pk}", MOMENT_FIELDS),
    ),
    "moment edit": lambda w: (
        f"/journeys/lifecycle/stages/onboarding/moments/{w['moment'].pk}/edit/",
        {
            "version": _version_field(w["moment"]),
            **_prefixed(f"moment-{w['moment'].pk}", MOMENT_FIELDS),
        },
    ),
    # Any needer and provider of the demo: loops of dependencies included.
    "dependency create": lambda w: (
        "/board/new/",
        {
            "from_ref": choice(REFS),
            "to_squad": choice(REFS[:3], typed_only=[""] * 4),
            "to_initiative": choice(REFS[3:], typed_only=[""] * 4),
            "to_function": (st.sampled_from(["", "", "", "Legal"]), broken_text),
            "what": TEXT,
            "due": DATE,
            "blocking": BOOLEAN,
            "owner": ident(w["people"]),
            "note": TEXT,
            "key": key(["assessment-by-q1"]),
            "next": choice(["/board/", "/board/graph/"], typed_only=["//evil.example/"]),
        },
    ),
    "dependency edit": lambda w: (
        "/board/assessment-by-q1/edit/",
        {"what": TEXT, "due": DATE, "blocking": BOOLEAN, "note": TEXT},
    ),
    "dependency answer": lambda w: (
        "/board/messaging-mid-q1/respond/",
        {
            "action": choice(["accept", "decline", "at_risk", "done"]),
            "reason": TEXT,
            "was": choice(["requested"], typed_only=["", "accepted", "done"]),
            "next": choice(["/board/graph/"], typed_only=["https://evil.example/"]),
        },
    ),
    "finding dismissal": lambda w: (f"/findings/{w['finding'].pk}/dismiss/", {"reason": TEXT}),
    # The season (docs/season.md): FY2027 is in flight for these (see the test below).
    "cycle create": lambda w: (
        "/cycles/",
        {"name": TEXT, "key": key(["fy2027"]), "starts": DATE, "ends": DATE},
    ),
    "cycle move": lambda w: (
        "/cycles/fy2027/move/",
        {
            "to": choice(["closed", "committed", "draft"], typed_only=["in_flight"]),
            "seen": choice(["in_flight"], typed_only=["committed", "closed"]),
            "reason": TEXT,
            "override": BOOLEAN,
        },
    ),
    "carry forward": lambda w: (
        "/cycles/fy2027/carry-forward/",
        {
            "name": TEXT,
            "key": key(["fy2027"]),
            "starts": DATE,
            "ends": DATE,
            "initiatives": several(ident(w["initiatives"])),
            "dependencies": several(ident(w["dependencies"])),
            "key_results": several(ident(w["key_results"])),
        },
    ),
    "invitation": lambda w: (
        "/invitations/",
        {"email": (st.emails().filter(lambda e: len(e) <= 254), broken_text)},
    ),
    "person's function and groups": lambda w: (
        "/people/jo/roles/",
        {
            "function": TEXT,
            "groups": several(choice(["Leadership", "Operations"])),
            "version": (st.just(w["roles_version"]), st.one_of(st.just(""), broken_text)),
        },
    ),
    "capacity": lambda w: (
        "/functions/capacity/",
        {
            "function": choice(["Product", "Customer Success", "Sales"], typed_only=["Gone"]),
            "headcount": number("999999.99", minimum=0),
            "was": choice(["", "4", "6", "20"]),
        },
    ),
    "function add": lambda w: (
        "/functions/add/",
        {"name": TEXT, "headcount": number("999999.99", minimum=0)},
    ),
    "function rename": lambda w: (
        "/functions/rename/",
        {"function": choice(["Product", "Sales"], typed_only=["Gone"]), "name": TEXT},
    ),
    "segment create": lambda w: (
        "/segments/",
        _prefixed(
            "segment",
            {
                "name": TEXT,
                "key": key([w["segment"].key]),
                "description": TEXT,
                "priority": number("32767", places=0, minimum=-5),
            },
        ),
    ),
    "segment edit": lambda w: (
        f"/segments/{w['segment'].key}/edit/",
        {
            "version": (st.just(w["segment_version"]), st.one_of(st.just(""), broken_text)),
            **_prefixed(
                f"edit-{w['segment'].pk}",
                {
                    "name": TEXT,
                    "description": TEXT,
                    "priority": number("32767", places=0, minimum=-5),
                },
            ),
        },
    ),
    "squad stages": lambda w: (
        f"{SQUAD}/stages/",
        {
            "stages": several(ident(w["stages"])),
            "version": (st.just(w["stages_version"]), st.one_of(st.just(""), broken_text)),
        },
    ),
    "stage cover": lambda w: (
        "/journeys/lifecycle/stages/renewal/cover/",
        {"squad": ident(w["squads"])},
    ),
    "account": lambda w: (
        "/account/",
        {
            "email": (st.emails().filter(lambda e: len(e) <= 254), broken_text),
            "daily_digest": BOOLEAN,
            "immediate_high": BOOLEAN,
        },
    ),
}


def _refused(response) -> bool:
    """Anything but a redirect after saving; a redirect that brings an error counts too."""
    from django.contrib.messages import ERROR

    if response.status_code != 302:
        return True
    # Only the messages this request added, not those still waiting from earlier ones.
    added = response.wsgi_request._messages._queued_messages
    return any(m.level == ERROR for m in added)


def fuzz_forms(demo: dict, names: list[str], examples: int, state=database_state) -> None:
    """Post generated values to each form: never a server error, and a refused post
    changes nothing (`state`: the rows to compare). Every example starts from the demo
    company as loaded."""
    baseline = state()
    for name in names:
        url, fields = FORMS[name](demo)
        label = f"the {name} form at {url}"
        _fuzz_form(demo["client"], baseline, label, url, fields, examples, state)


def _fuzz_form(client, baseline: str, label: str, url: str, fields: dict, examples: int, state):
    @fuzz(examples)
    @given(body=post_body(fields))
    def post(body):
        note(label)
        with rolled_back():
            response = client.post(url, body)
            assert response.status_code < 500
            if _refused(response):
                assert state() == baseline
            elif response["Location"].startswith("/"):
                # What was saved shows: the page the post leads to renders it.
                assert client.get(response["Location"]).status_code < 500

    post()


SQUAD_FORMS = [
    "squad create",
    "member add",
    "DRI hand-over",
    "objective",
    "key result create",
    "key result edit",
    "check-in",
    "plan section",
    "not-doing list",
    "initiative create",
    "initiative edit",
    "similar work",
    "similar work in an edit",
]
JOURNEY_FORMS = [
    "journey create",
    "journey edit",
    "stage create",
    "stage edit",
    "stage move",
    "moment create",
    "moment edit",
]
SEASON_FORMS = ["cycle create", "cycle move", "carry forward"]
OTHER_FORMS = [
    "dependency create",
    "dependency edit",
    "dependency answer",
    "finding dismissal",
    "account",
]
SETUP_FORMS = [
    "invitation",
    "person's function and groups",
    "capacity",
    "function add",
    "function rename",
    "segment create",
    "segment edit",
    "squad stages",
    "stage cover",
]


def test_every_form_is_fuzzed():
    assert sorted(SQUAD_FORMS + JOURNEY_FORMS + SEASON_FORMS + OTHER_FORMS + SETUP_FORMS) == sorted(
        FORMS
    )


def setup_state() -> str:
    """database_state, with what the set-up pages write besides: profiles, capacity,
    invitations and who is in which group."""
    from django.contrib.auth.models import Group
    from django.core import serializers

    from core.models import Capacity, Invitation, Profile

    rows = [database_state()]
    for model in (Profile, Capacity, Invitation, Group):
        rows.append(serializers.serialize("json", model.objects.order_by("pk")))
    rows.append(repr(sorted(Group.user_set.through.objects.values_list("user_id", "group_id"))))
    return "\n".join(rows)


def test_the_set_up_forms_never_fail_and_refusals_change_nothing(demo):
    fuzz_forms(demo, SETUP_FORMS, examples=6, state=setup_state)


def test_the_squad_and_plan_forms_never_fail_and_refusals_change_nothing(demo):
    fuzz_forms(demo, SQUAD_FORMS, examples=6)


def test_the_journey_forms_never_fail_and_refusals_change_nothing(demo):
    fuzz_forms(demo, JOURNEY_FORMS, examples=6)


def test_the_season_forms_never_fail_and_refusals_change_nothing(demo):
    from core.models import Cycle

    # In flight: every move and carrying forward are open to it.
    Cycle.objects.filter(key="fy2027").update(state="in_flight")
    fuzz_forms(demo, SEASON_FORMS, examples=6)


def test_the_board_finding_and_account_forms_never_fail_and_refusals_change_nothing(demo):
    fuzz_forms(demo, OTHER_FORMS, examples=6)


# The filters of the board, the graph and the findings are forms too, read from the address.
FILTERS = {
    "from": choice(["first-90-days", "product-led", ""]),
    "to": choice(["product-led", "function:People", ""]),
    "status": choice(["", "open", "requested", "declined"]),
    "stage": choice(["lifecycle/onboarding", ""]),
    "within": choice(["14", "366"], typed_only=["0", "-1", "367", "9" * 40, "1e3"]),
    "overdue": BOOLEAN,
    "blocking": BOOLEAN,
    "dep": key(["assessment-by-q1"]),
    "group": choice(["provider", "month", "none"]),
    "nodes": choice(["squads", "initiatives"]),
    "page": choice(["1", "2"], typed_only=["0", "-1", "9" * 5000]),
    "kind": choice(["overlap", "blocker", ""]),
    "severity": choice(["high", ""]),
    "state": choice(["open", "all", "dismissed"]),
    "squad": choice(["first-90-days", ""]),
    "next": choice(["/board/"], typed_only=["//evil.example/", "javascript:alert(1)"]),
}


@fuzz(10)
@given(query=post_body(FILTERS), page=st.sampled_from(["/board/", "/board/graph/", "/findings/"]))
def test_the_filters_never_fail(demo, query, page):
    response = demo["client"].get(page, query)
    assert response.status_code < 500
