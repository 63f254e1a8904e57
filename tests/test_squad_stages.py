"""Which journey stages a squad covers, set in the app: on the squad's page, from the
journey map's "No squad", and when forming a squad. Each change is kept in the coverage
history with who made it."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from squads import services
from squads.models import Squad, SquadStage
from tests import factories as f

pytestmark = pytest.mark.django_db

HX = {"HX-Request": "true"}


@pytest.fixture
def stages(stage):
    """Onboarding (the shared fixture), Adoption and Renewal of the lifecycle journey."""
    return {
        "onboarding": stage,
        "adoption": f.stage("lifecycle", "adoption", name="Adoption", position=1),
        "renewal": f.stage("lifecycle", "renewal", name="Renewal", position=2),
    }


def covered(squad) -> set[str]:
    return set(SquadStage.objects.filter(squad=squad).values_list("stage__key", flat=True))


def version_of(squad) -> str:
    return services.squad_stages_version(
        SquadStage.objects.filter(squad=squad).values_list("stage_id", flat=True)
    )


def post_stages(client, squad, keys, stages, *, version=None, **headers):
    return client.post(
        reverse("squads:stages", args=[squad.key]),
        {
            "stages": [stages[k].pk for k in keys],
            "version": version_of(squad) if version is None else version,
        },
        headers=headers,
    )


# ---------------------------------------------------------------------------------------
# The service
# ---------------------------------------------------------------------------------------


def test_setting_a_squads_stages_adds_and_removes_with_history(needing, stages, alice):
    services.squad_stage_cover(squad=needing, stage=stages["onboarding"], by=alice)
    added, removed = services.squad_stages_set(
        squad=needing,
        stages=[stages["adoption"], stages["renewal"]],
        version=version_of(needing),
        by=alice,
    )
    assert {s.key for s in added} == {"adoption", "renewal"}
    assert [s.key for s in removed] == ["onboarding"]
    assert covered(needing) == {"adoption", "renewal"}
    gone = SquadStage.history.filter(stage=stages["onboarding"], history_type="-").get()
    assert gone.history_user == alice
    assert gone.history_change_reason == "Taken off on the squad's page"
    came = SquadStage.history.filter(stage=stages["renewal"], history_type="+").get()
    assert came.history_user == alice


def test_a_change_made_meanwhile_is_not_overwritten_unseen(needing, stages, alice, leo):
    shown = version_of(needing)
    services.squad_stage_cover(squad=needing, stage=stages["renewal"], by=leo)
    with pytest.raises(ValidationError) as refused:
        services.squad_stages_set(
            squad=needing, stages=[stages["adoption"]], version=shown, by=alice
        )
    assert "Someone changed which stages this squad covers" in str(refused.value)
    assert covered(needing) == {"renewal"}


def test_a_squad_formed_with_stages_covers_them_from_the_start(cycle, alice, stages, leo):
    squad = services.squad_create(
        key="renewal",
        name="Renewal Squad",
        cycle=cycle,
        dri=alice,
        objective="Customers renew because they reached value",
        stages=[stages["renewal"], stages["adoption"], stages["renewal"]],
        by=leo,
    )
    assert covered(squad) == {"renewal", "adoption"}
    entry = SquadStage.history.filter(squad_id=squad.pk).first()
    assert entry.history_user == leo
    assert entry.history_change_reason == "Chosen when the squad was formed"


# ---------------------------------------------------------------------------------------
# On the squad's page
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["alice", "leo"])
def test_the_dri_and_leadership_choose_the_squads_stages(client, request, needing, stages, who):
    client.force_login(request.getfixturevalue(who))
    opened = client.get(reverse("squads:stages", args=[needing.key]))
    assert opened.status_code == 200
    assert "Save stages" in opened.content.decode()
    response = post_stages(client, needing, ["onboarding", "renewal"], stages)
    assert response.status_code == 302
    assert response["Location"].endswith("#stages")
    assert covered(needing) == {"onboarding", "renewal"}
    page = client.get(reverse("squads:detail", args=[needing.key])).content.decode()
    assert "Onboarding" in page and "Renewal" in page
    assert "covers no journey stage yet" not in page


def test_over_htmx_the_stages_part_opens_and_saves_in_place(client, needing, stages, alice):
    client.force_login(alice)
    opened = client.get(reverse("squads:stages", args=[needing.key]), headers=HX)
    assert opened.status_code == 200
    assert "<html" not in opened.content.decode()
    saved = post_stages(client, needing, ["adoption"], stages, **HX)
    assert saved.status_code == 200
    page = saved.content.decode()
    assert "<html" not in page and "Adoption" in page and "Save stages" not in page
    assert covered(needing) == {"adoption"}


def test_a_new_squads_page_offers_the_choice_to_its_dri_only(client, needing, stages, bob, carol):
    for person, offered in ((needing.dri, True), (bob, False), (carol, False)):
        client.force_login(person)
        page = client.get(reverse("squads:detail", args=[needing.key])).content.decode()
        assert "This squad covers no journey stage yet." in page
        assert (reverse("squads:stages", args=[needing.key]) in page) is offered


def test_a_stale_form_keeps_the_persons_choice_and_says_what_changed(
    client, needing, stages, alice, leo
):
    client.force_login(alice)
    shown = version_of(needing)
    services.squad_stage_cover(squad=needing, stage=stages["renewal"], by=leo)
    response = post_stages(client, needing, ["adoption"], stages, version=shown)
    assert response.status_code == 400
    assert "Someone changed which stages this squad covers" in response.content.decode()
    assert covered(needing) == {"renewal"}
    form = response.context["stages_form"]
    assert form.data.getlist("stages") == [str(stages["adoption"].pk)]
    again = post_stages(client, needing, ["adoption"], stages, version=form.data["version"])
    assert again.status_code == 302
    assert covered(needing) == {"adoption"}


@pytest.mark.parametrize("who", ["bob", "carol", "olga", "dora"])
def test_others_cannot_change_a_squads_stages(client, request, needing, providing, stages, who):
    client.force_login(request.getfixturevalue(who))
    assert client.get(reverse("squads:stages", args=[needing.key])).status_code == 403
    assert post_stages(client, needing, ["renewal"], stages).status_code == 403
    assert covered(needing) == set()


def test_an_unknown_squad_or_stage_is_refused(client, needing, stages, alice):
    client.force_login(alice)
    assert client.get(reverse("squads:stages", args=["nope"])).status_code == 404
    response = client.post(
        reverse("squads:stages", args=[needing.key]),
        {"stages": ["999999"], "version": version_of(needing)},
    )
    assert response.status_code == 400
    assert covered(needing) == set()


def test_the_stages_form_needs_the_csrf_token_and_no_other_method(needing, stages, alice):
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(alice)
    assert post_stages(strict, needing, ["renewal"], stages).status_code == 403
    assert covered(needing) == set()
    relaxed = Client()
    relaxed.force_login(alice)
    assert relaxed.put(reverse("squads:stages", args=[needing.key])).status_code == 405


def test_leadership_forms_a_squad_with_its_stages(client, cycle, alice, stages, leo):
    client.force_login(leo)
    form = client.get(reverse("squads:create")).content.decode()
    assert "Journey stages it covers" in form and "Renewal" in form
    response = client.post(
        reverse("squads:create"),
        {
            "name": "Renewal Squad",
            "key": "renewal",
            "cycle": cycle.pk,
            "dri": alice.pk,
            "objective": "Customers renew because they reached value",
            "stages": [stages["renewal"].pk],
            "kr-direction": "increase",
        },
    )
    assert response.status_code == 302
    assert covered(Squad.objects.get(key="renewal")) == {"renewal"}


# ---------------------------------------------------------------------------------------
# From the journey map
# ---------------------------------------------------------------------------------------


def cover_url(stage) -> str:
    return reverse("journeys:stage_cover", args=[stage.journey.key, stage.key])


def test_the_maps_no_squad_leads_leadership_to_choose_one(client, needing, stages, leo, alice):
    client.force_login(leo)
    page = client.get(reverse("journeys:detail", args=["lifecycle"])).content.decode()
    assert cover_url(stages["renewal"]) in page
    client.force_login(alice)
    page = client.get(reverse("journeys:detail", args=["lifecycle"])).content.decode()
    assert "No squad" in page and cover_url(stages["renewal"]) not in page


def test_leadership_picks_a_squad_of_the_cycle_for_a_stage(client, needing, providing, stages, leo):
    client.force_login(leo)
    page = client.get(cover_url(stages["renewal"]))
    assert page.status_code == 200
    offered = {s.key for s in page.context["form"].fields["squad"].queryset}
    assert offered == {"first-90-days", "product-led"}
    response = client.post(cover_url(stages["renewal"]), {"squad": providing.pk})
    assert response.status_code == 302
    assert response["Location"].endswith(f"#stage-{stages['renewal'].pk}")
    assert covered(providing) == {"renewal"}
    entry = SquadStage.history.get(squad_id=providing.pk)
    assert entry.history_user == leo and entry.history_change_reason == (
        "Assigned on the journey map"
    )
    journey = client.get(reverse("journeys:detail", args=["lifecycle"])).content.decode()
    assert "Product-led Growth" in journey
    # A squad that covers it already is not offered again.
    page = client.get(cover_url(stages["renewal"]))
    assert {s.key for s in page.context["form"].fields["squad"].queryset} == {"first-90-days"}


def test_a_squad_of_another_cycle_is_refused(client, needing, stages, leo, dora):
    later = f.squad("later", dri=dora, cycle=f.cycle("fy2028"))
    client.force_login(leo)
    response = client.post(cover_url(stages["renewal"]), {"squad": later.pk})
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()
    assert covered(later) == set()


def test_choosing_no_squad_says_so(client, needing, stages, leo):
    client.force_login(leo)
    response = client.post(cover_url(stages["renewal"]), {})
    assert response.status_code == 400
    assert "Choose the squad that covers this stage." in response.content.decode()


@pytest.mark.parametrize("who", ["alice", "bob", "carol", "olga"])
def test_only_leadership_covers_a_stage_from_the_map(client, request, needing, stages, who):
    client.force_login(request.getfixturevalue(who))
    assert client.get(cover_url(stages["renewal"])).status_code == 403
    assert client.post(cover_url(stages["renewal"]), {"squad": needing.pk}).status_code == 403
    assert covered(needing) == set()


def test_an_unknown_stage_is_404(client, stages, leo, carol):
    for person in (leo, carol):
        client.force_login(person)
        url = reverse("journeys:stage_cover", args=["lifecycle", "nope"])
        assert client.get(url).status_code == 404


def test_covering_from_the_map_needs_the_csrf_token_and_no_other_method(needing, stages, leo):
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(leo)
    assert strict.post(cover_url(stages["renewal"]), {"squad": needing.pk}).status_code == 403
    assert covered(needing) == set()
    relaxed = Client()
    relaxed.force_login(leo)
    assert relaxed.put(cover_url(stages["renewal"])).status_code == 405
