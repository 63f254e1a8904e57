"""People: the directory, a person's page, invitations and signing up from one,
deactivating and reactivating an account, a person's function and groups."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.contrib.auth import get_user_model
from django.contrib.sessions.models import Session
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from core import services
from core.models import Invitation, Profile
from tests import factories as f
from tests.test_logs import app_logs

pytestmark = pytest.mark.django_db

User = get_user_model()
PASSWORD = "a-long-and-unusual-passphrase-7"
LINK = re.compile(r"https?://[^\s]+/signup/([A-Za-z0-9_-]+)/")


@pytest.fixture(autouse=True)
def empty_outbox():
    mail.outbox = []


@pytest.fixture
def root(db):
    """An administrator."""
    user = User.objects.create_superuser("root", "root@example.com", PASSWORD)
    Profile.objects.create(user=user, display_name="Rosa Root")
    return user


def token_from(message) -> str:
    return LINK.search(message.body)[1]


def invite(client, email: str = "newcomer@example.com"):
    return client.post(reverse("invitation_send"), {"email": email})


def signup_data(**more) -> dict:
    data = {
        "display_name": "Nadia Novak",
        "username": "nadia",
        "password": PASSWORD,
        "password_again": PASSWORD,
    }
    data.update(more)
    return data


def signed_in_as(client) -> str | None:
    """The username the client's session signs in, or None."""
    response = client.get(reverse("people"))
    if response.status_code != 200:
        return None
    return response.wsgi_request.user.get_username()


# ---------------------------------------------------------------------------------------
# The directory
# ---------------------------------------------------------------------------------------


def test_everyone_signed_in_reads_the_directory_with_functions_groups_and_squads(
    client, needing, carol, leo
):
    client.force_login(carol)
    response = client.get(reverse("people"))
    assert response.status_code == 200
    page = response.content.decode()
    for name in ("Alice Archer", "Bob Baker", "Carol Cruz", "Leo Lang"):
        assert name in page
    assert "Leadership" in page
    assert "First 90 Days" in page and "DRI" in page
    # Only those who manage people see the invitations.
    assert 'id="invitations"' not in page
    assert "newcomer" not in page


def test_the_directory_filters_by_function_group_and_status(client, alice, bob, carol, leo, olga):
    bob.is_active = False
    bob.save()
    client.force_login(carol)

    def names(**query) -> set[str]:
        response = client.get(reverse("people"), query)
        assert response.status_code == 200
        return {p.username for p in response.context["page"].object_list}

    assert names(function="Product") == {"bob"}
    assert names(group="Operations") == {"olga"}
    assert names(group="Leadership") == {"leo"}
    assert names(status="deactivated") == {"bob"}
    assert "bob" not in names(status="active")
    assert names() == {"alice", "bob", "carol", "leo", "olga"}


def test_an_unknown_filter_value_is_said_and_shows_everyone(client, alice, carol):
    client.force_login(carol)
    response = client.get(reverse("people"), {"function": "No such function"})
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert len(response.context["page"].object_list) == 2


def test_the_directory_pages_fifty_people_at_a_time(client, carol):
    for i in range(55):
        f.person(f"p{i:02d}", f"Person {i:02d}")
    client.force_login(carol)
    first = client.get(reverse("people"))
    assert len(first.context["page"].object_list) == 50
    assert "Next page" in first.content.decode()
    second = client.get(reverse("people"), {"page": 2})
    assert len(second.context["page"].object_list) == 6  # 55 and Carol
    assert "Previous page" in second.content.decode()


@pytest.mark.parametrize("extra", [3, 60])
def test_the_directory_reads_a_bounded_number_of_queries(
    client, needing, carol, leo, extra, django_assert_max_num_queries
):
    for i in range(extra):
        person = f.person(f"q{i:02d}", f"Quinn {i:02d}")
        f.member(needing, person)
    client.force_login(leo)
    client.get(reverse("people"))
    with django_assert_max_num_queries(9):
        assert client.get(reverse("people")).status_code == 200


def test_the_directory_and_person_pages_ask_for_a_sign_in(client, alice):
    for url in (reverse("people"), reverse("person", args=["alice"])):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_the_directory_and_person_pages_refuse_a_post(client, carol):
    client.force_login(carol)
    assert client.post(reverse("people")).status_code == 405
    assert client.post(reverse("person", args=["carol"])).status_code == 405


