"""A read replica for the board and its exports (throughline/db_router.py).

The replica here is a second database alias pointing at the same test database (Django's
TEST MIRROR), so what tells the two apart is which connection the queries go through. Without
a replica nothing changes: the middleware removes itself and there is no router.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.conf import settings as django_settings
from django.core.cache import cache
from django.core.exceptions import MiddlewareNotUsed
from django.db import connections, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from dependencies.models import Dependency
from tests import factories as f
from throughline import db_router

ROOT = Path(__file__).resolve().parent.parent
ROUTER = "throughline.db_router.ReplicaRouter"
# The board's and the export's own queries (the ORM's); the person's unread count, read with
# their account, joins the table too, on the primary.
BOARD_QUERY = 'FROM "dependencies_dependency"'


@pytest.fixture(scope="module")
def replica_alias(django_db_setup, django_db_blocker):
    """The `replica` alias, on the primary's test database, for this module's tests.

    Module-scoped so that it exists before each test's database access is set up (which
    checks the aliases a test names)."""
    default = connections["default"].settings_dict
    alias = {
        **default,
        "OPTIONS": {**default["OPTIONS"]},
        "TEST": {**default["TEST"], "MIRROR": "default"},
    }
    if "pool" in alias["OPTIONS"]:
        alias["OPTIONS"]["pool"] = dict(alias["OPTIONS"]["pool"])
    django_settings.DATABASES[db_router.REPLICA] = alias
    connections.settings[db_router.REPLICA] = alias
    yield db_router.REPLICA
    with django_db_blocker.unblock():
        connection = connections[db_router.REPLICA]
        connection.close()
        if hasattr(connection, "close_pool"):
            connection.close_pool()
    del connections[db_router.REPLICA]
    connections.settings.pop(db_router.REPLICA, None)
    django_settings.DATABASES.pop(db_router.REPLICA, None)


@pytest.fixture
def routed(replica_alias, settings):
    settings.DATABASE_ROUTERS = [ROUTER]
    # The database is emptied between these tests and its revisions count from the start
    # again: no page drawn for an earlier test may be taken for this one's.
    cache.clear()
    return connections[replica_alias]


@pytest.fixture
def world(routed):
    """Alice's squad needs feature messaging from Dora's; Bob works with Alice, Carol in
    neither. Built in one transaction: the tests commit, and a squad needs its DRI's
    membership by the end of the transaction that makes it."""
    with transaction.atomic():
        cycle = f.cycle("fy2027")
        alice, bob, carol, dora = (
            f.person(name, name.title()) for name in ("alice", "bob", "carol", "dora")
        )
        needing = f.squad("first-90-days", dri=alice, cycle=cycle, members=[bob])
        providing = f.squad("product-led", dri=dora, cycle=cycle)
        dep = Dependency.objects.create(
            key="messaging",
            from_squad=needing,
            to_squad=providing,
            what="Feature messaging for the wizard",
            due=timezone.localdate() + dt.timedelta(days=30),
            blocking=True,
        )
    return SimpleNamespace(bob=bob, carol=carol, needing=needing, dep=dep)


def _tables(captured: CaptureQueriesContext) -> str:
    return " ".join(q["sql"] for q in captured.captured_queries)


def with_replica(test):
    """A test that commits, with both aliases open to it, on PostgreSQL (a replica is one)."""
    test = pytest.mark.django_db(transaction=True, databases=["default", "replica"])(test)
    return pytest.mark.postgres(test)


@with_replica
def test_the_board_is_read_from_the_replica_and_the_sign_in_from_the_primary(client, routed, world):
    client.force_login(world.carol)
    with (
        CaptureQueriesContext(routed) as on_replica,
        CaptureQueriesContext(connections["default"]) as on_primary,
    ):
        response = client.get(reverse("board:board"))

    assert response.status_code == 200
    assert "Feature messaging for the wizard" in response.content.decode()
    assert BOARD_QUERY in _tables(on_replica)
    assert BOARD_QUERY not in _tables(on_primary)
    # The person's session and account come from the primary, before the view is chosen.
    assert "auth_user" in _tables(on_primary)
    # Once the answer is sent, reads go to the primary again.
    assert db_router.ReplicaRouter().db_for_read(Dependency) == "default"


@with_replica
def test_a_streamed_export_reads_from_the_replica_while_it_is_sent(client, routed, world):
    client.force_login(world.carol)
    with (
        CaptureQueriesContext(routed) as on_replica,
        CaptureQueriesContext(connections["default"]) as on_primary,
    ):
        response = client.get(reverse("board:export_csv"))
        body = b"".join(response.streaming_content).decode()
        response.close()

    assert response.status_code == 200
    assert "Feature messaging for the wizard" in body
    assert BOARD_QUERY in _tables(on_replica)
    assert BOARD_QUERY not in _tables(on_primary)
    assert db_router.ReplicaRouter().db_for_read(Dependency) == "default"


@with_replica
def test_changes_and_other_pages_never_touch_the_replica(client, routed, world):
    dep, needing = world.dep, world.needing
    client.force_login(world.bob)
    url = reverse("board:edit", args=[dep.key])
    with CaptureQueriesContext(routed) as on_replica:
        version = f.shown_version(client, url)
        edited = client.post(
            url,
            {
                "what": "Feature messaging, final",
                "due": dep.due.isoformat(),
                "note": "",
                "blocking": "on",
                "version": version,
            },
        )
        plan = client.get(reverse("squads:plan", args=[needing.key]))
        row = client.get(reverse("board:row", args=[dep.key]), HTTP_HX_REQUEST="true")

    assert edited.status_code == 302
    assert Dependency.objects.get(pk=dep.pk).what == "Feature messaging, final"
    assert plan.status_code == 200
    assert row.status_code == 200
    assert "Feature messaging, final" in row.content.decode()
    assert on_replica.captured_queries == []


@with_replica
def test_inside_a_transaction_on_the_primary_reads_stay_there(routed):
    token = db_router._replica_reads.set(True)
    try:
        assert db_router.ReplicaRouter().db_for_read(Dependency) == "replica"
        with transaction.atomic():
            # A view that wrote and then reads sees its own write.
            assert db_router.ReplicaRouter().db_for_read(Dependency) == "default"
        assert db_router.ReplicaRouter().db_for_write(Dependency) == "default"
    finally:
        db_router._replica_reads.reset(token)


def test_without_a_replica_the_middleware_removes_itself(monkeypatch):
    alone = SimpleNamespace(DATABASES={"default": {}}, REPLICA_READ_VIEWS=[])
    monkeypatch.setattr(db_router, "settings", alone)
    with pytest.raises(MiddlewareNotUsed):
        db_router.ReplicaReadsMiddleware(lambda request: None)


def _settings_under(**env: str) -> dict:
    """Throughline's database settings as a fresh process reads them from `env`."""
    code = (
        "import json, throughline.settings as s;"
        "print(json.dumps({'databases': s.DATABASES,"
        " 'routers': getattr(s, 'DATABASE_ROUTERS', [])}, default=str))"
    )
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("DATABASE") and k != "DJANGO_SETTINGS_MODULE"
    }
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if done.returncode:
        return {"error": done.stderr}
    return json.loads(done.stdout)


