"""Functions and their capacity: the page, adding a function, setting its capacity in a
cycle, and renaming it everywhere it is written."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from core.models import Capacity
from core.services import person_roles_version, person_set_roles
from dependencies.models import Dependency
from planning import functions
from planning.function_views import dom_id
from squads.models import Initiative, Membership
from tests import factories as f

pytestmark = pytest.mark.django_db

HX = {"HX-Request": "true"}


@pytest.fixture
def planned(cycle, needing, providing):
    """Product can staff 2 in FY2027; initiatives plan 1.5 and 1 on it, and a dropped one 5."""
    Capacity.objects.create(cycle=cycle, function="Product", headcount=Decimal("2"))
    f.initiative(needing, "wizard", headcount=Decimal("1.5"))
    f.initiative(providing, "assessment", headcount=Decimal("1"))
    f.initiative(providing, "old", headcount=Decimal("5"), status="dropped")
    f.initiative(needing, "content", function="Marketing", headcount=Decimal("1"))


def rows(response) -> dict[str, functions.FunctionRow]:
    return {row.name: row for row in response.context["rows"]}


# ---------------------------------------------------------------------------------------
# The page
# ---------------------------------------------------------------------------------------


def test_everyone_reads_each_functions_capacity_beside_what_is_planned(client, planned, carol):
    client.force_login(carol)
    response = client.get(reverse("functions"))
    assert response.status_code == 200
    found = rows(response)
    product = found["Product"]
    assert (product.capacity, product.planned, product.initiatives) == (
        Decimal(2),
        Decimal("2.5"),
        2,
    )
    assert product.over == Decimal("0.5")
    assert product.people == 3  # Bob, Dora and Pete, by their profiles
    assert found["Marketing"].capacity is None and found["Marketing"].planned == 1
    page = response.content.decode()
    assert "0.5 over" in page
    assert "more planned than it can staff in FY2027: Product" in page
    # A reader sees the numbers, not the forms.
    assert reverse("capacity_set") not in page and "Add a function" not in page


def test_a_functions_initiatives_lead_to_them_on_the_timeline(client, planned, carol):
    """Over capacity, the count of a function's initiatives leads to them, each linked to
    its plan, where the headcount is changed."""
    client.force_login(carol)
    page = client.get(reverse("functions")).content.decode()
    assert (
        '<a href="/timeline/?function=Product">2<span class="visually-hidden"> initiatives '
        "of Product, on the timeline</span></a>"
    ) in page
    timeline = client.get("/timeline/?function=Product").content.decode()
    assert "/squads/first-90-days/plan/#initiative-wizard" in timeline
    assert "/squads/product-led/plan/#initiative-assessment" in timeline
    assert "#initiative-content" not in timeline  # Marketing's


def test_the_page_counts_active_people_by_their_profile(client, planned, carol, bob):
    bob.is_active = False
    bob.save()
    client.force_login(carol)
    assert rows(client.get(reverse("functions")))["Product"].people == 2


def test_the_page_follows_the_cycle_on_screen(client, planned, carol):
    other = f.cycle("fy2028")
    client.force_login(carol)
    client.post(reverse("cycle_select"), {"cycle": other.key})
    response = client.get(reverse("functions"))
    assert response.context["cycle"] == other
    product = rows(response)["Product"]
    assert product.capacity is None and product.planned == 0


@pytest.mark.parametrize("extra", [2, 40])
def test_the_page_reads_a_bounded_number_of_queries(
    client, planned, needing, leo, extra, django_assert_max_num_queries
):
    for i in range(extra):
        f.initiative(needing, f"more-{i}", function=f"Function {i}")
    client.force_login(leo)
    client.get(reverse("functions"))
    with django_assert_max_num_queries(8):
        assert client.get(reverse("functions")).status_code == 200


def test_leadership_sees_the_forms(client, planned, leo):
    client.force_login(leo)
    page = client.get(reverse("functions")).content.decode()
    assert reverse("capacity_set") in page
    assert "Rename Product" in page
    assert "Add a function" in page


def test_the_functions_page_needs_a_sign_in_and_refuses_a_post(client, carol):
    assert client.get(reverse("functions"))["Location"].startswith("/accounts/login/")
    client.force_login(carol)
    assert client.post(reverse("functions")).status_code == 405


# ---------------------------------------------------------------------------------------
# Capacity
# ---------------------------------------------------------------------------------------


def capacity(client, function: str, headcount: str, was: str, **headers):
    return client.post(
        reverse("capacity_set"),
        {"function": function, "headcount": headcount, "was": was},
        headers=headers,
    )


def test_leadership_sets_a_functions_capacity(client, planned, leo, cycle):
    client.force_login(leo)
    response = capacity(client, "Product", "3.5", "2")
    assert response.status_code == 302
    assert response["Location"].endswith("#" + dom_id("Product"))
    assert Capacity.objects.get(cycle=cycle, function="Product").headcount == Decimal("3.5")
    # A function without capacity gets one; an empty one takes it away.
    assert capacity(client, "Marketing", "1", "").status_code == 302
    assert Capacity.objects.get(cycle=cycle, function="Marketing").headcount == 1
    assert capacity(client, "Marketing", "", "1").status_code == 302
    assert not Capacity.objects.filter(function="Marketing").exists()


def test_over_htmx_the_row_is_redrawn(client, planned, leo):
    client.force_login(leo)
    response = capacity(client, "Product", "2.5", "2", **HX)
    assert response.status_code == 200
    page = response.content.decode()
    assert "<html" not in page
    assert f'id="{dom_id("Product")}"' in page
    assert "0.5 over" not in page and "100%" in page


def test_a_capacity_someone_changed_meanwhile_is_not_overwritten_unseen(
    client, planned, leo, cycle
):
    client.force_login(leo)
    Capacity.objects.filter(function="Product").update(headcount=Decimal("6"))
    response = capacity(client, "Product", "3", "2")
    assert response.status_code == 400
    assert "it is 6 full-time people now" in response.content.decode()
    assert Capacity.objects.get(function="Product").headcount == 6
    # The form now names what is there, with the person's number still typed.
    form = next(r for r in response.context["rows"] if r.name == "Product").capacity_form
    assert form.data["headcount"] == "3" and form.data["was"] == "6"
    assert client.post(reverse("capacity_set"), form.data).status_code == 302
    assert Capacity.objects.get(function="Product").headcount == 3


@pytest.mark.parametrize("bad", ["-1", "many", "1000000"])
def test_a_capacity_that_is_not_a_headcount_is_refused(client, planned, leo, bad):
    client.force_login(leo)
    response = capacity(client, "Product", bad, "2")
    assert response.status_code == 400
    assert Capacity.objects.get(function="Product").headcount == 2


def test_a_function_renamed_meanwhile_is_said(client, planned, leo):
    client.force_login(leo)
    response = capacity(client, "Sales", "2", "")
    assert response.status_code == 400
    assert "No function is called Sales any more" in response.content.decode()
    assert not Capacity.objects.filter(function="Sales").exists()


@pytest.mark.parametrize("who", ["alice", "olga", "carol"])
def test_others_cannot_set_capacity_add_or_rename(client, request, planned, who):
    client.force_login(request.getfixturevalue(who))
    assert capacity(client, "Product", "9", "2").status_code == 403
    assert (
        client.post(reverse("function_add"), {"name": "Data", "headcount": "1"}).status_code == 403
    )
    assert (
        client.post(
            reverse("function_rename"), {"function": "Product", "name": "Engineering"}
        ).status_code
        == 403
    )
    assert Capacity.objects.get(function="Product").headcount == 2
    assert not Capacity.objects.filter(function="Data").exists()
    assert Initiative.objects.filter(function="Product").count() == 3


def test_the_writes_need_post_and_the_csrf_token(planned, leo):
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(leo)
    for name in ("capacity_set", "function_add", "function_rename"):
        assert strict.get(reverse(name)).status_code == 405
    assert capacity(strict, "Product", "9", "2").status_code == 403
    assert Capacity.objects.get(function="Product").headcount == 2


def test_without_a_cycle_there_is_no_capacity_to_set(client, leo):
    client.force_login(leo)
    assert "no planning cycle yet" in client.get(reverse("functions")).content.decode()
    response = client.post(reverse("function_add"), {"name": "Data", "headcount": "1"})
    assert response.status_code == 403
    assert not Capacity.objects.exists()


# ---------------------------------------------------------------------------------------
# Adding
# ---------------------------------------------------------------------------------------


def test_leadership_adds_a_function_with_its_capacity(client, planned, leo, cycle):
    client.force_login(leo)
    response = client.post(
        reverse("function_add"), {"name": "  Data   Science ", "headcount": "2.5"}, follow=True
    )
    assert "Data Science is added, with 2.5 full-time people in FY2027" in (
        response.content.decode()
    )
    assert Capacity.objects.get(function="Data Science", cycle=cycle).headcount == Decimal("2.5")
    assert "Data Science" in functions.function_names()


@pytest.mark.parametrize("name", ["Product", "PRODUCT", " product ", "Marketing"])
def test_a_function_that_exists_is_not_added_again(client, planned, leo, name):
    client.force_login(leo)
    response = client.post(reverse("function_add"), {"name": name, "headcount": "1"})
    assert response.status_code == 400
    assert "is a function already" in response.content.decode()
    assert Capacity.objects.count() == 1


def test_adding_needs_a_name_and_a_headcount(client, planned, leo):
    client.force_login(leo)
    response = client.post(reverse("function_add"), {"name": "", "headcount": ""})
    assert response.status_code == 400
    assert Capacity.objects.count() == 1


# ---------------------------------------------------------------------------------------
# Renaming
# ---------------------------------------------------------------------------------------


def test_renaming_changes_the_name_everywhere_it_is_written(
    client, planned, leo, bob, needing, providing, cycle
):
    dependency = Dependency.objects.create(
        key="research",
        from_squad=needing,
        to_function="Product",
        what="User research",
        due=cycle.ends,
    )
    wizard = Initiative.objects.get(key="wizard")
    client.force_login(leo)
    response = client.post(
        reverse("function_rename"),
        {"function": "Product", "name": "Product Engineering"},
        follow=True,
    )
    page = response.content.decode()
    assert "Product is called Product Engineering now" in page
    assert "Product" not in functions.function_names()
    bob.refresh_from_db()
    assert bob.profile.function == "Product Engineering"
    assert not Membership.objects.filter(function="Product").exists()
    assert Capacity.objects.get(cycle=cycle).function == "Product Engineering"
    assert Initiative.objects.filter(function="Product Engineering").count() == 3
    dependency.refresh_from_db()
    assert dependency.to_function == "Product Engineering"
    # The capacity still meets the same plans, under the new name.
    row = rows(client.get(reverse("functions")))["Product Engineering"]
    assert (row.capacity, row.planned) == (Decimal(2), Decimal("2.5"))
    # An editor opened before the rename meets the conflict view, not a silent write-back.
    renamed = Initiative.objects.get(pk=wizard.pk)
    assert renamed.version == wizard.version + 1
    entry = renamed.history.order_by("-history_date", "-history_id").first()
    assert entry.function == "Product Engineering" and entry.history_user == leo
    assert entry.history_change_reason == "Function Product renamed Product Engineering"
    assert dependency.history.order_by("-history_id").first().to_function == ("Product Engineering")


def test_the_people_who_answer_for_a_function_still_do_after_a_rename(
    planned, leo, needing, pete, cycle
):
    from core.access import Actor

    dependency = Dependency.objects.create(
        key="research", from_squad=needing, to_function="Product", what="Research", due=cycle.ends
    )
    functions.function_rename(old="Product", new="Product Engineering", by=leo)
    dependency.refresh_from_db()
    actor = Actor(user=type(pete).objects.select_related("profile").get(pk=pete.pk))
    assert dependency.is_provider_side(squad_ids=set(), functions=actor.functions)


def test_a_rename_onto_another_function_is_refused(client, planned, leo):
    client.force_login(leo)
    response = client.post(reverse("function_rename"), {"function": "Marketing", "name": "product"})
    assert response.status_code == 400
    assert "Product is another function" in response.content.decode()
    assert Initiative.objects.filter(function="Marketing").count() == 1


def test_another_spelling_of_the_same_function_joins_it(planned, leo, needing):
    f.initiative(needing, "lower", function="product")
    functions.function_rename(old="product", new="Product", by=leo)
    assert "product" not in functions.function_names()
    assert Initiative.objects.filter(function="Product").count() == 4


def test_two_spellings_with_a_capacity_in_the_same_cycle_are_not_joined(planned, leo, cycle):
    Capacity.objects.create(cycle=cycle, function="product", headcount=1)
    with pytest.raises(ValidationError) as refused:
        functions.function_rename(old="product", new="Product", by=leo)
    assert "both have a capacity in FY2027" in str(refused.value)
    assert Capacity.objects.filter(function="product").exists()


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("Product", "Product", "That is its name already"),
        ("Product", "   ", "Name the function"),
        ("Product", "x" * 101, "at most 100 characters"),
        ("Gone", "Sales", "No function is called Gone any more"),
    ],
)
def test_a_rename_that_cannot_be_is_refused(planned, leo, old, new, message):
    with pytest.raises(ValidationError) as refused:
        functions.function_rename(old=old, new=new, by=leo)
    assert message in str(refused.value)
    assert Initiative.objects.filter(function="Product").count() == 3


def test_a_person_given_a_renamed_function_gets_it_as_written(planned, leo, carol):
    functions.function_rename(old="Product", new="Product Engineering", by=leo)
    person_set_roles(
        person=carol,
        function="product engineering",
        groups=[],
        version=person_roles_version(carol),
        by=leo,
    )
    carol.refresh_from_db()
    assert carol.profile.function == "Product Engineering"