# ---------------------------------------------------------------------------------------
# A person's page
# ---------------------------------------------------------------------------------------


def test_a_person_page_shows_their_squads_and_hides_their_email_from_others(
    client, needing, alice, carol
):
    client.force_login(carol)
    response = client.get(reverse("person", args=["alice"]))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Alice Archer" in page and "First 90 Days" in page and "DRI" in page
    assert "alice@example.com" not in page
    assert 'id="roles"' not in page and "Deactivate" not in page


def test_leadership_sees_the_forms_and_the_email(client, needing, alice, leo):
    client.force_login(leo)
    page = client.get(reverse("person", args=["alice"])).content.decode()
    assert "alice@example.com" in page
    assert 'id="roles"' in page
    assert "Deactivate Alice Archer" in page
    # Alice leads a squad: whoever deactivates her is told it will need a new DRI.
    assert "that squad needs a new DRI" in page


def test_a_person_who_does_not_exist_is_404(client, carol):
    client.force_login(carol)
    assert client.get(reverse("person", args=["nobody"])).status_code == 404
    client.force_login(f.in_group(f.person("lea", "Lea"), "Leadership"))
    assert client.post(reverse("person_deactivate", args=["nobody"])).status_code == 404


# ---------------------------------------------------------------------------------------
# Invitations: the service
# ---------------------------------------------------------------------------------------


def test_an_invitation_emails_a_one_time_link_and_stores_only_its_digest(leo):
    invitation = services.invitation_send(email="Newcomer@Example.COM", by=leo)
    assert invitation.email == "Newcomer@example.com"
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["Newcomer@example.com"]
    assert "Leo Lang invites you" in message.subject
    token = token_from(message)
    assert len(token) >= 40
    stored = Invitation.objects.get()
    assert stored.token_digest == services.token_digest(token)
    assert token not in stored.token_digest
    assert stored.expires_at - stored.sent_at == dt.timedelta(days=7)


def test_an_address_that_has_an_account_is_not_invited(leo, alice):
    with pytest.raises(ValidationError) as refused:
        services.invitation_send(email="ALICE@example.com", by=leo)
    assert "already has an account (Alice Archer)" in str(refused.value)
    assert not Invitation.objects.exists()
    assert mail.outbox == []


def test_a_malformed_address_is_refused(leo):
    with pytest.raises(ValidationError) as refused:
        services.invitation_send(email="not an address", by=leo)
    assert "Enter an email address" in str(refused.value)
    assert not Invitation.objects.exists()


def test_sending_again_replaces_the_link(leo):
    services.invitation_send(email="newcomer@example.com", by=leo)
    old = token_from(mail.outbox[0])
    invitation = services.invitation_resend(invitation=Invitation.objects.get(), by=leo)
    new = token_from(mail.outbox[1])
    assert new != old
    assert Invitation.objects.count() == 1
    assert services.invitation_for_token(old) is None
    assert services.invitation_for_token(new) == invitation
    # Inviting the same address again is sending again, whatever the case.
    services.invitation_send(email="NEWCOMER@example.com", by=leo)
    assert Invitation.objects.count() == 1
    assert services.invitation_for_token(new) is None


def test_a_mail_failure_stores_nothing(leo, monkeypatch):
    from django.core.mail.backends import locmem

    def broken(self, messages):
        raise OSError("the mail server is away")

    monkeypatch.setattr(locmem.EmailBackend, "send_messages", broken)
    with pytest.raises(ValidationError) as refused:
        services.invitation_send(email="newcomer@example.com", by=leo)
    assert "could not be sent, so nothing changed" in str(refused.value)
    assert not Invitation.objects.exists()


def test_withdrawing_an_invitation_ends_its_link(leo):
    services.invitation_send(email="newcomer@example.com", by=leo)
    token = token_from(mail.outbox[0])
    services.invitation_cancel(invitation=Invitation.objects.get(), by=leo)
    assert services.invitation_problem(services.invitation_for_token(token)) == (
        services.LINK_NOT_VALID
    )


# ---------------------------------------------------------------------------------------
# Signing up: the service
# ---------------------------------------------------------------------------------------


@pytest.fixture
def token(leo) -> str:
    services.invitation_send(email="nadia@example.com", by=leo)
    return token_from(mail.outbox[-1])


