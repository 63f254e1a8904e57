"""What every signed-in page draws around its body: the navigation, the person's name and
unread notifications, and the cycles to choose from. The cycles come from the process while
the directory's revision (read with the person's relations) has not moved; a change to a
cycle, however it is written, shows on the next page."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.models import Cycle
from tests import factories as f

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

PAGE = "/notifications/"


@pytest.fixture(autouse=True)
def drawn_afresh(settings):
    settings.PAGE_CACHE = False


@pytest.fixture
def signed_in(client, cycle):
    client.force_login(f.person("ann", "Ann Archer"))
    return client


def cycle_options(response) -> list[str]:
    html = response.content.decode()
    chooser = html[html.index('id="cycle-select"') :]
    chooser = chooser[: chooser.index("</select>")]
    return [part.split(">", 1)[1].split("<", 1)[0] for part in chooser.split("<option")[1:]]


def test_the_navigation_links_lead_where_they_say(signed_in):
    html = signed_in.get(PAGE).content.decode()
    for link in ('href="/squads/"', 'href="/board/"', 'href="/findings/"', 'href="/account/"'):
        assert link in html
    assert 'action="/accounts/logout/"' in html
    assert "Ann Archer" in html


def test_a_renamed_cycle_shows_on_the_next_page(signed_in, cycle):
    assert cycle_options(signed_in.get(PAGE)) == ["FY2027"]
    assert cycle_options(signed_in.get(PAGE)) == ["FY2027"]  # kept by the process now
    Cycle.objects.filter(pk=cycle.pk).update(name="Year of the customer")
    assert cycle_options(signed_in.get(PAGE)) == ["Year of the customer"]


def test_a_cycle_added_or_renamed_with_sql_shows_on_the_next_page(signed_in, cycle):
    signed_in.get(PAGE)
    Cycle.objects.create(
        key="fy2028", name="FY2028", starts=dt.date(2028, 1, 1), ends=dt.date(2028, 12, 31)
    )
    assert cycle_options(signed_in.get(PAGE)) == ["FY2028", "FY2027"]
    with connection.cursor() as cursor:
        cursor.execute("UPDATE planning_cycle SET name = 'Next year' WHERE key = 'fy2028'")
    assert cycle_options(signed_in.get(PAGE)) == ["Next year", "FY2027"]


def test_the_frame_reads_the_cycles_once_and_then_from_the_process(signed_in):
    signed_in.get(PAGE)
    Cycle.objects.create(
        key="fy2028", name="FY2028", starts=dt.date(2028, 1, 1), ends=dt.date(2028, 12, 31)
    )
    with CaptureQueriesContext(connection) as first:
        signed_in.get(PAGE)
    with CaptureQueriesContext(connection) as again:
        signed_in.get(PAGE)
    read_cycles = [q for q in first.captured_queries if 'FROM "planning_cycle"' in q["sql"]]
    assert len(read_cycles) == 1
    assert not [q for q in again.captured_queries if 'FROM "planning_cycle"' in q["sql"]]
