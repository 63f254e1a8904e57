"""What someone removes disappears from everything a person sees, and comes back exactly as it
was: the demo company, a stage, a squad, an initiative, a key result, a dependency and a
comment removed through their confirmation pages, every page, export, feed, API list, the
digest and the review walked before, between and after."""

from __future__ import annotations

import datetime as dt
import io
import json
import re

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from openpyxl import load_workbook

from api.models import ApiToken
from core.models import Cycle, Removal
from dependencies.models import Dependency
from journeys.models import Stage
from planning import digest, feeds, services
from planning.models import Finding
from planning.snapshot import snapshot_for_cycle
from squads.cowriting import comment_add
from squads.models import Comment, KeyResult, Squad
from tests import factories as f

pytestmark = pytest.mark.django_db
User = get_user_model()
# The demo's dependencies fall due in the first quarter of 2027.
TODAY = dt.date(2027, 2, 10)

# One word each removed thing carries, found nowhere else in the demo company.
STAGE, SQUAD, KEY_RESULT, DEPENDENCY, COMMENT = ("Quokka", "Bilby", "Numbat", "Dingo", "Echidna")
# CS Onboarding's initiative, by its own title: a word added to it would change how alike the
# review judges it to Product-led Growth's.
INITIATIVE = "Launch new onboarding program to improve activation"
# The removed squad's initiative, which goes with it.
SQUAD_WORK = "Drive product adoption through education"
MARKERS = (STAGE, SQUAD, SQUAD_WORK, INITIATIVE, KEY_RESULT, DEPENDENCY, COMMENT)


def export() -> dict:
    out = io.StringIO()
    call_command("export_plans", stdout=out)
    return json.loads(out.getvalue())


@pytest.fixture
def demo(db):
    """The demo company, each thing to remove carrying its word; the review run once."""
    call_command("load_demo", "--allow-production", stdout=io.StringIO())
    Stage.objects.filter(key="advocacy").update(name=f"Advocacy {STAGE}")
    Squad.objects.filter(key="marketing-education").update(name=f"Marketing {SQUAD}")
    KeyResult.objects.filter(key="ttv").update(name=f"Median time to {KEY_RESULT} value")
    # Blocking, so the graph draws it: the only edge from First 90 Days to Product-led Growth.
    Dependency.objects.filter(key="messaging-mid-q1").update(
        what=f"Feature messaging for the {DEPENDENCY} assessment", blocking=True
    )
    first_90 = Squad.objects.get(key="first-90-days")
    ada = User.objects.get(username="ada")
    comment = comment_add(
        squad=first_90,
        section="desired_experience",
        by=ada,
        body=f"The {COMMENT} day reads well, @priya.",
    )
    services.mentions_notify(comment=comment, by=ada, where="First 90 Days", url="/")
    f.in_group(f.person("lena", "Lena Lund", function="Leadership"), "Leadership")
    cycle = Cycle.objects.get(key="fy2027")
    services.review_run(cycle=cycle, today=TODAY, trigger="command")
    return cycle


def _signed_in(username: str) -> Client:
    client = Client()
    client.force_login(User.objects.get(username=username))
    return client


def _xlsx_text(content: bytes) -> str:
    sheet = load_workbook(io.BytesIO(content), read_only=True).active
    return " ".join(str(cell) for row in sheet.iter_rows(values_only=True) for cell in row)


def surfaces(cycle: Cycle) -> dict[str, str]:
    """Everything a person reads about the company, as text, by where they read it."""
    lena, priya = _signed_in("lena"), _signed_in("priya")
    pages = {
        "journeys": reverse("journeys:list"),
        "journey map": reverse("journeys:detail", args=["lifecycle"]),
        "squads": reverse("squads:list"),
        "squad": reverse("squads:detail", args=["first-90-days"]),
        "plan": reverse("squads:plan", args=["first-90-days"]),
        "plan of Product-led Growth": reverse("squads:plan", args=["product-led"]),
        "plan of CS Onboarding": reverse("squads:plan", args=["cs-onboarding"]),
        "board": reverse("board:board"),
        "graph": reverse("board:graph"),
        "findings": reverse("findings"),
    }
    seen = {}
    for name, url in pages.items():
        response = lena.get(url)
        assert response.status_code == 200, (name, response.status_code)
        seen[name] = response.content.decode()
    # How findings ended is the review's record of the past, as the plan's history is: a
    # finding about a removed thing ended there, and keeps the words it had.
    seen["findings"] = seen["findings"].split('id="outcomes-title"')[0]
    seen["board as csv"] = b"".join(
        lena.get(reverse("board:export_csv")).streaming_content
    ).decode()
    seen["board as xlsx"] = _xlsx_text(
        b"".join(lena.get(reverse("board:export_xlsx")).streaming_content)
    )
    seen["notifications"] = priya.get(reverse("notifications")).content.decode()
    _row, token = ApiToken.issue(user=User.objects.get(username="lena"), name="walk")
    api = Client(headers={"authorization": f"Bearer {token}"})
    for name in ("journey_list", "squad_list", "initiative_list", "dependency_list"):
        response = api.get(reverse(f"api:{name}"), {"limit": 200})
        assert response.status_code == 200, name
        seen[f"api {name}"] = response.content.decode()
    seen["planning file"] = json.dumps(export())
    secret = feeds.reset_secret(User.objects.get(username="priya")).secret
    seen["priya's calendar"] = (
        Client().get(reverse("calendar_person", args=[secret])).content.decode()
    )
    seen["digest"] = repr(
        [
            (
                d.name,
                d.due_soon,
                d.in_trouble,
                [x.message for x in d.open_findings + d.new_findings],
            )
            for d in digest.digests(TODAY)
        ]
    )
    seen["review's snapshot"] = repr(snapshot_for_cycle(cycle))
    seen["review's findings"] = repr(
        list(
            Finding.objects.filter(cycle=cycle)
            .exclude(state="resolved")
            .values_list("message", "subjects")
        )
    )
    return seen