def test_signing_up_makes_the_account_once(token):
    user = services.invitation_accept(
        digest=services.token_digest(token),
        display_name="  Nadia   Novak ",
        username="nadia",
        password=PASSWORD,
    )
    assert user.email == "nadia@example.com"
    assert user.check_password(PASSWORD) and user.is_active
    assert user.profile.display_name == "Nadia Novak"
    invitation = Invitation.objects.get()
    assert invitation.account == user and invitation.accepted_at is not None

    with pytest.raises(ValidationError) as again:
        services.invitation_accept(
            digest=services.token_digest(token),
            display_name="Someone",
            username="someone",
            password=PASSWORD,
        )
    assert services.LINK_USED in again.value.messages
    assert User.objects.filter(email="nadia@example.com").count() == 1


def test_an_expired_link_makes_no_account(token):
    Invitation.objects.update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    with pytest.raises(ValidationError) as expired:
        services.invitation_accept(
            digest=services.token_digest(token),
            display_name="Nadia",
            username="nadia",
            password=PASSWORD,
        )
    assert services.LINK_EXPIRED in expired.value.messages
    assert not User.objects.filter(username="nadia").exists()


def test_a_made_up_link_makes_no_account(token):
    with pytest.raises(ValidationError) as refused:
        services.invitation_accept(
            digest=services.token_digest(token[:-1] + "x"),
            display_name="Nadia",
            username="nadia",
            password=PASSWORD,
        )
    assert services.LINK_NOT_VALID in refused.value.messages


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("password", "nadianovak", "too similar"),
        ("password", "12345678901", "entirely numeric"),
        ("password", "short", "too short"),
        ("username", "leo", "Someone has this username already"),
        ("username", "LEO", "Someone has this username already"),
        # Full-width letters: the account would be made as "LEO", beside "leo".
        ("username", "\uff2c\uff25\uff2f", "Someone has this username already"),
        ("username", "has space", "Enter a valid username"),
        ("display_name", "   ", "Say how your colleagues should call you"),
    ],
)
def test_signing_up_refuses_what_the_account_cannot_have(token, field, value, message):
    data = {"display_name": "Nadia Novak", "username": "nadia", "password": PASSWORD}
    data[field] = value
    with pytest.raises(ValidationError) as refused:
        services.invitation_accept(digest=services.token_digest(token), **data)
    assert any(message in m for m in refused.value.message_dict[field])
    assert not User.objects.filter(email="nadia@example.com").exists()
    assert Invitation.objects.get().accepted_at is None


def test_an_account_made_with_the_address_meanwhile_is_not_made_twice(token):
    f.person("nadia2")
    User.objects.filter(username="nadia2").update(email="NADIA@example.com")
    with pytest.raises(ValidationError) as refused:
        services.invitation_accept(
            digest=services.token_digest(token),
            display_name="Nadia",
            username="nadia",
            password=PASSWORD,
        )
    assert "has an account already" in str(refused.value)
    assert not User.objects.filter(username="nadia").exists()
    assert Invitation.objects.get().accepted_at is None


# ---------------------------------------------------------------------------------------
# The invitation's whole life, over HTTP
# ---------------------------------------------------------------------------------------


def _all_text_in_the_database() -> str:
    """Every value of every row of every table, as text."""
    parts = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            parts.extend(repr(row) for row in cursor.fetchall())
    return "\n".join(parts)


def open_link(client, token: str):
    """Follow an invitation's link as a browser does: on to the sign-up form."""
    return client.get(reverse("signup", args=[token]), follow=True)