def test_a_replica_url_adds_the_alias_and_the_router():
    got = _settings_under(
        DATABASE_URL="postgres://app@primary:5432/throughline",
        DATABASE_REPLICA_URL="postgres://app@replica:5432/throughline",
    )
    replica = got["databases"]["replica"]
    assert replica["HOST"] == "replica"
    assert got["databases"]["default"]["HOST"] == "primary"
    assert replica["TEST"] == {"MIRROR": "default"}
    assert "pool" in replica["OPTIONS"]
    assert got["routers"] == [ROUTER]

    alone = _settings_under(DATABASE_URL="postgres://app@primary:5432/throughline")
    assert set(alone["databases"]) == {"default"}
    assert alone["routers"] == []


def test_a_replica_needs_postgresql():
    got = _settings_under(DATABASE_REPLICA_URL="postgres://app@replica:5432/throughline")
    assert "DATABASE_REPLICA_URL needs DATABASE_URL to be PostgreSQL" in got["error"]


def test_behind_a_transaction_pooler_no_server_side_cursors_or_prepared_statements():
    got = _settings_under(
        DATABASE_URL="postgres://app@pgbouncer:6432/throughline",
        DATABASE_REPLICA_URL="postgres://app@replica-bouncer:6432/throughline",
        DATABASE_TRANSACTION_POOLER="1",
    )
    for alias in ("default", "replica"):
        assert got["databases"][alias]["DISABLE_SERVER_SIDE_CURSORS"] is True
        assert got["databases"][alias]["OPTIONS"]["prepare_threshold"] is None

    plain = _settings_under(DATABASE_URL="postgres://app@primary:5432/throughline")
    assert not plain["databases"]["default"].get("DISABLE_SERVER_SIDE_CURSORS")
    assert "prepare_threshold" not in plain["databases"]["default"]["OPTIONS"]
