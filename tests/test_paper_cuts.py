"""Small things a new person trips over: each as they met it."""

from __future__ import annotations

import csv
import io
import re

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.staticfiles import finders
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import Client

from planning.spreadsheet_import import COLUMNS, INITIATIVES
from squads.models import Initiative

pytestmark = pytest.mark.django_db
User = get_user_model()


@pytest.fixture
def demo(db):
    call_command("load_demo", "--allow-production", stdout=io.StringIO())
    # An administrator's bare account, as `createsuperuser` makes it: no name in the company.
    User.objects.create_superuser("root-admin", "root@example.com", "x")


def signed_in(username: str) -> Client:
    client = Client()
    client.force_login(User.objects.get(username=username))
    return client


def test_every_page_names_an_icon_and_the_browsers_default_address_has_one(demo):
    page = signed_in("priya").get("/", follow=True).content.decode()
    icon = re.search(r'<link rel="icon" href="([^"]+)"', page)
    assert icon, "the page names no icon, so the browser asks /favicon.ico and gets a 404"
    # Static files are served by WhiteNoise from the collected files, which tests do not
    # collect: the finder says the named file ships with the app.
    assert finders.find(icon.group(1).removeprefix(settings.STATIC_URL).lstrip("/"))
    ico = Client().get("/favicon.ico")
    assert ico.status_code == 200
    assert b"".join(ico.streaming_content)[:4] == b"\x00\x00\x01\x00"  # an ICO file
    admin = signed_in("root-admin").get("/admin/").content.decode()
    assert 'rel="icon"' in admin


def _options(page: str, name: str) -> list[str]:
    select = re.search(rf'<select name="{name}".*?</select>', page, re.S)
    assert select, f"no {name} picker on the page"
    return re.findall(r"<option value=\"\d+\"[^>]*>(.*?)</option>", select.group(0), re.S)


def test_an_administrators_bare_account_is_not_offered_as_dri_or_owner(demo):
    leadership = signed_in("priya")
    new_squad = leadership.get("/squads/new/").content.decode()
    offered = _options(new_squad, "dri")
    assert offered and "root-admin" not in " ".join(offered)
    assert any("Priya" in name for name in offered)

    outcome = leadership.get("/segments/mid-market/outcome/")
    owners = _options(outcome.content.decode(), r"outcome-\d+-owner")
    assert owners and "root-admin" not in " ".join(owners)


def test_an_owner_without_a_profile_stays_offered_where_they_already_own(demo):
    from journeys.models import Segment

    admin = User.objects.get(username="root-admin")
    Segment.objects.filter(key="mid-market").update(success_owner=admin)
    page = signed_in("priya").get("/segments/mid-market/outcome/").content.decode()
    owners = _options(page, r"outcome-\d+-owner")
    assert "root-admin" in " ".join(owners), "saving would drop the owner unseen"


def test_the_import_guides_stage_example_is_accepted_and_a_wrong_stage_lists_the_right_ones(
    demo,
):
    guide = dict(COLUMNS[INITIATIVES])["stage"]
    example = re.search(r"e\.g\. ([\w-]+/[\w-]+)", guide).group(1)
    header = ["squad", "key", "title", "function", "starts", "ends", "stage"]

    def upload(stage: str) -> SimpleUploadedFile:
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(header)
        writer.writerow(
            ["first-90-days", "guided", "Guided", "Product", "2027-02-01", "2027-03-01", stage]
        )
        return SimpleUploadedFile("plans.csv", out.getvalue().encode(), content_type="text/csv")

    ada = signed_in("ada")
    preview = ada.post("/import/", {"file": upload(example)})
    assert preview.status_code == 200, preview.content.decode()[:2000]
    assert "/import/confirm/" in preview.content.decode()

    refused = ada.post("/import/", {"file": upload("customer-lifecycle/onboarding")})
    page = refused.content.decode()
    assert refused.status_code == 400
    assert "lifecycle/onboarding" in page and "lifecycle/renewal" in page
    assert not Initiative.objects.filter(key="guided").exists()


def test_a_key_results_percentage_says_it_is_progress_to_target(demo):
    from squads.models import KeyResult

    kr = KeyResult.objects.filter(target__isnull=False, baseline__isnull=False).first()
    squad = kr.okr.squad
    for path in (f"/squads/{squad.key}/", "/squads/"):
        page = signed_in("priya").get(path).content.decode()
        shown = re.findall(r'class="kr[p]?__pct">(\d+(?:\.\d+)?)% <span[^>]*>to target<', page)
        assert shown, f"{path}: a bare percentage beside a key result reads as its metric"
        assert not re.search(r'class="kr[p]?__pct">\d+(?:\.\d+)?%</span>', page), path


def test_the_stage_links_on_a_squads_page_land_on_their_stage_of_the_map(demo):
    client = signed_in("priya")
    squads = re.findall(r'href="/squads/([\w-]+)/"', client.get("/squads/").content.decode())
    links = []
    for key in dict.fromkeys(squads):
        page = client.get(f"/squads/{key}/").content.decode()
        links += re.findall(r'<a class="pill" href="(/journeys/[\w-]+/)#([\w-]+)">(.*?)</a>', page)
    assert links, "no squad page links a stage of the journey map"
    for journey, anchor, name in links:
        map_page = client.get(journey).content.decode()
        card = re.search(rf'<article id="{re.escape(anchor)}"[^>]*>.*?</article>', map_page, re.S)
        assert card, f"{journey}#{anchor} is no stage of the map"
        assert name in card.group(0), f"{journey}#{anchor} is not the stage {name}"