def test_invite_email_sign_up_signed_in_and_the_link_never_works_again(client, leo):
    with app_logs() as logs:
        client.force_login(leo)
        response = invite(client)
        assert response.status_code == 302
        assert len(mail.outbox) == 1
        link = LINK.search(mail.outbox[0].body)[0]
        token = token_from(mail.outbox[0])
        assert link.endswith(reverse("signup", args=[token]))

        newcomer = Client()
        page = open_link(newcomer, token)
        assert page.status_code == 200
        assert page.redirect_chain == [(reverse("signup_form"), 302)]
        assert "newcomer@example.com" in page.content.decode()
        assert "no-store" in page["Cache-Control"]
        at_link = newcomer.get(reverse("signup", args=[token]))
        assert at_link["Referrer-Policy"] == "no-referrer"
        assert "no-store" in at_link["Cache-Control"]
        assert page.context["form"]["username"].value() == "newcomer"

        done = newcomer.post(reverse("signup_form"), signup_data(username="newcomer"))
        assert done.status_code == 302 and done["Location"] == reverse("home")
        assert signed_in_as(newcomer) == "newcomer"
        account = User.objects.get(username="newcomer")
        assert account.email == "newcomer@example.com"
        assert account.profile.display_name == "Nadia Novak"

        # The link works once: used again, it makes nothing.
        stranger = Client()
        again = open_link(stranger, token)
        assert again.status_code == 410
        assert "used already" in again.content.decode()
        reused = stranger.post(reverse("signup_form"), signup_data(username="intruder"))
        assert reused.status_code == 404
        assert not User.objects.filter(username="intruder").exists()
        assert signed_in_as(stranger) is None

    assert token not in logs.getvalue()
    assert "/signup/[redacted]/" in logs.getvalue()  # the 410 was logged, without it
    assert token not in _all_text_in_the_database()


def test_a_sign_up_form_left_open_makes_nothing_once_its_link_is_used(client, token):
    other_tab = Client()
    open_link(other_tab, token)
    open_link(client, token)
    assert client.post(reverse("signup_form"), signup_data()).status_code == 302
    refused = other_tab.post(reverse("signup_form"), signup_data(username="nadia2"))
    assert refused.status_code == 410
    assert "used already" in refused.content.decode()
    assert not User.objects.filter(username="nadia2").exists()


def test_an_expired_link_answers_410_and_makes_nothing(client, token):
    open_link(client, token)
    Invitation.objects.update(expires_at=timezone.now() - dt.timedelta(minutes=1))
    assert client.post(reverse("signup_form"), signup_data()).status_code == 410
    page = open_link(Client(), token)
    assert page.status_code == 410
    assert "expired" in page.content.decode()
    assert not User.objects.filter(username="nadia").exists()


def test_a_link_replaced_by_a_newer_one_makes_nothing(client, token, leo):
    open_link(client, token)
    services.invitation_resend(invitation=Invitation.objects.get(), by=leo)
    assert client.post(reverse("signup_form"), signup_data()).status_code == 404
    assert open_link(Client(), token).status_code == 404
    assert not User.objects.filter(username="nadia").exists()


def test_a_made_up_link_answers_404(client, token):
    assert open_link(client, "made-up").status_code == 404
    assert client.post(reverse("signup_form"), signup_data()).status_code == 404
    assert not User.objects.filter(username="nadia").exists()


def test_a_bad_sign_up_says_why_and_keeps_the_link_working(client, token):
    open_link(client, token)
    form = reverse("signup_form")
    response = client.post(form, signup_data(password="12345678901", password_again="12345678901"))
    assert response.status_code == 400
    assert "entirely numeric" in response.content.decode()
    response = client.post(form, signup_data(password_again="something else"))
    assert response.status_code == 400
    assert "The two passwords differ." in response.content.decode()
    assert not User.objects.filter(username="nadia").exists()
    assert client.post(form, signup_data()).status_code == 302


def test_signing_up_while_signed_in_asks_to_sign_out_first(client, token, carol):
    client.force_login(carol)
    page = open_link(client, token)
    assert page.status_code == 200
    assert "sign out first" in page.content.decode()
    client.post(reverse("signup_form"), signup_data())
    assert not User.objects.filter(username="nadia").exists()
    assert signed_in_as(client) == "carol"


def test_the_sign_up_form_needs_its_csrf_token(token):
    strict = Client(enforce_csrf_checks=True)
    open_link(strict, token)
    assert strict.post(reverse("signup_form"), signup_data()).status_code == 403
    assert not User.objects.filter(username="nadia").exists()


def test_the_sign_up_pages_refuse_other_methods(client, token):
    assert client.post(reverse("signup", args=[token])).status_code == 405
    assert client.put(reverse("signup_form")).status_code == 405


# ---------------------------------------------------------------------------------------
# Invitations over HTTP: who may
# ---------------------------------------------------------------------------------------


