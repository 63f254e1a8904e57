"""A dependency's lifecycle: which status may follow which, one table for every way in (the
service, the board, the API, the spreadsheet import, the planning file) and for the docs."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from api.models import ApiToken
from dependencies import services
from dependencies.models import DEPENDENCY_STATUSES, TRANSITIONS, Dependency
from dependencies.presenters import ACTIONS
from planning.planning_file import PlanningFileInvalid, import_document

pytestmark = pytest.mark.django_db

HX = {"HX-Request": "true"}
TODAY = timezone.localdate()
LABELS = {"requested": "requested", "accepted": "accepted", "at_risk": "at risk"}
LABELS |= {"done": "done", "declined": "declined"}
# What each answer asks for; nothing asks for requested.
ACTION_FOR = {"accepted": "accept", "at_risk": "at_risk", "done": "done", "declined": "decline"}
PAIRS = [(now, wanted) for now in DEPENDENCY_STATUSES for wanted in ACTION_FOR]
ALLOWED = {
    ("requested", "accepted"),
    ("requested", "declined"),
    ("accepted", "at_risk"),
    ("accepted", "done"),
    ("accepted", "declined"),
    ("at_risk", "accepted"),
    ("at_risk", "done"),
    ("at_risk", "declined"),
    ("done", "accepted"),
    ("declined", "accepted"),
}


@pytest.fixture
def squad_dep(needing, providing, dora) -> Dependency:
    """Unlike the shared `dep`, from the needing squad itself rather than its wizard, and not
    blocking: the dependency the planning file below describes."""
    return Dependency.objects.create(
        key="messaging",
        from_squad=needing,
        to_squad=providing,
        what="Feature messaging for the wizard",
        due=TODAY + dt.timedelta(days=30),
        owner=dora,
        note="Campaign cannot launch without it.",
    )


def set_status(dep: Dependency, status: str) -> Dependency:
    Dependency.objects.filter(pk=dep.pk).update(status=status)
    dep.refresh_from_db()
    return dep


def what_is_stored(dep: Dependency) -> tuple:
    row = Dependency.objects.get(pk=dep.pk)
    return row.status, row.note, row.version, row.history.count()


def allowed_after(status: str) -> str:
    following = [LABELS[s] for s in TRANSITIONS[status]]
    return (
        following[0] if len(following) == 1 else ", ".join(following[:-1]) + f" or {following[-1]}"
    )


# ---------------------------------------------------------------------------------------
# The table itself
# ---------------------------------------------------------------------------------------


def test_the_table_is_the_lifecycle_the_product_promises():
    assert {(now, wanted) for now, following in TRANSITIONS.items() for wanted in following} == (
        ALLOWED
    )
    assert set(TRANSITIONS) == set(DEPENDENCY_STATUSES)
    # A request is answered once: nothing leads back to it.
    assert not any("requested" in following for following in TRANSITIONS.values())
    # Every status can be left, so no dependency is stuck for good.
    assert all(TRANSITIONS.values())


# ---------------------------------------------------------------------------------------
# Through the service: every pair
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("now", "wanted"), PAIRS)
def test_every_answer_from_every_status_through_the_service(squad_dep, dora, now, wanted):
    set_status(squad_dep, now)
    before = what_is_stored(squad_dep)
    answer = {"action": ACTION_FOR[wanted], "reason": "The launch moved to Q2."}
    if (now, wanted) in ALLOWED:
        services.dependency_respond(dependency=squad_dep, by=dora, **answer)
        stored = Dependency.objects.get(pk=squad_dep.pk)
        assert stored.status == wanted
        assert stored.version == before[2] + 1
        return
    with pytest.raises(ValidationError) as refused:
        services.dependency_respond(dependency=squad_dep, by=dora, **answer)
    assert what_is_stored(squad_dep) == before
    message = " ".join(refused.value.messages)
    if now == wanted:
        assert message == f"This dependency is already {LABELS[now]}."
    else:
        assert message == (
            f"This dependency is {LABELS[now]}: it may become {allowed_after(now)}, "
            f"not {LABELS[wanted]}."
        )
        assert refused.value.message_dict.keys() == {"action"}


def test_a_long_way_round_the_lifecycle(squad_dep, dora):
    for action, status in [
        ("accept", "accepted"),
        ("at_risk", "at_risk"),
        ("accept", "accepted"),
        ("done", "done"),
        ("accept", "accepted"),
        ("decline", "declined"),
        ("accept", "accepted"),
    ]:
        services.dependency_respond(dependency=squad_dep, by=dora, action=action, reason="Moved.")
        assert Dependency.objects.get(pk=squad_dep.pk).status == status


# ---------------------------------------------------------------------------------------
# The board
# ---------------------------------------------------------------------------------------


def respond(dep: Dependency) -> str:
    return reverse("board:respond", args=[dep.key])


def board_row(client: Client, dep: Dependency) -> str:
    page = client.get(reverse("board:board"), {"dep": dep.key, "status": ""}).content.decode()
    row = re.search(rf'<tr[^>]*id="dep-{dep.key}".*?</tr>', page, re.S)
    assert row, "the board shows no row for the dependency"
    return row.group(0)


@pytest.mark.parametrize("now", DEPENDENCY_STATUSES)
def test_the_board_offers_exactly_what_may_follow(client, squad_dep, dora, now):
    set_status(squad_dep, now)
    client.force_login(dora)
    row = board_row(client, squad_dep)
    offered = re.findall(r'name="action" value="(\w+)"', row)
    # Declining and marking at risk open a form first, for the reason.
    wanted = [ACTION_FOR[s] for s in TRANSITIONS[now] if s not in ("declined", "at_risk")]
    assert offered == wanted
    for status, form in (("declined", "board:decline"), ("at_risk", "board:at_risk")):
        asks = reverse(form, args=[squad_dep.key]) in row
        assert asks == (status in TRANSITIONS[now])


@pytest.mark.parametrize(
    ("now", "action", "then"),
    [
        ("requested", "at_risk", "requested"),
        ("requested", "done", "requested"),
        ("done", "at_risk", "done"),
        ("done", "accept", "accepted"),
        ("declined", "accept", "accepted"),
        ("at_risk", "accept", "accepted"),
    ],
)
def test_the_board_answers_as_the_table_says(client, squad_dep, dora, now, action, then):
    set_status(squad_dep, now)
    client.force_login(dora)
    response = client.post(respond(squad_dep), {"action": action, "was": now}, headers=HX)
    assert response.status_code == 200
    assert Dependency.objects.get(pk=squad_dep.pk).status == then
    if then == now:
        wanted = {"accept": "accepted", "at_risk": "at_risk", "done": "done"}[action]
        assert (
            f"This dependency is {LABELS[now]}: it may become {allowed_after(now)}, "
            f"not {LABELS[wanted]}."
        ) in response.content.decode()


def test_without_script_a_refused_answer_comes_back_as_a_message(client, squad_dep, dora):
    client.force_login(dora)
    response = client.post(respond(squad_dep), {"action": "done", "was": "requested"}, follow=True)
    assert "This dependency is requested: it may become accepted or declined, not done." in (
        response.content.decode()
    )
    assert Dependency.objects.get(pk=squad_dep.pk).status == "requested"


def test_a_done_dependency_is_not_declined_on_the_board(client, squad_dep, dora):
    set_status(squad_dep, "done")
    before = what_is_stored(squad_dep)
    client.force_login(dora)
    says = "This dependency is done: it may become accepted, not declined."
    form = client.get(reverse("board:decline", args=[squad_dep.key]), headers=HX).content.decode()
    assert 'name="reason"' not in form and says in form
    # Posted anyway, with or without a reason: the lifecycle is what the answer names.
    for reason in ("", "No longer needed"):
        response = client.post(
            respond(squad_dep), {"action": "decline", "reason": reason, "was": "done"}, headers=HX
        )
        assert says in response.content.decode()
        assert 'name="reason"' not in response.content.decode()
    assert what_is_stored(squad_dep) == before


# ---------------------------------------------------------------------------------------
# The API
# ---------------------------------------------------------------------------------------


def answer(dep: Dependency, user, payload: dict):
    _row, token = ApiToken.issue(user=user, name="tests")
    client = Client(headers={"authorization": f"Bearer {token}"})
    url = f"/api/v1/dependencies/{dep.key}/answer"
    return client.post(url, json.dumps(payload), content_type="application/json")


def test_the_api_refuses_what_may_not_follow_and_says_why(squad_dep, dora):
    before = what_is_stored(squad_dep)
    refused = answer(squad_dep, dora, {"action": "at_risk"})
    assert refused.status_code == 400
    says = "This dependency is requested: it may become accepted or declined, not at risk."
    assert refused.json() == {"detail": says, "errors": {"action": [says]}}
    assert what_is_stored(squad_dep) == before


@pytest.mark.parametrize(("now", "action", "then"), [("done", "accept", "accepted")])
def test_the_api_allows_what_may_follow(squad_dep, dora, now, action, then):
    set_status(squad_dep, now)
    allowed = answer(squad_dep, dora, {"action": action})
    assert allowed.status_code == 200, allowed.content
    assert allowed.json()["status"] == then


def test_the_api_refuses_the_same_status_again(squad_dep, dora):
    set_status(squad_dep, "declined")
    refused = answer(squad_dep, dora, {"action": "decline", "reason": "Still no."})
    assert refused.status_code == 400
    assert refused.json()["errors"]["action"] == ["This dependency is already declined."]


# ---------------------------------------------------------------------------------------
# The spreadsheet import
# ---------------------------------------------------------------------------------------


def status_file(*rows: tuple[str, str]) -> SimpleUploadedFile:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["key", "status"])
    writer.writerows(rows)
    return SimpleUploadedFile("answers.csv", out.getvalue().encode(), content_type="text/csv")


def import_problems(page: str) -> dict[tuple[int, str], str]:
    return {
        (int(row), column): message
        for row, column, message in re.findall(
            r"<tr><td>Dependencies</td><td>(\d+)</td><td><code>(\w+)</code></td><td>(.*?)</td></tr>",
            page,
        )
    }


@pytest.mark.parametrize(
    ("now", "wanted", "says"),
    [
        ("requested", "at_risk", "it may become accepted or declined, not at_risk"),
        ("requested", "done", "it may become accepted or declined, not done"),
        ("done", "at_risk", "it may become accepted, not at_risk"),
        ("declined", "done", "it may become accepted, not done"),
        ("accepted", "requested", "it may become at_risk, done or declined, not requested"),
    ],
)
def test_the_spreadsheet_import_refuses_what_may_not_follow(
    client, squad_dep, dora, now, wanted, says
):
    set_status(squad_dep, now)
    before = what_is_stored(squad_dep)
    client.force_login(dora)
    response = client.post("/import/", {"file": status_file(("messaging", wanted))})
    assert response.status_code == 400
    problems = import_problems(response.content.decode())
    assert problems == {(2, "status"): f"This dependency is {now}: {says}."}
    assert "/import/confirm/" not in response.content.decode()
    assert what_is_stored(squad_dep) == before


@pytest.mark.parametrize(
    ("now", "wanted"), [("accepted", "at_risk"), ("done", "accepted"), ("at_risk", "done")]
)
def test_the_spreadsheet_import_sets_what_may_follow(client, squad_dep, dora, now, wanted):
    set_status(squad_dep, now)
    client.force_login(dora)
    preview = client.post("/import/", {"file": status_file(("messaging", wanted))})
    assert preview.status_code == 200, preview.content.decode()
    page = preview.content.decode()
    token = re.search(r'name="token" value="([^"]*)"', page)
    assert token, "the preview offers no confirmation"
    client.post("/import/confirm/", {"token": token.group(1)})
    assert Dependency.objects.get(pk=squad_dep.pk).status == wanted


# ---------------------------------------------------------------------------------------
# The planning file
# ---------------------------------------------------------------------------------------


def planning_file(status: str, key: str = "messaging") -> dict:
    return {
        "format": "planning-file/1",
        "dependencies": [
            {
                "key": key,
                "from": "first-90-days",
                "to": "product-led",
                "what": "Feature messaging for the wizard",
                "due": (TODAY + dt.timedelta(days=30)).isoformat(),
                "blocking": False,
                "status": status,
                "owner": "dora",
                "note": "Campaign cannot launch without it.",
            }
        ],
    }


@pytest.mark.parametrize(("now", "wanted"), [("done", "declined"), ("accepted", "requested")])
def test_a_planning_file_changes_a_stored_status_only_as_the_table_allows(squad_dep, now, wanted):
    set_status(squad_dep, now)
    before = what_is_stored(squad_dep)
    with pytest.raises(PlanningFileInvalid) as refused:
        import_document(planning_file(wanted))
    problems = [(p.path, p.message) for p in refused.value.problems]
    following = ", ".join(TRANSITIONS[now][:-1])
    following = f"{following} or {TRANSITIONS[now][-1]}" if following else TRANSITIONS[now][0]
    assert problems == [
        (
            "dependencies[0].status",
            f'stored dependency "messaging" is {now}: it may become {following}, not {wanted}',
        )
    ]
    assert what_is_stored(squad_dep) == before


def test_a_planning_file_moves_a_stored_status_along_the_table(squad_dep):
    set_status(squad_dep, "done")
    import_document(planning_file("accepted"))
    assert Dependency.objects.get(pk=squad_dep.pk).status == "accepted"


@pytest.mark.parametrize("status", DEPENDENCY_STATUSES)
def test_a_planning_file_records_a_new_dependency_in_any_status(squad_dep, status):
    import_document(planning_file(status, key="messaging-again"))
    assert Dependency.objects.get(key="messaging-again").status == status


# ---------------------------------------------------------------------------------------
# The docs
# ---------------------------------------------------------------------------------------

DOC = Path(settings.BASE_DIR) / "docs" / "dependencies.md"
TABLE = re.compile(r"<!-- lifecycle table:[^\n]*-->\n(.*?)<!-- end of lifecycle table -->", re.S)


def lifecycle_table() -> str:
    """The lifecycle as the code has it, written as docs/dependencies.md shows it."""
    lines = ["| Status now | May become | The board's buttons |", "|---|---|---|"]
    for now, following in TRANSITIONS.items():
        buttons = [label for _action, label in ACTIONS[now]]
        if "declined" in following:
            buttons.append("Decline")
        may = ", ".join(f"`{status}`" for status in following)
        lines.append(f"| `{now}` | {may} | {', '.join(buttons)} |")
    return "\n".join(lines) + "\n"


def test_the_docs_show_the_lifecycle_the_code_has():
    shown = TABLE.search(DOC.read_text())
    assert shown, "docs/dependencies.md has lost its lifecycle table"
    assert shown.group(1) == lifecycle_table(), "paste this table in:\n" + lifecycle_table()
