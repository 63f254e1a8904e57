"""The admin: every model is listed, and the demo administrator can sign in and browse it."""

from __future__ import annotations

import io

import pytest
from django.contrib import admin
from django.core.management import call_command
from django.urls import reverse

pytestmark = pytest.mark.django_db

THROUGHLINE_APPS = {"planning", "squads", "journeys", "dependencies", "webhooks"}


@pytest.fixture
def demo(settings):
    settings.DEBUG = True  # the demo loader refuses production settings
    call_command("load_demo", "--password", "demo pass phrase", stdout=io.StringIO())


@pytest.fixture
def admin_client(client, demo, django_user_model):
    client.force_login(django_user_model.objects.get(username="admin"))
    return client


def test_every_throughline_model_is_in_the_admin():
    from django.apps import apps

    models = {m for m in apps.get_models() if m._meta.app_label in THROUGHLINE_APPS}
    assert models, "no Throughline models found"
    missing = sorted(m.__name__ for m in models if m not in admin.site._registry)
    assert missing == []


def test_the_demo_administrator_signs_in_with_the_printed_password(client, demo):
    response = client.post(
        reverse("admin:login"),
        {"username": "admin", "password": "demo pass phrase", "next": "/admin/"},
    )
    assert response.status_code == 302
    assert client.get("/admin/").status_code == 200


def test_a_wrong_password_does_not_sign_in(client, demo):
    response = client.post(
        reverse("admin:login"), {"username": "admin", "password": "guess", "next": "/admin/"}
    )
    assert response.status_code == 200
    assert client.get("/admin/").status_code == 302


def test_the_home_page_leads_to_sign_in(client):
    response = client.get("/", follow=True)
    assert response.status_code == 200
    assert b"Throughline" in response.content


@pytest.mark.parametrize(
    "model", [m for m in admin.site._registry if m._meta.app_label in THROUGHLINE_APPS | {"auth"}]
)
def test_each_admin_list_shows_the_demo_data(admin_client, demo, model):
    opts = model._meta
    url = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
    response = admin_client.get(url)
    assert response.status_code == 200
    if model.objects.exists():
        first = model.objects.first()
        assert str(first)[:20].encode() in response.content or b"result_list" in response.content
        change = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[first.pk])
        assert admin_client.get(change).status_code == 200


def test_the_squad_list_shows_each_squad_with_its_dri(admin_client, demo):
    response = admin_client.get(reverse("admin:squads_squad_changelist"))
    content = response.content.decode()
    assert "First 90 Days Experience Squad" in content
    assert "priya" in content


def test_initiatives_can_be_filtered_by_status(admin_client, demo):
    url = reverse("admin:squads_initiative_changelist")
    response = admin_client.get(url, {"status__exact": "proposed"})
    content = response.content.decode()
    assert "Improve product-led onboarding" in content
    assert "Onboarding assessment tool" not in content