def test_leadership_and_administrators_invite(client, leo, root):
    for person, email in ((leo, "one@example.com"), (root, "two@example.com")):
        client.force_login(person)
        assert invite(client, email).status_code == 302
    assert set(Invitation.objects.values_list("email", flat=True)) == {
        "one@example.com",
        "two@example.com",
    }
    client.force_login(leo)
    page = client.get(reverse("people")).content.decode()
    assert "one@example.com" in page and "two@example.com" in page


@pytest.mark.parametrize("who", ["alice", "olga", "carol"])
def test_others_cannot_invite(client, request, who):
    client.force_login(request.getfixturevalue(who))
    assert invite(client).status_code == 403
    assert not Invitation.objects.exists() and mail.outbox == []


def test_an_invitation_to_someone_with_an_account_is_refused_on_the_page(client, leo, alice):
    client.force_login(leo)
    response = invite(client, "alice@example.com")
    assert response.status_code == 400
    assert "already has an account (Alice Archer)" in response.content.decode()
    assert mail.outbox == []


def test_invitations_are_held_to_their_own_limit(client, leo, settings):
    settings.INVITATION_RATE_LIMIT = 2
    client.force_login(leo)
    assert invite(client, "one@example.com").status_code == 302
    assert invite(client, "two@example.com").status_code == 302
    refused = invite(client, "three@example.com")
    assert refused.status_code == 429
    assert "as many invitations as Throughline allows (2 in 60 minutes)" in (
        refused.content.decode()
    )
    assert not Invitation.objects.filter(email="three@example.com").exists()
    assert len(mail.outbox) == 2
    # Sending again counts too.
    resend = client.post(
        reverse("invitation_resend", args=[Invitation.objects.get(email="one@example.com").pk]),
        follow=True,
    )
    assert "as many invitations as Throughline allows" in resend.content.decode()
    assert len(mail.outbox) == 2


def test_sending_again_and_withdrawing_over_http(client, leo):
    client.force_login(leo)
    invite(client)
    invitation = Invitation.objects.get()
    first = token_from(mail.outbox[0])
    assert client.post(reverse("invitation_resend", args=[invitation.pk])).status_code == 302
    assert len(mail.outbox) == 2
    assert Client().get(reverse("signup", args=[first])).status_code == 404
    second = token_from(mail.outbox[1])
    assert client.post(reverse("invitation_cancel", args=[invitation.pk])).status_code == 302
    assert not Invitation.objects.exists()
    assert Client().get(reverse("signup", args=[second])).status_code == 404


def test_invitations_are_404_to_those_who_do_not_manage_people(client, leo, carol):
    invitation = services.invitation_send(email="newcomer@example.com", by=leo)
    client.force_login(carol)
    for name in ("invitation_resend", "invitation_cancel"):
        assert client.post(reverse(name, args=[invitation.pk])).status_code == 404
    assert Invitation.objects.filter(pk=invitation.pk).exists()
    assert len(mail.outbox) == 1


def test_a_used_or_unknown_invitation_is_404(client, leo, token):
    services.invitation_accept(
        digest=services.token_digest(token),
        display_name="Nadia",
        username="nadia",
        password=PASSWORD,
    )
    client.force_login(leo)
    used = Invitation.objects.get()
    for name in ("invitation_resend", "invitation_cancel"):
        assert client.post(reverse(name, args=[used.pk])).status_code == 404
        assert client.post(reverse(name, args=[used.pk + 100])).status_code == 404


def test_invitation_routes_refuse_get(client, leo):
    invitation = services.invitation_send(email="newcomer@example.com", by=leo)
    client.force_login(leo)
    assert client.get(reverse("invitation_send")).status_code == 405
    for name in ("invitation_resend", "invitation_cancel"):
        assert client.get(reverse(name, args=[invitation.pk])).status_code == 405


def test_inviting_needs_the_csrf_token(leo):
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(leo)
    assert invite(strict).status_code == 403
    assert not Invitation.objects.exists()


# ---------------------------------------------------------------------------------------
# Deactivating and reactivating
# ---------------------------------------------------------------------------------------


