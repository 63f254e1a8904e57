"""What an import of the planning file changes in dependencies is told as the board tells
it: webhook and chat events, and the needing squad's notification of a decline or a risk."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command

from core.events import event_published, events_published
from dependencies.models import Dependency
from planning.models import Notification
from tests.test_planning_file import EXAMPLE

pytestmark = pytest.mark.django_db


@pytest.fixture
def heard(django_capture_on_commit_callbacks):
    """Every event told once the import commits: (name, summary, actor)."""
    got: list[tuple[str, str, object]] = []

    def one(sender, event, **kwargs):
        many(sender, [event])

    def many(sender, events, **kwargs):
        got.extend((e.name, e.summary, e.data.get("actor")) for e in events)

    event_published.connect(one, dispatch_uid="test.import.one")
    events_published.connect(many, dispatch_uid="test.import.many")
    yield got
    event_published.disconnect(dispatch_uid="test.import.one")
    events_published.disconnect(dispatch_uid="test.import.many")


def run(tmp_path, document, *options) -> str:
    path = tmp_path / "plans.json"
    path.write_text(json.dumps(document))
    out = io.StringIO()
    call_command("import_plans", str(path), *options, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def declined(document: dict, key: str = "messaging-mid-q1") -> dict:
    changed = json.loads(json.dumps(document))
    for dep in changed["dependencies"]:
        if dep["key"] == key:
            dep["status"] = "declined"
    return changed


def test_new_dependencies_are_told_once_and_a_second_import_tells_nothing(
    tmp_path, heard, django_capture_on_commit_callbacks
):
    document = json.loads(EXAMPLE.read_text())
    with django_capture_on_commit_callbacks(execute=True):
        out = run(tmp_path, document)

    assert sorted(name for name, _, _ in heard) == ["dependency.requested"] * 4
    assert all(actor is None for _, _, actor in heard)  # the file, not a person
    assert "Told: 4 new dependencies, 0 status changes" in out

    heard.clear()
    with django_capture_on_commit_callbacks(execute=True):
        out = run(tmp_path, document)
    assert heard == []
    assert "Told" not in out


def test_a_status_the_file_changes_is_told_and_the_needing_squad_hears_of_a_decline(
    tmp_path, heard, django_capture_on_commit_callbacks
):
    document = json.loads(EXAMPLE.read_text())
    run(tmp_path, document, "--quiet")
    assert Notification.objects.count() == 0

    with django_capture_on_commit_callbacks(execute=True):
        out = run(tmp_path, declined(document))

    assert [(name, actor) for name, _, actor in heard] == [("dependency.declined", None)]
    assert "Feature messaging for the assessment and wizard" in heard[0][1]
    assert "Told: 0 new dependencies, 1 status change" in out
    dependency = Dependency.objects.get(key="messaging-mid-q1")
    told = Notification.objects.filter(dependency=dependency)
    # The needing squad (First 90 Days, its DRI Priya among them) hears it from the file.
    assert "priya" in {n.recipient.username for n in told}
    assert {n.message.split(" declined ")[0] for n in told} == {"A planning file import"}


def test_quiet_changes_the_status_and_tells_nobody(
    tmp_path, heard, django_capture_on_commit_callbacks
):
    document = json.loads(EXAMPLE.read_text())
    with django_capture_on_commit_callbacks(execute=True):
        run(tmp_path, document, "--quiet")
        out = run(tmp_path, declined(document), "--quiet")

    assert Dependency.objects.get(key="messaging-mid-q1").status == "declined"
    assert heard == []
    assert Notification.objects.count() == 0
    assert "Told" not in out


def test_a_file_with_a_problem_tells_nothing(tmp_path, heard, django_capture_on_commit_callbacks):
    document = declined(json.loads(EXAMPLE.read_text()))
    document["squads"][0]["dri"] = "nobody-by-that-name"
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(SystemExit):
        run(tmp_path, document)

    assert heard == []
    assert Notification.objects.count() == 0
    assert not Dependency.objects.exists()
