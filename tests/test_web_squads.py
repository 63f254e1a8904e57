"""The squad pages: the list, one squad, forming a squad, its members, its DRI and its OKR."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.db import IntegrityError
from django.urls import reverse

from core.models import Cycle
from squads import services
from squads.models import OKR, CheckIn, KeyResult, Membership, Plan, Squad
from tests import factories as f

pytestmark = pytest.mark.django_db

HX = {"HX-Request": "true"}


# ---------------------------------------------------------------------------------------
# People and a squad
# ---------------------------------------------------------------------------------------


@pytest.fixture
def squad(needing, cycle):
    """The shared needing squad (Alice's, with Bob), with an OKR and a plan."""
    made = needing
    okr = OKR.objects.create(squad=made, cycle=cycle, objective="Customers reach value in 90 days")
    KeyResult.objects.create(
        okr=okr,
        key="activation",
        name="Day-90 activation rate",
        unit="%",
        baseline=Decimal(40),
        target=Decimal(44),
        current=Decimal(42),
    )
    Plan.objects.create(squad=made)
    return made


@pytest.fixture
def kr(squad):
    return KeyResult.objects.get(okr__squad=squad, key="activation")


def url(name: str, *args) -> str:
    return reverse(f"squads:{name}", args=args)


def is_partial(response) -> bool:
    content = response.content.decode()
    return "<html" not in content and 'class="topbar"' not in content


def field_errors(response, form: str, field: str) -> list[str]:
    return list(response.context[form].errors.get(field, []))


# ---------------------------------------------------------------------------------------
# The list
# ---------------------------------------------------------------------------------------


def test_the_list_shows_each_squad_with_its_dri_members_by_function_and_progress(
    client, squad, carol
):
    client.force_login(carol)
    response = client.get(url("list"))
    assert response.status_code == 200
    content = response.content.decode()
    assert "First 90 Days" in content
    assert "Alice Archer" in content
    # Members appear under the function they bring.
    assert "<dt>Customer Success</dt>" in content
    assert "<dt>Product</dt>" in content
    assert "Bob Baker" in content
    assert "Customers reach value in 90 days" in content
    assert "Day-90 activation rate" in content
    # 42 is half way from 40 to 44.
    assert "50%" in content
    assert "40% " in content and "44%" in content


def test_the_list_shows_only_squads_of_the_current_cycle(client, squad, carol):
    later = Cycle.objects.create(
        key="fy2028", name="FY2028", starts=dt.date(2028, 1, 1), ends=dt.date(2028, 12, 31)
    )
    f.squad("next-year", dri=carol, cycle=later)
    client.force_login(carol)
    content = client.get(url("list")).content.decode()
    assert "First 90 Days" in content
    assert "Next Year" not in content

    client.post(reverse("cycle_select"), {"cycle": "fy2028", "next": url("list")})
    content = client.get(url("list")).content.decode()
    assert "Next Year" in content
    assert "First 90 Days" not in content


def test_the_list_offers_a_new_squad_to_leadership_only(client, squad, leo, bob):
    client.force_login(leo)
    assert url("create") in client.get(url("list")).content.decode()
    client.force_login(bob)
    assert url("create") not in client.get(url("list")).content.decode()


def test_the_list_needs_a_signed_in_person(client, squad):
    response = client.get(url("list"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_the_list_refuses_posts(client, squad, alice):
    client.force_login(alice)
    assert client.post(url("list")).status_code == 405


def _many_squads(cycle, count: int) -> None:
    for n in range(count):
        dri = f.person(f"dri{n}", function="Product")
        member = f.person(f"member{n}", function="Marketing")
        made = f.squad(f"squad-{n}", dri=dri, cycle=cycle)
        Membership.objects.create(squad=made, person=member, function="Marketing")
        okr = OKR.objects.create(squad=made, cycle=cycle, objective=f"Objective {n}")
        for k in range(2):
            KeyResult.objects.create(
                okr=okr, key=f"kr{k}", name=f"KR {k}", baseline=0, target=10, current=k
            )


@pytest.mark.parametrize("count", [2, 20])
def test_the_list_costs_the_same_queries_for_2_or_20_squads(
    client, cycle, carol, count, django_assert_max_num_queries
):
    _many_squads(cycle, count)
    client.force_login(carol)
    with django_assert_max_num_queries(12):
        response = client.get(url("list"))
    assert response.content.decode().count('class="card squad-card"') == count


def test_a_long_list_comes_in_pages_that_cost_the_same_queries(
    client, cycle, carol, django_assert_max_num_queries
):
    _many_squads(cycle, 30)
    client.force_login(carol)
    with django_assert_max_num_queries(12):
        first = client.get(url("list")).content.decode()
    assert first.count('class="card squad-card"') == 24
    assert "30 squads" in first and "page 1 of 2" in first
    assert 'href="?page=2" rel="next"' in first
    second = client.get(url("list"), {"page": 2}).content.decode()
    assert second.count('class="card squad-card"') == 6
    shown = set(re.findall(r'id="squad-(squad-\d+)"', first + second))
    assert shown == {f"squad-{n}" for n in range(30)}


def test_the_list_finds_a_squad_by_name_key_or_dri_and_keeps_the_words(client, squad, carol):
    _many_squads(squad.cycle, 3)
    client.force_login(carol)
    for words in ("first 90", "90-DAYS", "alice archer"):
        content = client.get(url("list"), {"q": words}).content.decode()
        assert content.count('class="card squad-card"') == 1, words
        assert "First 90 Days" in content
    by_dri = client.get(url("list"), {"q": "dri1"}).content.decode()
    assert 'id="squad-squad-1"' in by_dri and "First 90 Days" not in by_dri
    none = client.get(url("list"), {"q": "<b>nothing</b>"}).content.decode()
    assert 'class="card squad-card"' not in none
    assert "No squad matches “&lt;b&gt;nothing&lt;/b&gt;”" in none
    assert 'value="&lt;b&gt;nothing&lt;/b&gt;"' in none


# ---------------------------------------------------------------------------------------
# One squad
# ---------------------------------------------------------------------------------------


def test_the_squad_page_shows_dri_members_okr_and_key_results(client, squad, kr, bob, carol):
    CheckIn.objects.create(
        key_result=kr, value=Decimal(42), confidence=7, note="Cohort 1 went well", author=bob
    )
    client.force_login(carol)
    response = client.get(url("detail", squad.key))
    assert response.status_code == 200
    content = response.content.decode()
    assert "Alice Archer" in content and "Bob Baker" in content
    assert "Customers reach value in 90 days" in content
    assert "Day-90 activation rate" in content
    for number in ("40%", "42%", "44%"):
        assert number in content
    assert "Cohort 1 went well" in content
    assert "7/10 confident" in content


def test_a_missing_squad_is_404(client, carol):
    client.force_login(carol)
    assert client.get(url("detail", "nope")).status_code == 404


def test_the_squad_page_needs_a_signed_in_person(client, squad):
    response = client.get(url("detail", squad.key))
    assert response.status_code == 302


def test_the_squad_page_refuses_posts(client, squad, alice):
    client.force_login(alice)
    assert client.post(url("detail", squad.key)).status_code == 405


def test_people_outside_the_squad_see_no_controls(client, squad, kr, carol, olga):
    for person in (carol, olga):
        client.force_login(person)
        content = client.get(url("detail", squad.key)).content.decode()
        assert url("check_in", squad.key, kr.key) not in content
        assert url("member_add", squad.key) not in content
        assert url("okr_edit", squad.key) not in content
        assert url("kr_edit", squad.key, kr.key) not in content


def test_members_may_check_in_but_only_the_dri_manages(client, squad, kr, bob, alice):
    client.force_login(bob)
    content = client.get(url("detail", squad.key)).content.decode()
    assert url("check_in", squad.key, kr.key) in content
    assert url("member_add", squad.key) not in content
    assert url("okr_edit", squad.key) not in content

    client.force_login(alice)
    content = client.get(url("detail", squad.key)).content.decode()
    assert url("member_add", squad.key) in content
    assert url("okr_edit", squad.key) in content
    assert url("kr_edit", squad.key, kr.key) in content


# ---------------------------------------------------------------------------------------
# Forming a squad
# ---------------------------------------------------------------------------------------


def _new_squad(**overrides) -> dict:
    data = {
        "name": "Renewal Squad",
        "key": "renewal",
        "cycle": "",
        "dri": "",
        "dri_function": "",
        "objective": "Customers renew because they see their value",
    }
    data.update(overrides)
    return data


def test_leadership_forms_a_squad_with_its_dri_okr_first_key_result_and_plan(
    client, cycle, leo, alice
):
    client.force_login(leo)
    page = client.get(url("create"))
    assert page.status_code == 200
    assert page.context["form"]["cycle"].value() == cycle.pk

    data = _new_squad(
        cycle=cycle.pk,
        dri=alice.pk,
        **{
            "kr-name": "Gross renewal rate",
            "kr-key": "renewal-rate",
            "kr-unit": "%",
            "kr-baseline": "82",
            "kr-target": "90",
            "kr-direction": "increase",
        },
    )
    response = client.post(url("create"), data)
    assert response.status_code == 302
    assert response["Location"] == url("detail", "renewal")

    squad = Squad.objects.get(key="renewal")
    assert squad.dri == alice
    membership = Membership.objects.get(squad=squad, person=alice)
    assert membership.function == "Customer Success"  # from her profile
    okr = OKR.objects.get(squad=squad, cycle=cycle)
    assert okr.objective == "Customers renew because they see their value"
    kr = okr.key_results.get()
    assert (kr.key, kr.baseline, kr.target, kr.current) == ("renewal-rate", 82, 90, 82)
    assert Plan.objects.filter(squad=squad).exists()

    page = client.get(response["Location"])
    assert "Gross renewal rate" in page.content.decode()


def test_a_squad_without_a_first_key_result_is_fine(client, cycle, leo, alice):
    client.force_login(leo)
    response = client.post(url("create"), _new_squad(cycle=cycle.pk, dri=alice.pk))
    assert response.status_code == 302
    assert not KeyResult.objects.filter(okr__squad__key="renewal").exists()


def test_forming_a_squad_needs_a_dri_and_an_objective(client, cycle, leo):
    client.force_login(leo)
    response = client.post(url("create"), _new_squad(cycle=cycle.pk, objective=""))
    assert response.status_code == 200
    assert field_errors(response, "form", "dri")
    assert field_errors(response, "form", "objective")
    content = response.content.decode()
    assert 'value="Renewal Squad"' in content  # what was typed is kept
    assert 'id="id_dri_error"' in content and 'id="id_objective_error"' in content
    assert not Squad.objects.filter(key="renewal").exists()


def test_a_squad_key_is_unique(client, squad, leo, alice):
    client.force_login(leo)
    data = _new_squad(key=squad.key, cycle=squad.cycle.pk, dri=alice.pk)
    response = client.post(url("create"), data)
    assert response.status_code == 200
    assert field_errors(response, "form", "key") == ["Another squad already uses this key."]
    assert Squad.objects.filter(key=squad.key).count() == 1


def test_a_dri_without_a_function_must_be_given_one(client, cycle, leo):
    nobody = f.person("nobody", "No Function", function="")
    client.force_login(leo)
    response = client.post(url("create"), _new_squad(cycle=cycle.pk, dri=nobody.pk))
    assert response.status_code == 200
    assert "names no function" in field_errors(response, "form", "dri_function")[0]
    assert not Squad.objects.filter(key="renewal").exists()

    response = client.post(
        url("create"), _new_squad(cycle=cycle.pk, dri=nobody.pk, dri_function="Sales")
    )
    assert response.status_code == 302
    assert Membership.objects.get(squad__key="renewal").function == "Sales"


def test_a_half_written_first_key_result_is_refused(client, cycle, leo, alice):
    client.force_login(leo)
    data = _new_squad(
        cycle=cycle.pk,
        dri=alice.pk,
        **{"kr-baseline": "10", "kr-target": "5", "kr-direction": "increase"},
    )
    response = client.post(url("create"), data)
    assert response.status_code == 200
    assert field_errors(response, "kr_form", "name")
    assert field_errors(response, "kr_form", "key")
    assert field_errors(response, "kr_form", "target") == [
        "To increase, the target must be above the baseline."
    ]
    assert 'name="kr-baseline" value="10"' in response.content.decode()
    assert not Squad.objects.filter(key="renewal").exists()


def test_forming_a_squad_is_all_or_nothing(cycle, alice, leo, monkeypatch):
    def broken(**kwargs):
        raise IntegrityError("the plan could not be written")

    monkeypatch.setattr(Plan.objects, "create", broken)
    with pytest.raises(IntegrityError):
        services.squad_create(
            key="renewal", name="Renewal", cycle=cycle, dri=alice, objective="Renew", by=leo
        )
    assert not Squad.objects.filter(key="renewal").exists()
    assert not Membership.objects.filter(person=alice).exists()
    assert not OKR.objects.exists()


def test_only_leadership_forms_squads(client, cycle, alice, bob, olga):
    for person in (bob, olga):
        client.force_login(person)
        assert client.get(url("create")).status_code == 403
        response = client.post(url("create"), _new_squad(cycle=cycle.pk, dri=alice.pk))
        assert response.status_code == 403
    assert not Squad.objects.exists()


def test_forming_a_squad_needs_a_signed_in_person_and_a_form_method(client, leo):
    response = client.get(url("create"))
    assert response.status_code == 302
    client.force_login(leo)
    assert client.put(url("create")).status_code == 405


def test_new_is_not_a_squad_key(client, cycle, leo, alice):
    client.force_login(leo)
    response = client.post(url("create"), _new_squad(key="new", cycle=cycle.pk, dri=alice.pk))
    assert field_errors(response, "form", "key")
    assert not Squad.objects.exists()


# ---------------------------------------------------------------------------------------
# Members and the DRI
# ---------------------------------------------------------------------------------------


def test_the_dri_adds_a_member_in_place(client, squad, alice, carol):
    client.force_login(alice)
    response = client.post(
        url("member_add", squad.key), {"person": carol.pk, "function": "Marketing"}, headers=HX
    )
    assert response.status_code == 200
    assert is_partial(response)
    assert 'id="members"' in response.content.decode()
    assert "Carol Cruz" in response.content.decode()
    assert Membership.objects.get(squad=squad, person=carol).function == "Marketing"


def test_a_member_added_without_a_function_brings_their_profiles(client, squad, alice, carol):
    client.force_login(alice)
    response = client.post(url("member_add", squad.key), {"person": carol.pk, "function": ""})
    assert response.status_code == 302
    assert Membership.objects.get(squad=squad, person=carol).function == "Marketing"


def test_adding_someone_who_is_already_a_member_shows_an_error(client, squad, alice, bob):
    client.force_login(alice)
    response = client.post(url("member_add", squad.key), {"person": bob.pk}, headers=HX)
    assert response.status_code == 200
    assert is_partial(response)
    assert field_errors(response, "member_form", "person")
    assert Membership.objects.filter(squad=squad, person=bob).count() == 1


def test_the_dri_removes_a_member_but_never_the_dri(client, squad, alice, bob):
    client.force_login(alice)
    response = client.post(url("member_remove", squad.key, bob.username), headers=HX)
    assert response.status_code == 200
    assert is_partial(response)
    assert not Membership.objects.filter(squad=squad, person=bob).exists()
    assert '<span class="member__name">Bob Baker</span>' not in response.content.decode()

    response = client.post(url("member_remove", squad.key, alice.username), headers=HX)
    assert "hand the DRI role to another member first" in response.content.decode()
    assert Membership.objects.filter(squad=squad, person=alice).exists()

    response = client.post(url("member_remove", squad.key, alice.username))
    assert response.status_code == 302
    assert Membership.objects.filter(squad=squad, person=alice).exists()


def test_removing_someone_who_is_not_a_member_is_404(client, squad, alice, carol):
    client.force_login(alice)
    assert client.post(url("member_remove", squad.key, carol.username)).status_code == 404
    assert client.post(url("member_remove", "nope", carol.username)).status_code == 404


def test_the_dri_hands_over_to_another_member(client, squad, alice, bob):
    client.force_login(alice)
    response = client.post(url("dri_handover", squad.key), {"person": bob.pk})
    assert response.status_code == 302
    squad.refresh_from_db()
    assert squad.dri == bob
    assert Membership.objects.filter(squad=squad, person=alice).exists()
    # Alice no longer manages the squad.
    response = client.post(url("member_remove", squad.key, bob.username))
    assert response.status_code == 403


def test_the_dri_role_only_goes_to_a_member(client, squad, alice, carol):
    client.force_login(alice)
    response = client.post(url("dri_handover", squad.key), {"person": carol.pk})
    assert response.status_code == 200
    assert field_errors(response, "handover_form", "person")
    squad.refresh_from_db()
    assert squad.dri == alice


def test_leadership_manages_any_squad(client, squad, leo, carol):
    client.force_login(leo)
    response = client.post(url("member_add", squad.key), {"person": carol.pk, "function": "X"})
    assert response.status_code == 302
    assert Membership.objects.filter(squad=squad, person=carol).exists()


def test_members_and_others_cannot_manage_the_squad(client, squad, alice, bob, carol, olga):
    for person in (bob, carol, olga):
        client.force_login(person)
        assert client.post(url("member_add", squad.key), {"person": carol.pk}).status_code == 403
        assert client.post(url("member_remove", squad.key, bob.username)).status_code == 403
        assert client.post(url("dri_handover", squad.key), {"person": bob.pk}).status_code == 403
    squad.refresh_from_db()
    assert squad.dri == alice
    assert Membership.objects.filter(squad=squad).count() == 2


def test_member_changes_need_a_post(client, squad, alice, bob):
    client.force_login(alice)
    assert client.get(url("member_add", squad.key)).status_code == 405
    assert client.get(url("member_remove", squad.key, bob.username)).status_code == 405
    assert client.get(url("dri_handover", squad.key)).status_code == 405
    client.logout()
    assert client.post(url("member_add", squad.key)).status_code == 302


# ---------------------------------------------------------------------------------------
# The OKR and its key results
# ---------------------------------------------------------------------------------------


def test_the_dri_edits_the_objective_in_place(client, squad, alice):
    client.force_login(alice)
    response = client.get(url("okr_edit", squad.key), headers=HX)
    assert is_partial(response)
    assert "<textarea" in response.content.decode()

    response = client.post(
        url("okr_edit", squad.key), {"objective": "Every customer reaches value"}, headers=HX
    )
    assert response.status_code == 200
    assert is_partial(response)
    assert "Every customer reaches value" in response.content.decode()
    assert OKR.objects.get(squad=squad).objective == "Every customer reaches value"


def test_the_objective_edit_works_as_a_plain_page(client, squad, alice):
    client.force_login(alice)
    page = client.get(url("okr_edit", squad.key))
    assert page.status_code == 200
    assert not is_partial(page)
    assert "Save objective" in page.content.decode()
    response = client.post(url("okr_edit", squad.key), {"objective": "Value by day 90"})
    assert response.status_code == 302
    assert OKR.objects.get(squad=squad).objective == "Value by day 90"


def test_an_empty_objective_is_refused(client, squad, alice):
    client.force_login(alice)
    response = client.post(url("okr_edit", squad.key), {"objective": "  "}, headers=HX)
    assert response.status_code == 200
    assert field_errors(response, "objective_form", "objective")
    assert OKR.objects.get(squad=squad).objective == "Customers reach value in 90 days"


def test_only_the_dri_or_leadership_edits_the_okr(client, squad, kr, bob, carol, leo):
    for person in (bob, carol):
        client.force_login(person)
        assert client.get(url("okr_edit", squad.key)).status_code == 403
        assert client.post(url("okr_edit", squad.key), {"objective": "X"}).status_code == 403
        assert client.get(url("kr_create", squad.key)).status_code == 403
        assert client.get(url("kr_edit", squad.key, kr.key)).status_code == 403
    client.force_login(leo)
    assert client.post(url("okr_edit", squad.key), {"objective": "Led"}).status_code == 302
    assert OKR.objects.get(squad=squad).objective == "Led"
    assert client.delete(url("okr_edit", squad.key)).status_code == 405


def test_the_dri_adds_a_key_result(client, squad, alice):
    client.force_login(alice)
    data = {
        "key": "ttv",
        "name": "Median time to first value",
        "unit": "days",
        "baseline": "38",
        "target": "21",
        "direction": "decrease",
    }
    response = client.post(url("kr_create", squad.key), data, headers=HX)
    assert response.status_code == 200
    assert is_partial(response)
    assert "Median time to first value" in response.content.decode()
    kr = KeyResult.objects.get(okr__squad=squad, key="ttv")
    assert (kr.baseline, kr.target, kr.current, kr.direction) == (38, 21, 38, "decrease")


@pytest.mark.parametrize(
    ("baseline", "target", "said"),
    [("42", "", "no target"), ("", "52", "no baseline"), ("", "", "no baseline or target")],
)
def test_a_key_result_not_yet_measurable_says_what_it_lacks(
    client, squad, alice, baseline, target, said
):
    client.force_login(alice)
    data = {"key": "ttv", "name": "Time to value", "unit": "days", "direction": "decrease"}
    data.update(baseline=baseline, target=target)
    client.post(url("kr_create", squad.key), data)
    page = client.get(url("detail", squad.key)).content.decode()
    card = page[page.index('id="kr-ttv"') :]
    assert f'<span class="muted small">{said}</span>' in card[: card.index("</article>")]


def test_a_key_result_that_cannot_be_met_is_refused(client, squad, alice):
    client.force_login(alice)
    data = {"key": "activation", "name": "", "baseline": "40", "target": "30"}
    response = client.post(url("kr_create", squad.key), {**data, "direction": "increase"})
    assert response.status_code == 200
    assert field_errors(response, "new_kr_form", "key") == [
        "Another key result of this OKR uses this key."
    ]
    assert field_errors(response, "new_kr_form", "name")
    assert field_errors(response, "new_kr_form", "target") == [
        "To increase, the target must be above the baseline."
    ]
    assert KeyResult.objects.filter(okr__squad=squad).count() == 1


def test_the_dri_edits_a_key_result_but_not_its_key(client, squad, kr, alice):
    client.force_login(alice)
    response = client.get(url("kr_edit", squad.key, kr.key), headers=HX)
    assert is_partial(response)
    assert 'value="Day-90 activation rate"' in response.content.decode()

    data = {
        "key": "changed",
        "name": "Activation by day 90",
        "unit": "%",
        "baseline": "40",
        "target": "45",
        "direction": "increase",
        "version": f.shown_version(client, url("kr_edit", squad.key, kr.key), **HX),
    }
    response = client.post(url("kr_edit", squad.key, kr.key), data, headers=HX)
    assert response.status_code == 200
    assert "Activation by day 90" in response.content.decode()
    kr.refresh_from_db()
    assert (kr.key, kr.name, kr.target, kr.current) == (
        "activation",
        "Activation by day 90",
        45,
        42,
    )


def test_an_invalid_key_result_edit_keeps_the_input(client, squad, kr, alice):
    client.force_login(alice)
    data = {"name": "Activation", "baseline": "40", "target": "40", "direction": "increase"}
    response = client.post(url("kr_edit", squad.key, kr.key), data, headers=HX)
    assert is_partial(response)
    content = response.content.decode()
    assert "The target must differ from the baseline." in content
    assert 'value="Activation"' in content
    kr.refresh_from_db()
    assert kr.name == "Day-90 activation rate"


def test_a_missing_key_result_is_404(client, squad, alice):
    client.force_login(alice)
    assert client.get(url("kr_edit", squad.key, "nope")).status_code == 404
    assert client.post(url("check_in", squad.key, "nope"), {"value": 1}).status_code == 404


# ---------------------------------------------------------------------------------------
# Check-ins
# ---------------------------------------------------------------------------------------


def test_a_member_checks_in_and_the_key_result_moves(client, squad, kr, bob):
    client.force_login(bob)
    data = {"value": "43.5", "confidence": "8", "note": "Wizard shipped"}
    response = client.post(url("check_in", squad.key, kr.key), data, headers=HX)
    assert response.status_code == 200
    assert is_partial(response)
    content = response.content.decode()
    assert "43.5%" in content
    assert "Wizard shipped" in content
    assert "88%" in content  # 3.5 of the 4 points from 40 to 44
    check_in = CheckIn.objects.get(key_result=kr)
    assert (check_in.value, check_in.confidence, check_in.author) == (Decimal("43.5"), 8, bob)
    kr.refresh_from_db()
    assert kr.current == Decimal("43.5")


def test_a_plain_check_in_redirects_to_the_key_result(client, squad, kr, alice):
    client.force_login(alice)
    data = {"value": "41", "confidence": "5"}
    response = client.post(url("check_in", squad.key, kr.key), data)
    assert response.status_code == 302
    assert response["Location"] == url("detail", squad.key) + "#kr-activation"
    page = client.get(url("detail", squad.key))
    assert "5/10 confident" in page.content.decode()


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"value": "", "confidence": "5", "note": "Kept note"}, "value"),
        ({"value": "41", "confidence": "11", "note": "Kept note"}, "confidence"),
        ({"value": "41", "confidence": "", "note": "Kept note"}, "confidence"),
        ({"value": "forty", "confidence": "5", "note": "Kept note"}, "value"),
    ],
)
def test_an_invalid_check_in_shows_the_error_and_keeps_the_note(
    client, squad, kr, bob, data, field
):
    client.force_login(bob)
    response = client.post(url("check_in", squad.key, kr.key), data, headers=HX)
    assert response.status_code == 200
    assert is_partial(response)
    content = response.content.decode()
    assert f'id="checkin_{kr.pk}_{field}_error"' in content
    assert "Kept note" in content
    assert not CheckIn.objects.exists()
    kr.refresh_from_db()
    assert kr.current == 42


def test_only_members_check_in(client, squad, kr, carol, olga, leo):
    for person in (carol, olga, leo):
        client.force_login(person)
        response = client.post(url("check_in", squad.key, kr.key), {"value": 1, "confidence": 5})
        assert response.status_code == 403
    assert not CheckIn.objects.exists()


def test_check_ins_need_a_post_and_a_signed_in_person(client, squad, kr, bob):
    assert client.post(url("check_in", squad.key, kr.key)).status_code == 302
    client.force_login(bob)
    assert client.get(url("check_in", squad.key, kr.key)).status_code == 405