def test_a_deactivated_person_is_signed_out_everywhere_and_cannot_sign_in(client, leo, bob):
    bob.set_password(PASSWORD)
    bob.save()
    laptop, phone = Client(), Client()
    for device in (laptop, phone):
        assert (
            device.post(reverse("login"), {"username": "bob", "password": PASSWORD}).status_code
            == 302
        )
        assert signed_in_as(device) == "bob"
    others = Client()
    others.force_login(leo)

    client.force_login(leo)
    response = client.post(reverse("person_deactivate", args=["bob"]), follow=True)
    assert "Bob Baker is deactivated" in response.content.decode()

    bob.refresh_from_db()
    assert not bob.is_active
    assert signed_in_as(laptop) is None and signed_in_as(phone) is None
    assert signed_in_as(others) == "leo"
    assert not [
        s for s in Session.objects.all() if s.get_decoded().get("_auth_user_id") == str(bob.pk)
    ]
    refused = Client().post(reverse("login"), {"username": "bob", "password": PASSWORD})
    assert refused.status_code == 200
    assert "enter a correct username and password" in refused.content.decode()


def test_a_reactivated_person_signs_in_again_but_old_sessions_stay_ended(client, leo, bob):
    bob.set_password(PASSWORD)
    bob.save()
    old = Client()
    old.post(reverse("login"), {"username": "bob", "password": PASSWORD})
    client.force_login(leo)
    client.post(reverse("person_deactivate", args=["bob"]))
    response = client.post(reverse("person_reactivate", args=["bob"]), follow=True)
    assert "Bob Baker is active again" in response.content.decode()
    assert signed_in_as(old) is None
    fresh = Client()
    assert (
        fresh.post(reverse("login"), {"username": "bob", "password": PASSWORD}).status_code == 302
    )
    assert signed_in_as(fresh) == "bob"


def test_deactivating_a_dri_warns_that_the_squad_needs_a_new_one(client, leo, needing, alice):
    client.force_login(leo)
    response = client.post(reverse("person_deactivate", args=["alice"]), follow=True)
    page = response.content.decode()
    assert "Alice Archer is the DRI of First 90 Days (FY2027): that squad needs a new DRI" in page
    squad_page = client.get(reverse("squads:detail", args=["first-90-days"])).content.decode()
    assert "this squad needs a new DRI" in squad_page


def test_nobody_deactivates_themselves(client, leo):
    client.force_login(leo)
    response = client.post(reverse("person_deactivate", args=["leo"]), follow=True)
    assert "You cannot deactivate yourself" in response.content.decode()
    leo.refresh_from_db()
    assert leo.is_active
    assert signed_in_as(client) == "leo"


def test_the_last_administrator_is_not_deactivated(root):
    other = User.objects.create_superuser("second", "second@example.com", PASSWORD)
    services.person_deactivate(person=other, by=root)
    with pytest.raises(ValidationError) as refused:
        services.person_deactivate(person=root, by=other)
    assert "the last active administrator" in str(refused.value)
    root.refresh_from_db()
    assert root.is_active


def test_leadership_cannot_change_an_administrators_account(client, leo, root):
    client.force_login(leo)
    assert client.post(reverse("person_deactivate", args=["root"])).status_code == 403
    assert (
        client.post(reverse("person_roles", args=["root"]), {"function": "Sales"}).status_code
        == 403
    )
    root.refresh_from_db()
    assert root.is_active
    page = client.get(reverse("person", args=["root"])).content.decode()
    assert "Deactivate" not in page


@pytest.mark.parametrize("who", ["alice", "olga", "carol"])
def test_others_cannot_deactivate_or_reactivate(client, request, bob, who):
    client.force_login(request.getfixturevalue(who))
    assert client.post(reverse("person_deactivate", args=["bob"])).status_code == 403
    bob.refresh_from_db()
    assert bob.is_active
    bob.is_active = False
    bob.save()
    assert client.post(reverse("person_reactivate", args=["bob"])).status_code == 403
    bob.refresh_from_db()
    assert not bob.is_active


def test_deactivating_needs_post_and_the_csrf_token(client, leo, bob):
    client.force_login(leo)
    assert client.get(reverse("person_deactivate", args=["bob"])).status_code == 405
    assert client.get(reverse("person_reactivate", args=["bob"])).status_code == 405
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(leo)
    assert strict.post(reverse("person_deactivate", args=["bob"])).status_code == 403
    bob.refresh_from_db()
    assert bob.is_active


# ---------------------------------------------------------------------------------------
# Function and groups
# ---------------------------------------------------------------------------------------


