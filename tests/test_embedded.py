"""`make run` serves the demo on the embedded default (SQLite, no Redis): every main page a
newcomer opens answers, drawn by the same code as on PostgreSQL. The rest of the suite runs
on PostgreSQL, so a read written for psycopg alone would break the first command of the
README unseen; this runs the app the way `make run` does, in a process of its own."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

from tests.conftest import ROOT

PAGES = [
    "/squads/",
    "/squads/first-90-days/",
    "/squads/first-90-days/plan/",
    "/board/",
    "/board/?to=product-led&status=open",
    "/board/?from=first-90-days",
    "/board/graph/",
    "/board/export.csv",
    "/board/export.xlsx",
    "/findings/",
    "/timeline/",
    "/goals/",
    "/journeys/",
    "/journeys/lifecycle/",
    "/segments/",
    "/segments/mid-market/milestones/",
    "/people/",
    "/notifications/",
    "/calendar/",
    "/search/?q=onboarding",
    "/cycles/",
]

CHECK = textwrap.dedent(
    """
    import json, sys
    import django
    django.setup()
    from django.core.management import call_command
    from django.contrib.auth import get_user_model
    from django.test import Client
    call_command("migrate", verbosity=0)
    call_command("load_demo", verbosity=0)
    client = Client(HTTP_HOST="127.0.0.1")  # the address make run serves on
    client.force_login(get_user_model().objects.get(username="priya"))
    answers = {}
    for page in json.loads(sys.argv[1]):
        response = client.get(page)
        if getattr(response, "streaming", False):
            b"".join(response.streaming_content)
        answers[page] = response.status_code
    print(json.dumps(answers))
    """
)


def test_every_main_page_answers_on_the_embedded_default(tmp_path):
    import json

    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DATABASE_", "REDIS_", "CELERY_", "TEST_DATABASE", "TEST_REDIS"))
    }
    env |= {
        "DJANGO_SETTINGS_MODULE": "throughline.settings",
        "THROUGHLINE_VAR_DIR": str(tmp_path),
        "DEBUG": "1",
    }
    done = subprocess.run(
        [sys.executable, "-c", CHECK, json.dumps(PAGES)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    answers = json.loads(done.stdout.strip().splitlines()[-1])
    failing = {page: code for page, code in answers.items() if code != 200}
    assert not failing, f"pages that do not answer on SQLite: {failing}\n{done.stderr[-3000:]}"
