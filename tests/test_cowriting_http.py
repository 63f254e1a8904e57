"""Many people saving the same parts at once, over real HTTP: no acknowledged save is lost.

The property: an acknowledged save's words leave the current text only through a later save
whose author was shown them (in the editor or in the conflict view). Every writer here only
adds words to what its editor showed it, so at the end every word of every acknowledged
save must be in the text as it is.

Gunicorn serves the app with several worker processes and threads, on PostgreSQL and Redis,
as in production. Each writer is a person with their own session, behaving as the htmx
editor does in a browser: open the editor, add a word of their own to what it shows, save
with everything the form carries (its version included); on the conflict view, open the
editor again and redo the edit. Every editable kind is written at once: plan sections, the
not-doing list, initiatives, key results, dependencies, the journey, its stages and moments.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

import pytest
import requests
from django.conf import settings
from django.db import transaction
from django.test import Client
from django.urls import reverse

from dependencies import services as dependency_services
from dependencies.models import Dependency
from journeys.models import Journey, Moment, Stage
from squads.models import OKR, Initiative, KeyResult, Plan
from tests import factories as f

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

ROOT = Path(__file__).resolve().parent.parent
SECONDS = float(os.environ.get("COWRITING_STRESS_SECONDS", "20"))
WRITERS_PER_KIND = 3
HX = {"HX-Request": "true"}
CONFLICT = re.compile(r"after you (started editing|opened it)")


class FormReader(HTMLParser):
    """The fields of each form on a page, as a browser would submit them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[dict] = []
        self._form: dict | None = None
        self._textarea: str | None = None
        self._select: str | None = None
        self._first_option: str | None = None
        self._multiple = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self._form = {"action": a.get("action", ""), "fields": []}
            self.forms.append(self._form)
        elif self._form is None:
            return
        elif tag == "input" and a.get("name"):
            kind = a.get("type", "text")
            if kind in ("checkbox", "radio") and "checked" not in a:
                return
            if kind in ("submit", "button"):
                return
            self._form["fields"].append([a["name"], a.get("value", "")])
        elif tag == "textarea" and a.get("name"):
            self._textarea = a["name"]
            self._form["fields"].append([a["name"], ""])
        elif tag == "select" and a.get("name") and "multiple" in a:
            # A browser sends each selected option of a multiple select, and nothing when
            # none is.
            self._select, self._multiple = a["name"], True
        elif tag == "select" and a.get("name"):
            self._select, self._first_option, self._multiple = a["name"], None, False
            self._form["fields"].append([a["name"], None])
        elif tag == "option" and self._select and self._multiple:
            if "selected" in a:
                self._form["fields"].append([self._select, a.get("value", "")])
        elif tag == "option" and self._select:
            value = a.get("value", "")
            field = self._form["fields"][-1]
            if self._first_option is None:
                self._first_option = value
            if "selected" in a:
                field[1] = value

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "textarea":
            self._textarea = None
        elif tag == "select" and self._select and self._multiple:
            self._select = None
        elif tag == "select" and self._select:
            field = self._form["fields"][-1] if self._form else None
            if field is not None and field[1] is None:
                field[1] = self._first_option or ""
            self._select = None

    def handle_data(self, data):
        if self._textarea and self._form:
            field = self._form["fields"][-1]
            # The HTML parser keeps the newline a textarea starts with; browsers drop it.
            field[1] += data[1:] if not field[1] and data.startswith("\n") else data


def editor_form(page: str, editor: str) -> dict | None:
    """The editor's form on the page: the one that saves to `editor` with a version (a page
    has other forms with versions, such as a moment's delete button)."""
    reader = FormReader()
    reader.feed(page)
    for form in reader.forms:
        if form["action"] in ("", editor) and any(n == "version" for n, _ in form["fields"]):
            return form
    return None


