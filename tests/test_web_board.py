"""The dependency board: reading and filtering it, the provider's answers, recording and
editing a dependency from the needing side."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from core.models import Cycle, Profile
from dependencies import services
from dependencies.models import Dependency
from planning.models import Notification, NotificationPreference
from tests import factories as f

pytestmark = pytest.mark.django_db

HX = {"HX-Request": "true"}
TODAY = timezone.localdate()


# ---------------------------------------------------------------------------------------
# More dependencies (the people, squads and `dep` are in conftest.py)
# ---------------------------------------------------------------------------------------


@pytest.fixture
def late(needing, providing):
    return Dependency.objects.create(
        key="late-one",
        from_squad=needing,
        to_squad=providing,
        what="Pricing page copy",
        due=TODAY - dt.timedelta(days=5),
        status="accepted",
    )


@pytest.fixture
def hiring(needing):
    return Dependency.objects.create(
        key="csm-hiring",
        from_squad=needing,
        to_function="People",
        what="15 customer success managers hired",
        due=TODAY + dt.timedelta(days=90),
        blocking=True,
    )


def board(**params) -> str:
    url = reverse("board:board")
    return url + ("?" + "&".join(f"{k}={v}" for k, v in params.items()) if params else "")


def is_partial(response) -> bool:
    content = response.content.decode()
    return "<html" not in content and 'class="topbar"' not in content


def rows(response) -> list[str]:
    return re.findall(r'<tr id="dep-([^"]+)"', response.content.decode())


# ---------------------------------------------------------------------------------------
# The board
# ---------------------------------------------------------------------------------------


def test_the_board_shows_who_needs_what_from_whom_by_when(client, dep, carol):
    client.force_login(carol)
    response = client.get(board())
    assert response.status_code == 200
    content = response.content.decode()
    assert "Feature messaging for the wizard" in content
    assert "First 90 Days" in content  # who needs it
    assert "In-app onboarding wizard" in content  # which of its initiatives
    assert "Product-led Growth" in content  # from whom
    assert dep.due.strftime("%-d %b %Y") in content
    assert "Blocking" in content
    assert "Requested" in content
    assert "Dora Diaz" in content  # the owner
    # The stage is the needing initiative's, linked to the journey map.
    assert "Onboarding" in content
    assert (
        reverse("journeys:detail", args=["lifecycle"]) + f"#stage-{dep.from_initiative.stage_id}"
        in content
    )


def test_the_stage_falls_back_to_the_provider_initiative(client, needing, assessment, carol):
    stage = f.stage("lifecycle", "adoption", name="Adoption")
    assessment.stage = stage
    assessment.save()
    Dependency.objects.create(
        key="x", from_squad=needing, to_initiative=assessment, what="Tool", due=TODAY
    )
    client.force_login(carol)
    content = client.get(board()).content.decode()
    assert "Adoption" in content
    assert "Assessment tool" in content


def test_overdue_and_at_risk_rows_stand_out(client, dep, late, carol):
    dep.status = "at_risk"
    dep.save()
    client.force_login(carol)
    content = client.get(board()).content.decode()
    assert re.search(r'<tr id="dep-late-one" class="[^"]*is-overdue', content)
    assert "5 days late" in content
    assert re.search(r'<tr id="dep-messaging" class="[^"]*is-at-risk', content)
    assert "1 overdue" in content and "1 at risk" in content


def test_the_board_needs_a_signed_in_person(client, dep):
    response = client.get(board())
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_the_board_refuses_posts(client, dep, carol):
    client.force_login(carol)
    assert client.post(board()).status_code == 405


def test_the_board_shows_only_the_current_cycles_dependencies(client, dep, carol, dora):
    later = Cycle.objects.create(
        key="fy2028", name="FY2028", starts=dt.date(2028, 1, 1), ends=dt.date(2028, 12, 31)
    )
    other = f.squad("next-year", dri=carol, cycle=later)
    Dependency.objects.create(
        key="next", from_squad=other, to_function="Legal", what="Contract review", due=TODAY
    )
    client.force_login(carol)
    assert rows(client.get(board())) == ["messaging"]
    # Asked for by its key (as the findings link to it), it shows whatever the cycle.
    assert rows(client.get(board(dep="next"))) == ["next"]
    client.post(reverse("cycle_select"), {"cycle": "fy2028", "next": board()})
    assert rows(client.get(board())) == ["next"]


def test_filters_narrow_the_board_and_stay_in_the_url(
    client, dep, late, hiring, providing, carol, stage
):
    client.force_login(carol)
    assert sorted(rows(client.get(board()))) == ["csm-hiring", "late-one", "messaging"]
    assert sorted(rows(client.get(board(to="product-led")))) == ["late-one", "messaging"]
    assert rows(client.get(board(to="function:People"))) == ["csm-hiring"]
    assert rows(client.get(board(status="accepted"))) == ["late-one"]
    assert sorted(rows(client.get(board(status="open")))) == [
        "csm-hiring",
        "late-one",
        "messaging",
    ]
    assert rows(client.get(board(stage="lifecycle/onboarding"))) == ["messaging"]
    assert rows(client.get(board(overdue="on"))) == ["late-one"]
    assert sorted(rows(client.get(board(blocking="on")))) == ["csm-hiring", "messaging"]
    assert rows(client.get(board(within="31"))) == ["messaging"]
    assert rows(client.get(board(dep="csm-hiring"))) == ["csm-hiring"]
    assert rows(client.get(board(**{"from": "product-led"}))) == []
    assert len(rows(client.get(board(**{"from": "first-90-days"})))) == 3
    # The chosen filters are kept in the form.
    content = client.get(board(to="product-led", blocking="on")).content.decode()
    assert '<option value="product-led" selected>' in content
    assert re.search(r'name="blocking"[^>]*checked', content)


def test_a_filter_that_makes_no_sense_says_so_and_is_left_out(client, dep, carol):
    client.force_login(carol)
    response = client.get(board(**{"from": "nope"}, within="-3"))
    assert response.status_code == 200
    assert rows(response) == ["messaging"]
    assert "Select a valid choice" in response.content.decode()
    assert "greater than or equal to 1" in response.content.decode()


def test_grouped_by_provider_with_counts_from_the_database(client, dep, late, hiring, carol):
    client.force_login(carol)
    content = client.get(board()).content.decode()
    groups = re.findall(r'<tr class="group-row">.*?</tr>', content, re.S)
    assert len(groups) == 2
    assert "People" in groups[0] and "1 dependency" in groups[0]
    assert "Product-led Growth" in groups[1] and "2 dependencies" in groups[1]
    assert "1 overdue" in groups[1]


def test_grouped_by_due_month(client, dep, late, hiring, carol):
    client.force_login(carol)
    content = client.get(board(group="month")).content.decode()
    groups = re.findall(r'<tr class="group-row">.*?</tr>', content, re.S)
    months = [
        d.strftime("%B %Y")
        for d in sorted({x.replace(day=1) for x in (dep.due, late.due, hiring.due)})
    ]
    assert len(groups) == len(months)
    for group, month in zip(groups, months, strict=True):
        assert month in group


def test_the_board_pages_fifty_rows_at_a_time(client, needing, providing, carol):
    Dependency.objects.bulk_create(
        Dependency(
            key=f"d{n:03}",
            from_squad=needing,
            to_squad=providing,
            what=f"Thing {n}",
            due=TODAY + dt.timedelta(days=n),
        )
        for n in range(60)
    )
    client.force_login(carol)
    first = client.get(board())
    assert len(rows(first)) == 50
    assert "Page 1 of 2" in first.content.decode()
    # The table's caption says which rows it holds, for those who hear the page.
    assert '<caption class="visually-hidden">Dependencies 1 to 50 of 60</caption>' in (
        first.content.decode()
    )
    second = client.get(board(page=2))
    assert len(rows(second)) == 10
    assert "Dependencies 51 to 60 of 60</caption>" in second.content.decode()
    # The group runs on from the page before and still counts all of its rows.
    assert "(continued)" in second.content.decode()
    assert "60 dependencies" in second.content.decode()


def _many(cycle, count: int) -> None:
    stage = f.stage("lifecycle", "adoption")
    squads = []
    for n in range(count):
        dri = f.person(f"dri{n}")
        squads.append(f.squad(f"squad-{n}", dri=dri, cycle=cycle))
    for n, squad in enumerate(squads):
        initiative = f.initiative(squad, "work", stage=stage)
        Dependency.objects.create(
            key=f"dep-{n}",
            from_initiative=initiative,
            to_squad=squads[(n + 1) % count],
            what=f"Thing {n}",
            due=TODAY + dt.timedelta(days=n - 3),
            owner=squad.dri,
            blocking=n % 2 == 0,
        )
        Dependency.objects.create(
            key=f"fn-{n}", from_squad=squad, to_function=f"Function {n % 3}", what="x", due=TODAY
        )


@pytest.mark.parametrize("count", [2, 20])
def test_the_board_costs_the_same_queries_for_2_or_20_squads(
    client, cycle, olga, count, django_assert_max_num_queries
):
    _many(cycle, count)
    client.force_login(olga)
    # 15: the board's parts, plus the revisions its cached rendering is keyed on.
    with django_assert_max_num_queries(15):
        response = client.get(board())
    assert len(rows(response)) == 2 * count
    with django_assert_max_num_queries(15):
        response = client.get(board(group="month"))
    assert len(rows(response)) == 2 * count
    # Asked again with nothing changed: the rendering comes from the cache (what is left:
    # the session, the person, their groups and cycle, the revisions, the menu's counts).
    with django_assert_max_num_queries(8):
        again = client.get(board(group="month"))
    assert rows(again) == rows(response)


# ---------------------------------------------------------------------------------------
# The provider's answer
# ---------------------------------------------------------------------------------------


def respond(dep: Dependency) -> str:
    return reverse("board:respond", args=[dep.key])


def test_the_provider_accepts_in_place_and_only_that_row_comes_back(client, dep, dora):
    client.force_login(dora)
    content = client.get(board()).content.decode()
    assert 'value="accept"' in content
    response = client.post(
        respond(dep), {"action": "accept", "was": "requested", "next": board()}, headers=HX
    )
    assert response.status_code == 200
    assert is_partial(response)
    assert rows(response) == ["messaging"]
    assert "Accepted" in response.content.decode()
    dep.refresh_from_db()
    assert dep.status == "accepted"


def test_a_plain_post_redirects_back_to_the_same_filtered_board(client, dep, dora):
    dep.status = "accepted"  # at risk follows a promise, not a request
    dep.save()
    client.force_login(dora)
    back = board(status="open", to="product-led")
    response = client.post(
        respond(dep),
        {"action": "at_risk", "reason": "Copy review slipped", "was": "accepted", "next": back},
    )
    assert response.status_code == 302
    assert response["Location"] == back + "#dep-messaging"
    dep.refresh_from_db()
    assert dep.status == "at_risk"


def test_an_unsafe_next_goes_to_the_board_instead(client, dep, dora):
    client.force_login(dora)
    response = client.post(respond(dep), {"action": "accept", "next": "https://evil.example.com/"})
    assert response["Location"].startswith(reverse("board:board") + "?dep=messaging")
    assert Dependency.objects.get(pk=dep.pk).status == "accepted"


def test_declining_needs_a_reason_and_keeps_the_row(client, dep, dora):
    client.force_login(dora)
    response = client.post(respond(dep), {"action": "decline", "reason": "  "}, headers=HX)
    assert response.status_code == 200
    assert is_partial(response)
    content = response.content.decode()
    assert "Say why you decline" in content
    assert 'name="reason"' in content
    dep.refresh_from_db()
    assert dep.status == "requested"
    assert dep.note == "Campaign cannot launch without it."


def test_declining_without_script_shows_the_form_again_with_the_error(client, dep, dora):
    client.force_login(dora)
    response = client.post(respond(dep), {"action": "decline", "reason": "", "next": board()})
    assert response.status_code == 200
    content = response.content.decode()
    assert "Decline a dependency" in content
    assert "Say why you decline" in content
    assert Dependency.objects.get(pk=dep.pk).status == "requested"


def test_a_decline_records_who_when_and_why_in_the_note(client, dep, dora):
    client.force_login(dora)
    response = client.post(
        respond(dep),
        {"action": "decline", "reason": "No capacity before Q2", "was": "requested"},
        headers=HX,
    )
    assert response.status_code == 200
    dep.refresh_from_db()
    assert dep.status == "declined"
    assert dep.note.startswith("Campaign cannot launch without it.\n\n")
    assert f"Declined by Dora Diaz on {TODAY:%d %b %Y}: No capacity before Q2" in dep.note
    assert "No capacity before Q2" in response.content.decode()


def test_a_long_decline_reason_is_kept_whole_in_the_note(client, dep, dora):
    reason = "We cannot staff this before the second quarter, " * 15
    client.force_login(dora)
    response = client.post(
        respond(dep), {"action": "decline", "reason": reason, "was": "requested"}, headers=HX
    )
    assert response.status_code == 200
    dep.refresh_from_db()
    assert dep.status == "declined"
    assert reason.strip() in dep.note


def test_a_decline_tells_the_needing_squad_in_the_app_and_by_email(
    client, dep, alice, bob, dora, pete, mailoutbox, django_capture_on_commit_callbacks
):
    client.force_login(dora)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            respond(dep),
            {"action": "decline", "reason": "No writer this quarter", "was": "requested"},
            headers=HX,
        )

    told = {n.recipient.username: n for n in Notification.objects.filter(kind="dependency")}
    assert set(told) == {"alice", "bob"}  # the needing squad's DRI and member, not Dora
    message = told["bob"].message
    assert message.startswith("Dora Diaz declined “Feature messaging for the wizard”")
    assert "(messaging)" in message and "First 90 Days" in message
    assert message.endswith(": “No writer this quarter”")
    assert told["bob"].url == board(dep="messaging")
    # Immediate email for those who want serious news at once (the default).
    assert sorted(m.to[0] for m in mailoutbox) == ["alice@example.com", "bob@example.com"]
    email = next(m for m in mailoutbox if m.to == ["bob@example.com"])
    assert email.subject == "Dora Diaz declined “Feature messaging for the wizard”"
    assert message in email.body and "/board/?dep=messaging" in email.body

    # Bob's notifications lead to the dependency on the board.
    client.force_login(bob)
    page = client.get(reverse("notifications")).content.decode()
    assert "No writer this quarter" in page
    assert f'href="{board(dep="messaging")}">Open the dependency on the board' in page


def test_at_risk_tells_the_needing_squad_but_accepting_or_done_does_not(
    client, dep, alice, bob, dora, mailoutbox, django_capture_on_commit_callbacks
):
    NotificationPreference.objects.create(user=bob, immediate_high=False)
    client.force_login(dora)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(respond(dep), {"action": "accept", "was": "requested"})
    assert not Notification.objects.exists() and not mailoutbox

    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            respond(dep), {"action": "at_risk", "reason": "Legal review <late>", "was": "accepted"}
        )
    notes = Notification.objects.filter(kind="dependency", dependency=dep)
    assert {n.recipient.username for n in notes} == {"alice", "bob"}
    assert all(
        n.message.startswith("Dora Diaz marked “Feature messaging for the wizard” (messaging) at")
        and n.message.endswith(": “Legal review <late>”")
        for n in notes
    )
    # Bob chose no immediate email: only Alice gets one.
    assert [m.to for m in mailoutbox] == [["alice@example.com"]]
    assert mailoutbox[0].subject == "“Feature messaging for the wizard” is at risk"

    with django_capture_on_commit_callbacks(execute=True):
        client.post(respond(dep), {"action": "done", "was": "at_risk"})
    assert notes.count() == 2


def test_whoever_answers_is_not_told_of_their_own_answer(client, dep, needing, alice, bob, olga):
    f.member(needing, olga, function="Operations")
    client.force_login(olga)  # operations answers any dependency
    client.post(respond(dep), {"action": "decline", "reason": "Out of scope", "was": "requested"})
    told = Notification.objects.filter(kind="dependency").values_list(
        "recipient__username", flat=True
    )
    assert sorted(told) == ["alice", "bob"]


def test_the_decline_form_opens_in_the_row_or_as_a_page(client, dep, dora, carol):
    url = reverse("board:decline", args=[dep.key])
    client.force_login(dora)
    row = client.get(url, headers=HX)
    assert is_partial(row) and 'name="reason"' in row.content.decode()
    page = client.get(url)
    assert "<html" in page.content.decode() and 'name="reason"' in page.content.decode()
    client.force_login(carol)
    assert client.get(url).status_code == 403


def test_an_answer_given_meanwhile_is_not_overwritten(client, dep, dora, olga):
    services.dependency_respond(dependency=dep, by=olga, action="accept")
    client.force_login(dora)
    response = client.post(
        respond(dep),
        {"action": "at_risk", "reason": "Design slipped", "was": "requested"},
        headers=HX,
    )
    assert "answered this dependency meanwhile" in response.content.decode()
    dep.refresh_from_db()
    assert dep.status == "accepted"


def test_who_may_answer(client, dep, alice, bob, carol, dora, olga, leo):
    # The needing side and outsiders read, but do not answer: 403 and nothing written.
    for person in (alice, bob, carol, leo):
        client.force_login(person)
        assert client.post(respond(dep), {"action": "accept"}).status_code == 403
        assert 'value="accept"' not in client.get(board()).content.decode()
    assert Dependency.objects.get(pk=dep.pk).status == "requested"
    # Operations may, and so may the providing squad's members.
    client.force_login(olga)
    assert client.post(respond(dep), {"action": "accept"}).status_code == 302
    client.force_login(dora)
    assert client.post(respond(dep), {"action": "done"}).status_code == 302
    assert Dependency.objects.get(pk=dep.pk).status == "done"


def test_an_owner_off_the_provider_side_does_not_answer(client, dep, bob, dora):
    # Rows written before the owner had to be on the provider side (or an owner who has
    # since left the providing squad): being named is not enough to answer.
    dep.owner = bob  # a member of the needing squad
    dep.save()
    client.force_login(bob)
    assert client.post(respond(dep), {"action": "accept"}).status_code == 403
    assert 'value="accept"' not in client.get(board()).content.decode()
    assert Dependency.objects.get(pk=dep.pk).status == "requested"


def test_a_function_answers_through_its_owner_of_that_function(client, needing, alice, bob):
    legal = f.person("lena", "Lena Legal", function="Legal")
    other_lawyer = f.person("larry", "Larry Legal", function="Legal")
    contract = Dependency.objects.create(
        key="contract",
        from_squad=needing,
        to_function="legal",  # compared without regard to case
        what="A reviewed contract",
        due=TODAY + dt.timedelta(days=30),
        owner=legal,
    )
    client.force_login(other_lawyer)  # of the function, but not the one who answers for it
    assert client.post(respond(contract), {"action": "accept"}).status_code == 403
    client.force_login(legal)
    assert 'value="accept"' in client.get(board()).content.decode()
    assert client.post(respond(contract), {"action": "accept"}).status_code == 302
    assert Dependency.objects.get(pk=contract.pk).status == "accepted"
    # Once they are no longer of that function, they no longer answer.
    legal.profile.function = "Finance"
    legal.profile.save()
    client.force_login(legal)
    assert 'name="action" value="done"' not in client.get(board()).content.decode()
    assert client.post(respond(contract), {"action": "done"}).status_code == 403
    assert Dependency.objects.get(pk=contract.pk).status == "accepted"


def test_answering_a_missing_dependency_is_404(client, dep, dora):
    client.force_login(dora)
    assert (
        client.post(reverse("board:respond", args=["nope"]), {"action": "accept"}).status_code
        == 404
    )


def test_answering_needs_a_post_and_a_signed_in_person(client, dep, dora):
    assert client.post(respond(dep), {"action": "accept"}).status_code == 302
    client.force_login(dora)
    assert client.get(respond(dep)).status_code == 405


def test_the_row_partial_is_for_htmx_and_redirects_otherwise(client, dep, carol):
    client.force_login(carol)
    url = reverse("board:row", args=[dep.key])
    assert is_partial(client.get(url, headers=HX))
    assert client.get(url).status_code == 302


def _row_markup(content: str, key: str) -> str:
    found = re.search(rf'<tr id="dep-{re.escape(key)}".*?</tr>', content, re.S)
    assert found, key
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "csrf", found.group(0))


@pytest.mark.parametrize("who", ["dora", "alice", "olga", "carol"])
def test_a_board_row_is_drawn_as_the_row_redrawn_alone(
    client, who, request, dep, late, hiring, needing, assessment
):
    """The board writes its rows in Python (dependencies/templatetags/board_rows.py); the
    row partial redraws one alone after an answer: both draw the same markup."""
    tricky = Dependency.objects.create(
        key="tricky",
        from_squad=needing,
        to_initiative=assessment,
        what='<script>alert("x")</script> & "quotes"',
        due=TODAY - dt.timedelta(days=1),
        status="at_risk",
        status_reason='Vendor <i>late</i> & "slow"',
        note="Line one <b>\nline & two",
        owner=request.getfixturevalue("dora"),
    )
    client.force_login(request.getfixturevalue(who))
    path = board(group="due", q="a%3Cb%22")
    content = client.get(path).content.decode()
    for key in (dep.key, late.key, hiring.key, tricky.key):
        alone = client.get(
            reverse("board:row", args=[key]), {"next": path}, headers=HX
        ).content.decode()
        assert _row_markup(content, key) == _row_markup(alone, key)
    assert "<script>alert" not in content


def _group_heading(content: str, mention: str) -> str:
    rows = re.findall(r'<tr class="group-row">.*?</tr>', content, re.S)
    return next(row for row in rows if mention in row)


def test_a_group_heading_escapes_its_provider_and_links_to_it_alone(
    client, cycle, needing, carol, hiring
):
    odd = f.squad("odd-ones", dri=carol, cycle=cycle, name='<b>Ops & "co"</b>')
    Dependency.objects.create(
        key="odd-need", from_squad=needing, to_squad=odd, what="Something", due=TODAY
    )
    client.force_login(carol)
    content = client.get(board(status="all", page="1")).content.decode()
    heading = _group_heading(content, "odd-ones")
    assert "&lt;b&gt;Ops &amp; &quot;co&quot;&lt;/b&gt;" in heading
    assert "<b>Ops" not in content
    assert 'href="?status=all&amp;to=odd-ones">Only this provider</a>' in heading
    assert "1 dependency</span>" in heading
    function = _group_heading(content, "People")
    assert '<span class="badge badge--info">Function</span>' in function


# ---------------------------------------------------------------------------------------
# Recording a dependency
# ---------------------------------------------------------------------------------------


def create_url(**params) -> str:
    url = reverse("board:create")
    return url + ("?" + "&".join(f"{k}={v}" for k, v in params.items()) if params else "")


def form_data(**values) -> dict:
    data = {
        "from_ref": "first-90-days",
        "to_squad": "product-led",
        "to_initiative": "",
        "to_function": "",
        "what": "Feature messaging by mid-Q1",
        "due": "2027-02-15",
        "blocking": "on",
        "owner": "",
        "note": "",
        "key": "",
    }
    data.update(values)
    return data


def test_a_member_records_a_dependency_preselected_from_their_squad(
    client, needing, providing, wizard, bob
):
    client.force_login(bob)
    page = client.get(create_url(**{"from": "first-90-days"}))
    assert page.status_code == 200
    content = page.content.decode()
    assert '<option value="first-90-days" selected>' in content
    assert "In-app onboarding wizard" in content

    plan = reverse("squads:plan", args=["first-90-days"])
    response = client.post(create_url(), form_data(next=plan))
    assert response.status_code == 302
    assert response["Location"] == plan
    dep = Dependency.objects.get()
    assert dep.key == "feature-messaging-by-mid-q1"
    assert dep.from_squad == needing and dep.to_squad == providing
    assert dep.blocking and dep.status == "requested"

    # The same words again: the key is numbered, not refused.
    client.post(create_url(), form_data())
    assert Dependency.objects.filter(key="feature-messaging-by-mid-q1-2").exists()


def test_an_initiative_can_need_from_an_initiative_or_a_function(
    client, needing, providing, wizard, assessment, bob, dora
):
    client.force_login(bob)
    client.post(
        create_url(),
        form_data(
            from_ref="first-90-days/wizard",
            to_squad="",
            to_initiative="product-led/assessment",
            owner=str(dora.pk),
            key="tool",
        ),
    )
    dep = Dependency.objects.get(key="tool")
    assert dep.from_initiative == wizard and dep.to_initiative == assessment
    assert dep.owner == dora
    client.post(create_url(), form_data(to_squad="", to_function="People", key="hiring"))
    assert Dependency.objects.get(key="hiring").to_function == "People"


@pytest.mark.parametrize(
    "provider",
    [
        {"to_squad": ""},
        {"to_function": "People"},
        {"to_initiative": "product-led/assessment", "to_function": "People"},
    ],
)
def test_exactly_one_provider_or_a_clear_error(
    client, needing, providing, assessment, bob, provider
):
    client.force_login(bob)
    response = client.post(create_url(), form_data(**provider, what="Keep what I typed"))
    assert response.status_code == 200
    content = response.content.decode()
    assert "Choose exactly one provider" in content
    assert "Keep what I typed" in content
    assert not Dependency.objects.exists()


def test_missing_what_and_due_are_shown_beside_their_fields(client, needing, providing, bob):
    client.force_login(bob)
    response = client.post(create_url(), form_data(what="", due="someday", note="kept note"))
    form = response.context["form"]
    assert "what" in form.errors and "due" in form.errors
    content = response.content.decode()
    assert 'id="id_what_error"' in content and 'id="id_due_error"' in content
    assert "kept note" in content and 'value="someday"' in content
    assert not Dependency.objects.exists()


def test_each_field_is_described_by_its_hint_and_its_error(client, needing, providing, bob):
    # Screen readers read a field's hint and error from the ids its aria-describedby names.
    client.force_login(bob)
    content = client.post(create_url(), form_data(what="", due="someday")).content.decode()
    what = re.search(r"<textarea[^>]*name=\"what\"[^>]*>", content).group(0)
    assert 'aria-invalid="true"' in what
    assert 'aria-describedby="id_what_helptext id_what_error"' in what
    ids = set(re.findall(r'\bid="([^"]+)"', content))
    described = [
        name
        for names in re.findall(r'aria-describedby="([^"]+)"', content)
        for name in names.split()
    ]
    assert "id_due_helptext" in described
    assert set(described) <= ids


def test_the_owner_must_be_on_the_provider_side(client, needing, providing, bob, dora, alice):
    client.force_login(bob)
    # Naming oneself (the needing side) as owner would let the needing squad answer its own
    # request: refused beside the owner field, and nothing is written.
    response = client.post(create_url(), form_data(owner=str(bob.pk), what="Keep this"))
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert "owner" in errors
    assert "not a member of Product-led Growth" in errors["owner"][0]
    assert "Keep this" in response.content.decode()
    assert not Dependency.objects.exists()
    # A member of the providing squad may be named.
    assert client.post(create_url(), form_data(owner=str(dora.pk), key="ok")).status_code == 302
    assert Dependency.objects.get(key="ok").owner == dora


def test_a_function_owner_must_be_of_that_function(client, needing, bob, alice):
    lena = f.person("lena", "Lena Legal", function="Legal")
    client.force_login(bob)
    response = client.post(
        create_url(), form_data(to_squad="", to_function="Legal", owner=str(alice.pk))
    )
    assert "not in Legal" in response.context["form"].errors["owner"][0]
    assert not Dependency.objects.exists()
    response = client.post(
        create_url(), form_data(to_squad="", to_function="Legal", owner=str(lena.pk), key="ok")
    )
    assert response.status_code == 302
    assert Dependency.objects.get(key="ok").owner == lena


@pytest.mark.parametrize("due", ["9999-12-31", "0001-01-01", "1999-12-31", "2101-01-01"])
def test_a_due_date_outside_the_planning_range_is_refused(client, needing, providing, bob, due):
    client.force_login(bob)
    response = client.post(create_url(), form_data(due=due))
    assert response.status_code == 200
    assert "use a date from 2000-01-01 to 2100-12-31" in response.context["form"].errors["due"][0]
    assert not Dependency.objects.exists()


def test_the_edges_of_the_planning_range_are_accepted(client, needing, providing, bob):
    client.force_login(bob)
    client.post(create_url(), form_data(due="2000-01-01", key="first", confirm_late="on"))
    client.post(create_url(), form_data(due="2100-12-31", key="last"))
    assert Dependency.objects.get(key="first").due == dt.date(2000, 1, 1)
    assert Dependency.objects.get(key="last").due == dt.date(2100, 12, 31)


@pytest.mark.parametrize("what", ["\u200b", "\ufeff \u200d", "\u2060\u00ad\t"])
def test_what_made_only_of_invisible_characters_is_refused(client, needing, providing, bob, what):
    client.force_login(bob)
    response = client.post(create_url(), form_data(what=what))
    assert response.status_code == 200
    assert "what" in response.context["form"].errors
    assert not Dependency.objects.exists()


def test_editing_to_a_date_outside_the_range_is_refused(client, dep, bob):
    client.force_login(bob)
    url = reverse("board:edit", args=[dep.key])
    response = client.post(
        url,
        {"what": dep.what, "due": "9999-12-31", "note": "", "version": dep.version},
    )
    assert response.status_code == 200
    assert "due" in response.context["form"].errors
    assert Dependency.objects.get(pk=dep.pk).due == dep.due


def test_a_due_date_already_past_asks_for_confirmation_before_recording(
    client, needing, providing, bob
):
    client.force_login(bob)
    past = TODAY - dt.timedelta(days=3)
    response = client.post(create_url(), form_data(due=past.isoformat(), what="Late copy"))

    assert response.status_code == 200
    content = response.content.decode()
    assert f"The due date, {past.day} {past:%b %Y}, is already past (3 days ago)" in content
    assert "late from the moment it is saved" in content
    assert 'name="confirm_late"' in content
    assert "Late copy" in content  # what was typed is kept
    assert not Dependency.objects.exists()

    response = client.post(
        create_url(), form_data(due=past.isoformat(), what="Late copy", confirm_late="on")
    )
    assert response.status_code == 302
    assert Dependency.objects.get().due == past
    # The board the person lands on says it plainly once more.
    page = client.get(response["Location"]).content.decode()
    assert "is already past (3 days ago)" in page


def test_today_or_later_records_without_asking(client, needing, providing, bob):
    client.force_login(bob)
    page = client.get(create_url()).content.decode()
    assert 'name="confirm_late"' not in page
    response = client.post(create_url(), form_data(due=TODAY.isoformat(), key="today"))
    assert response.status_code == 302
    page = client.get(response["Location"]).content.decode()
    assert "already past" not in page
    assert Dependency.objects.filter(key="today").exists()


def test_moving_the_date_into_the_past_asks_but_editing_a_late_one_does_not(client, dep, bob):
    url = reverse("board:edit", args=[dep.key])
    client.force_login(bob)
    past = TODAY - dt.timedelta(days=1)
    data = {"what": dep.what, "due": past.isoformat(), "note": "", "version": dep.version}

    response = client.post(url, data)
    assert response.status_code == 200
    assert "is already past (yesterday)" in response.content.decode()
    assert 'name="confirm_late"' in response.content.decode()
    assert Dependency.objects.get(pk=dep.pk).due == dep.due

    response = client.post(url, {**data, "confirm_late": "on"})
    assert response.status_code == 302
    dep.refresh_from_db()
    assert dep.due == past
    assert "is already past (yesterday)" in client.get(response["Location"]).content.decode()

    # Its date already past and left alone, a change to the note saves without asking.
    data = {"what": dep.what, "due": past.isoformat(), "note": "Chasing", "version": dep.version}
    assert client.post(url, data).status_code == 302
    assert Dependency.objects.get(pk=dep.pk).note == "Chasing"


def test_accepting_a_dependency_past_its_due_date_says_it_is_late_already(client, dep, dora):
    dep.due = TODAY - dt.timedelta(days=4)
    dep.save()
    client.force_login(dora)
    response = client.post(
        respond(dep), {"action": "accept", "was": "requested", "next": board()}, headers=HX
    )
    content = response.content.decode()
    assert rows(response) == ["messaging"]
    assert "so this promise is late already: agree a new date with First 90 Days" in content
    assert "(4 days ago)" in content
    assert Dependency.objects.get(pk=dep.pk).status == "accepted"

    # Without script, the board after the redirect says it.
    client.post(
        respond(dep),
        {"action": "at_risk", "reason": "Design slipped", "was": "accepted", "next": board()},
    )
    response = client.post(respond(dep), {"action": "accept", "was": "at_risk", "next": board()})
    assert "promise is late already" in client.get(response["Location"]).content.decode()


def test_accepting_in_time_or_marking_a_late_one_done_warns_nothing(client, dep, dora):
    client.force_login(dora)
    response = client.post(respond(dep), {"action": "accept", "was": "requested"}, headers=HX)
    assert "late already" not in response.content.decode()
    Dependency.objects.filter(pk=dep.pk).update(due=TODAY - dt.timedelta(days=4))
    response = client.post(respond(dep), {"action": "done", "was": "accepted"}, headers=HX)
    assert "late already" not in response.content.decode()


def test_a_key_that_is_taken_is_refused(client, dep, needing, providing, bob):
    client.force_login(bob)
    response = client.post(create_url(), form_data(key="messaging"))
    assert "already has this key" in response.content.decode()
    assert Dependency.objects.count() == 1


def test_a_squad_cannot_need_from_itself(client, needing, providing, bob):
    client.force_login(bob)
    response = client.post(create_url(), form_data(to_squad="first-90-days"))
    assert "cannot need something from itself" in response.content.decode()
    assert not Dependency.objects.exists()


def test_who_may_record_a_dependency(client, needing, providing, carol, dora, olga):
    client.force_login(carol)
    assert client.get(create_url(**{"from": "first-90-days"})).status_code == 403
    assert client.get(create_url()).status_code == 403
    assert client.post(create_url(), form_data()).status_code == 403
    assert client.get(create_url(**{"from": "nope"})).status_code == 404
    # A member of another squad cannot record for this one, even by posting.
    client.force_login(dora)
    assert client.post(create_url(), form_data(to_squad="", to_function="Legal")).status_code == 403
    assert not Dependency.objects.exists()
    client.force_login(olga)
    assert client.post(create_url(), form_data()).status_code == 302
    assert Dependency.objects.count() == 1


def test_recording_goes_back_to_a_safe_next_only(client, needing, providing, bob):
    client.force_login(bob)
    response = client.post(create_url(), form_data(next="https://evil.example.com/"))
    assert response["Location"].startswith(reverse("board:board"))


def test_recording_needs_a_signed_in_person_and_get_or_post(client, needing, bob):
    assert client.get(create_url()).status_code == 302
    client.force_login(bob)
    assert client.put(create_url()).status_code == 405


# ---------------------------------------------------------------------------------------
# Editing a dependency (the needing side)
# ---------------------------------------------------------------------------------------


def test_the_needing_side_edits_what_due_blocking_and_note(client, dep, bob):
    url = reverse("board:edit", args=[dep.key])
    client.force_login(bob)
    assert "Feature messaging for the wizard" in client.get(url).content.decode()
    version = f.shown_version(client, url)
    data = {"what": "Messaging v2", "due": "2027-03-01", "note": "Moved", "next": board()}
    response = client.post(url, {**data, "version": version})
    assert response.status_code == 302
    dep.refresh_from_db()
    assert (dep.what, dep.due, dep.blocking, dep.note) == (
        "Messaging v2",
        dt.date(2027, 3, 1),
        False,
        "Moved",
    )


def test_an_invalid_edit_keeps_what_was_typed(client, dep, bob):
    client.force_login(bob)
    response = client.post(
        reverse("board:edit", args=[dep.key]), {"what": "New words", "due": "not a date"}
    )
    assert response.status_code == 200
    assert "New words" in response.content.decode()
    assert "due" in response.context["form"].errors
    assert Dependency.objects.get(pk=dep.pk).what == "Feature messaging for the wizard"


def test_who_may_edit(client, dep, carol, dora):
    url = reverse("board:edit", args=[dep.key])
    for person in (carol, dora):
        client.force_login(person)
        assert client.get(url).status_code == 403
        assert client.post(url, {"what": "x", "due": "2027-01-01"}).status_code == 403
    assert client.get(reverse("board:edit", args=["nope"])).status_code == 404


# ---------------------------------------------------------------------------------------
# The needing squad never answers its own request
# ---------------------------------------------------------------------------------------


def test_a_squad_cannot_make_its_member_of_the_function_it_asks(client, needing, alice, bob):
    from squads.models import Membership

    # Alice, the DRI, says Bob brings "People" to her squad: that is not being of People.
    Membership.objects.filter(squad=needing, person=bob).update(function="People")
    with pytest.raises(ValidationError) as refused:
        services.dependency_create(
            by=bob,
            from_squad=needing,
            to_function="People",
            what="Hire 15 CSMs",
            due=dt.date(2027, 3, 1),
            owner=bob,
        )
    assert "owner" in refused.value.message_dict


def test_someone_of_the_function_in_the_needing_squad_does_not_answer(client, needing, bob):
    Profile.objects.filter(user=bob).update(function="People")  # People, by their profile
    dep = Dependency.objects.create(
        key="hiring",
        from_squad=needing,
        to_function="People",
        what="Hire 15 CSMs",
        due=dt.date(2027, 3, 1),
    )
    client.force_login(bob)
    response = client.post(reverse("board:respond", args=[dep.key]), {"action": "accept"})
    assert response.status_code == 403
    assert Dependency.objects.get(pk=dep.pk).status == "requested"