def roles(client, username: str, **data):
    """Post the roles form as the person's page offers it, with `data` changed."""
    page = client.get(reverse("person", args=[username]))
    form = page.context["roles_form"]
    posted = {
        "function": form.initial["function"],
        "groups": form.initial["groups"],
        "version": form.initial["version"],
    }
    posted.update(data)
    return client.post(reverse("person_roles", args=[username]), posted)


def test_leadership_gives_a_person_a_function_and_groups(client, leo, carol):
    client.force_login(leo)
    response = roles(client, "carol", function="Operations", groups=["Operations", "Leadership"])
    assert response.status_code == 302
    carol.refresh_from_db()
    assert carol.profile.function == "Operations"
    assert services.person_groups(carol) == ["Leadership", "Operations"]
    roles(client, "carol", groups=["Operations"])
    assert services.person_groups(carol) == ["Operations"]


def test_a_function_typed_in_another_case_joins_the_one_in_use(client, leo, carol, bob):
    client.force_login(leo)
    roles(client, "carol", function="  product ")
    carol.refresh_from_db()
    assert carol.profile.function == "Product"  # Bob's spelling


def test_a_change_made_meanwhile_is_not_overwritten_unseen(client, leo, carol):
    client.force_login(leo)
    page = client.get(reverse("person", args=["carol"]))
    version = page.context["roles_form"].initial["version"]
    services.person_set_roles(
        person=carol,
        function="Sales",
        groups=["Operations"],
        version=services.person_roles_version(carol),
        by=leo,
    )
    response = client.post(
        reverse("person_roles", args=["carol"]),
        {"function": "Marketing", "groups": [], "version": version},
    )
    assert response.status_code == 400
    assert "Someone changed Carol Cruz" in response.content.decode()
    carol.refresh_from_db()
    assert carol.profile.function == "Sales"
    assert services.person_groups(carol) == ["Operations"]
    # The person's choice stays on the form, against the version now saved.
    again = response.context["roles_form"]
    assert again.data["function"] == "Marketing"
    assert client.post(reverse("person_roles", args=["carol"]), again.data).status_code == 302
    carol.refresh_from_db()
    assert carol.profile.function == "Marketing"


def test_a_leader_cannot_take_themselves_out_of_leadership(client, leo):
    client.force_login(leo)
    response = roles(client, "leo", groups=[])
    assert response.status_code == 400
    assert "You cannot take yourself out of Leadership" in response.content.decode()
    assert services.person_groups(leo) == ["Leadership"]


def test_an_unknown_group_is_refused(client, leo, carol):
    client.force_login(leo)
    response = roles(client, "carol", groups=["Superusers"])
    assert response.status_code == 400
    assert services.person_groups(carol) == []


@pytest.mark.parametrize("who", ["alice", "olga", "carol"])
def test_others_cannot_set_functions_or_groups(client, request, bob, who):
    client.force_login(request.getfixturevalue(who))
    response = client.post(
        reverse("person_roles", args=["bob"]),
        {"function": "Sales", "groups": ["Leadership"], "version": ""},
    )
    assert response.status_code == 403
    bob.refresh_from_db()
    assert bob.profile.function == "Product"
    assert services.person_groups(bob) == []


def test_roles_need_post_and_the_csrf_token(client, leo, carol):
    client.force_login(leo)
    assert client.get(reverse("person_roles", args=["carol"])).status_code == 405
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(leo)
    version = services.person_roles_version(carol)
    response = strict.post(
        reverse("person_roles", args=["carol"]),
        {"function": "Sales", "groups": ["Leadership"], "version": version},
    )
    assert response.status_code == 403
    assert services.person_groups(carol) == []


def test_a_removed_squad_is_not_listed_among_its_peoples_squads(client, needing, alice, carol, leo):
    from planning import removals

    removals.squad_remove(
        squad=needing, by=leo, seen=removals.squad_removal(needing).digest, answered=True
    )
    client.force_login(carol)

    directory = client.get(reverse("people")).content.decode()
    page = client.get(reverse("person", args=[alice.username])).content.decode()
    found = client.get(reverse("search"), {"q": "Alice"}).content.decode()

    for content in (directory, page, found):
        assert "Archer" in content  # in search, her first name is highlighted
        assert needing.name not in content