@dataclass
class Kind:
    name: str
    person: str
    editor: str  # the editor's URL
    field: str  # the field a writer adds its word to
    limit: int  # stop before the field would outgrow what the form accepts
    read: Callable[[], str]  # the text as saved, at the end
    htmx: bool = True


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def gunicorn(transactional_db) -> Iterator[str]:
    """The app under gunicorn: 3 worker processes × 4 threads, on the test database."""
    db = settings.DATABASES["default"]
    url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    if db.get("PASSWORD"):
        url = url.replace("@", f":{db['PASSWORD']}@", 1)
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "REDIS_URL": settings.REDIS_URL,
        "WRITE_RATE_LIMIT": "0",  # twenty people saving as fast as they can, on purpose
        "DEBUG": "1",
        "LOG_LEVEL": "WARNING",
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "throughline.wsgi",
            "--workers",
            "3",
            "--threads",
            "4",
            "--bind",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    try:
        while True:
            assert process.poll() is None, process.stderr.read().decode()[-3000:]
            try:
                requests.get(f"{base}/accounts/login/", timeout=10)
                break
            except (requests.ConnectionError, requests.Timeout):
                assert time.monotonic() < deadline, "gunicorn did not answer within 60s"
                time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def _company() -> list[Kind]:
    """A squad with a plan, an OKR, an initiative and a dependency; a journey to map."""
    with transaction.atomic():
        cycle = f.cycle("fy2027")
        dri = f.person("dri", "Dana DRI")
        members = [f.person(f"member{n}") for n in range(WRITERS_PER_KIND)]
        squad = f.squad("first-90-days", dri=dri, cycle=cycle, members=members)
        other = f.squad("platform", dri=f.person("pat"), cycle=cycle)
        Plan.objects.create(
            squad=squad,
            current_experience="New customers are overwhelmed.",
            not_doing=["Webinars", "Paid ads", "Trade shows"],
        )
        okr = OKR.objects.create(squad=squad, cycle=cycle, objective="Customers reach value")
        kr = KeyResult.objects.create(okr=okr, key="activation", name="Activation", target=40)
        tool = f.initiative(squad, "assessment-tool", description="Routes each customer.")
        dep = dependency_services.dependency_create(
            by=dri, from_squad=squad, to_squad=other, what="Messaging", due=dt.date(2027, 2, 1)
        )
        stage = f.stage(customer_goal="Get value quickly")
        journey = stage.journey
        Journey.objects.filter(pk=journey.pk).update(description="From signing to value.")
        moment = Moment.objects.create(
            stage=stage, when="Day 1", offset_days=1, tomorrow="Welcomed"
        )
        f.in_group(f.person("leo"), "Leadership")

    def plan(field: str) -> Callable[[], str]:
        return lambda: getattr(Plan.objects.get(squad=squad), field)

    j, s = journey.key, stage.key
    return [
        Kind(
            "section",
            "member",
            reverse("squads:plan_section_edit", args=[squad.key, "current-experience"]),
            "text",
            19000,
            plan("current_experience"),
        ),
        Kind(
            "not-doing",
            "member",
            reverse("squads:plan_section_edit", args=[squad.key, "not-doing"]),
            "line_{writer}",
            480,
            lambda: "\n".join(Plan.objects.get(squad=squad).not_doing),
        ),
        Kind(
            "initiative",
            "member",
            reverse("squads:initiative_edit", args=[squad.key, tool.key]),
            "description",
            4900,
            lambda: Initiative.objects.get(pk=tool.pk).description,
        ),
        Kind(
            "key-result",
            "dri",
            reverse("squads:kr_edit", args=[squad.key, kr.key]),
            "name",
            190,
            lambda: KeyResult.objects.get(pk=kr.pk).name,
        ),
        Kind(
            "dependency",
            "dri",
            reverse("board:edit", args=[dep.key]),
            "note",
            4900,
            lambda: Dependency.objects.get(pk=dep.pk).note,
            htmx=False,
        ),
        Kind(
            "journey",
            "leo",
            reverse("journeys:edit", args=[j]),
            "journey-description",
            19000,
            lambda: Journey.objects.get(pk=journey.pk).description,
        ),
        Kind(
            "stage",
            "leo",
            reverse("journeys:stage_edit", args=[j, s]),
            f"stage-{stage.pk}-customer_goal",
            19000,
            lambda: Stage.objects.get(pk=stage.pk).customer_goal,
        ),
        Kind(
            "moment",
            "leo",
            reverse("journeys:moment_edit", args=[j, s, moment.pk]),
            f"moment-{moment.pk}-tomorrow",
            19000,
            lambda: Moment.objects.get(pk=moment.pk).tomorrow,
        ),
    ]