# Where each removed thing shows while it is there: the walk must see it there first.
SHOWN = {
    STAGE: {"journeys", "journey map", "board", "api journey_list", "planning file",
            "review's snapshot", "review's findings"},
    SQUAD: {"squads", "journey map", "board", "api squad_list", "planning file",
            "review's snapshot"},
    SQUAD_WORK: {"api initiative_list", "planning file", "review's snapshot"},
    INITIATIVE: {"plan of CS Onboarding", "api initiative_list", "planning file",
                 "review's snapshot"},
    KEY_RESULT: {"squads", "squad", "api squad_list", "planning file", "review's snapshot"},
    DEPENDENCY: {"plan", "plan of Product-led Growth", "board", "board as csv", "board as xlsx",
                 "api dependency_list", "planning file", "priya's calendar", "digest",
                 "review's snapshot"},
    COMMENT: {"plan", "notifications"},
}  # fmt: skip


# The graph draws squads, not what they need: the removed dependency is its one edge.
GRAPH_EDGE = "needs 1 blocking dependency from Product-led Growth"


def shown_where(seen: dict[str, str], word: str) -> set[str]:
    return {name for name, text in seen.items() if word in text}


def _seen(page: str) -> str:
    return re.search(r'name="seen" value="([^"]+)"', page)[1]


def remove(client: Client, url: str, *, answer: bool = False) -> Removal:
    page = client.get(url)
    assert page.status_code == 200, url
    data = {"seen": _seen(page.content.decode())}
    if answer:
        data["answer"] = "yes"
    response = client.post(url, data)
    assert response.status_code == 302, (url, response.content.decode()[:2000])
    return Removal.objects.order_by("-pk").first()


def test_what_is_removed_is_gone_from_every_page_export_and_feed_and_comes_back(demo):
    before_file = export()
    seen = surfaces(demo)
    for word, expected in SHOWN.items():
        assert expected <= shown_where(seen, word), (word, expected - shown_where(seen, word))
    assert GRAPH_EDGE in seen["graph"]

    # The review finds the stage nobody covers, and the initiative among overlapping ones.
    findings = Finding.objects.filter(cycle=demo).exclude(state="resolved")
    stage_found = findings.filter(subjects__contains=["stage:lifecycle/advocacy"])
    overlap = findings.filter(subjects__contains=["initiative:cs-onboarding/onboarding-program"])
    assert stage_found.exists() and overlap.exists()

    lena, priya, lee, ada = (_signed_in(u) for u in ("lena", "priya", "lee", "ada"))
    comment = Comment.objects.get(body__contains=COMMENT)
    removed = [
        remove(lena, reverse("journeys:stage_remove", args=["lifecycle", "advocacy"])),
        remove(lena, reverse("squads:remove", args=["marketing-education"]), answer=False),
        remove(
            lee, reverse("squads:initiative_remove", args=["cs-onboarding", "onboarding-program"])
        ),
        remove(priya, reverse("squads:kr_remove", args=["first-90-days", "ttv"])),
        remove(priya, reverse("board:remove", args=["messaging-mid-q1"])),
        remove(ada, reverse("squads:comment_remove", args=["first-90-days", comment.pk])),
    ]
    assert len({r.pk for r in removed}) == 6
    services.review_run(cycle=demo, today=TODAY, trigger="command")

    gone = surfaces(demo)
    for word in MARKERS:
        # A notification of a finding is what the review said then; the finding itself ends
        # (above). A mention in a removed comment leaves the list.
        history = {"notifications"} if word != COMMENT else set()
        assert shown_where(gone, word) - history == set(), word
    assert GRAPH_EDGE not in gone["graph"]
    # The review no longer finds the stage nobody covers, nor the removed initiative's overlap.
    assert not stage_found.exists() and not overlap.exists()

    for removal, who in zip(removed, (lena, lena, lee, priya, priya, ada), strict=True):
        response = who.post(reverse("removal_restore", args=[removal.pk]))
        assert response.status_code == 302
        assert Removal.objects.get(pk=removal.pk).restored_at is not None
    services.review_run(cycle=demo, today=TODAY, trigger="command")

    assert export() == before_file
    assert stage_found.exists() and overlap.exists()
    back = surfaces(demo)
    for word, expected in SHOWN.items():
        assert expected <= shown_where(back, word), (word, expected - shown_where(back, word))
    assert GRAPH_EDGE in back["graph"]