def _session_cookie(username: str) -> str:
    from django.contrib.auth import get_user_model

    client = Client()
    client.force_login(get_user_model().objects.get(username=username))
    return client.cookies[settings.SESSION_COOKIE_NAME].value


@dataclass
class Tally:
    acknowledged: dict  # kind -> list of words the server said were saved
    conflicts: Counter
    problems: list


def _write(base: str, kind: Kind, writer: int, cookie: str, until: float, tally: Tally) -> None:
    session = requests.Session()
    session.cookies.set(settings.SESSION_COOKIE_NAME, cookie, domain="127.0.0.1")
    headers = {**HX} if kind.htmx else {}
    field = kind.field.format(writer=writer)
    n = 0
    word = None
    while time.monotonic() < until:
        if word is None:
            n += 1
            word = f"w{writer:02d}{kind.name[:2]}{n:04d}"
        page = session.get(base + kind.editor, headers=headers, timeout=30)
        form = editor_form(page.text, kind.editor) if page.status_code == 200 else None
        if form is None:
            tally.problems.append(f"{kind.name}: editor answered {page.status_code}")
            return
        fields = form["fields"]
        values = dict(fields)
        if len(values.get(field, "")) + len(word) + 1 > kind.limit:
            return  # the field is as long as the form accepts: this writer is done
        data = [[name, value] for name, value in fields if name != field]
        data.append([field, f"{values.get(field, '')} {word}".strip()])
        saved = session.post(
            base + (form["action"] or kind.editor),
            data=data,
            headers={**headers, "Referer": base + kind.editor},
            allow_redirects=False,
            timeout=30,
        )
        if saved.status_code == 302 or (
            saved.status_code == 200 and editor_form(saved.text, kind.editor) is None
        ):
            tally.acknowledged[kind.name].append(word)
            word = None
        elif saved.status_code == 200 and CONFLICT.search(saved.text):
            tally.conflicts[kind.name] += 1  # shown the saved text: open the editor again
        else:
            tally.problems.append(
                f"{kind.name}: save answered {saved.status_code}: {saved.text[:300]!r}"
            )
            return


def test_twenty_four_people_saving_at_once_lose_no_acknowledged_word(gunicorn):
    kinds = _company()
    cookies: dict[str, str] = {}

    def cookie_for(kind: Kind, writer: int) -> str:
        username = f"member{writer}" if kind.person == "member" else kind.person
        if username not in cookies:
            cookies[username] = _session_cookie(username)
        return cookies[username]

    tally = Tally(acknowledged=defaultdict(list), conflicts=Counter(), problems=[])
    until = time.monotonic() + SECONDS
    threads = [
        threading.Thread(
            target=_write,
            args=(gunicorn, kind, writer, cookie_for(kind, writer), until, tally),
        )
        for kind in kinds
        for writer in range(WRITERS_PER_KIND)
    ]
    assert len(threads) >= 20
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(SECONDS + 120)
    assert not any(thread.is_alive() for thread in threads)
    assert not tally.problems, tally.problems[:5]

    lost = {}
    for kind in kinds:
        text = kind.read()
        missing = [word for word in tally.acknowledged[kind.name] if word not in text]
        if missing:
            lost[kind.name] = (len(missing), len(tally.acknowledged[kind.name]), missing[:5])
        assert tally.acknowledged[kind.name], f"no {kind.name} save was acknowledged"
    summary = {
        kind.name: (len(tally.acknowledged[kind.name]), tally.conflicts[kind.name])
        for kind in kinds
    }
    print(f"\nacknowledged saves and conflicts shown, per kind: {summary}")
    assert not lost, f"acknowledged words missing from the text (missing, saved, some): {lost}"
    # The writers did meet each other: otherwise this proved nothing about concurrency.
    assert sum(tally.conflicts.values()) > 0
