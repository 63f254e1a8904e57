"""Two-factor sign-in's pages (core/two_factor.py): the code step after the password, and a
person's own set-up page (turning it on with an authenticator app, new recovery codes,
turning it off). Each person manages only their own; there is nothing of anyone else's here.
"""

from __future__ import annotations

import segno
from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_http_methods, require_POST

from core import two_factor
from core.http import AuthedRequest
from core.services import sessions_end

REQUIRED_HERE = "Throughline asks everyone who signs in with a password for a code: it stays on."


class CodeForm(forms.Form):
    code = forms.CharField(
        label="Code",
        max_length=40,
        help_text="The six digits your authenticator app shows for Throughline, "
        "or one of your recovery codes.",
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code"}),
    )


class SetupCodeForm(forms.Form):
    code = forms.CharField(
        label="Code from the app",
        max_length=10,
        help_text="The six digits the app shows now for Throughline.",
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )


class TurnOffForm(forms.Form):
    answer = forms.CharField(
        label="Your password, or a code",
        max_length=200,
        help_text="Your password, a code from your authenticator app, or a recovery code.",
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


def _next_url(request: AuthedRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return ""


def _refused(form: forms.Form, field: str, checked: two_factor.Checked) -> int:
    form.add_error(field, checked.message)
    return 429 if checked.wait else 400


def _render(request, template: str, context: dict, status: int, wait: int = 0) -> HttpResponse:
    response = render(request, template, context, status=status)
    if wait:
        response["Retry-After"] = str(wait)
    return response


@require_http_methods(["GET", "POST"])
def two_factor_code(request: AuthedRequest) -> HttpResponse:
    """The second step of a password sign-in."""
    next_url = _next_url(request)
    if not request.session.get(two_factor.PENDING_CODE):
        return redirect(next_url or "home")
    form = CodeForm(request.POST or None)
    form.fields["code"].widget.attrs["autofocus"] = True  # the page's one question
    status, wait = 200, 0
    if request.method == "POST" and form.is_valid():
        checked = two_factor.code_check(user=request.user, code=form.cleaned_data["code"])
        if checked.ok:
            two_factor.session_passed(request)
            return redirect(next_url or "home")
        status, wait = _refused(form, "code", checked), checked.wait
    elif form.errors:
        status = 400
    context = {"form": form, "next": next_url, "bare": True}
    return _render(request, "registration/two_factor_code.html", context, status, wait)


def _qr_svg(device) -> str:
    """The authenticator's address as a QR code, inline SVG (no style attribute: the page's
    Content-Security-Policy refuses them). Its markup is segno's, holding no text."""
    qr = segno.make(device.config_url, error="m")
    return mark_safe(qr.svg_inline(scale=5, border=3, dark="#000", light="#fff"))


def _setup_context(request: AuthedRequest, **extra) -> dict:
    device = two_factor.device_for(request.user) or two_factor.setup_device(request)
    context = {
        "device": device,
        "required": bool(request.session.get(two_factor.PENDING_SETUP)),
        "bare": bool(request.session.get(two_factor.PENDING_SETUP)),
        "nav": "account",
        "required_here": REQUIRED_HERE if settings.REQUIRE_TWO_FACTOR else "",
    }
    if device is not None and device.confirmed:
        context["codes_left"] = two_factor.recovery_codes_left(request.user)
        context["off_form"] = TurnOffForm()
        context["renew_form"] = CodeForm(prefix="renew")
    elif device is not None:
        context["qr_svg"] = _qr_svg(device)
        context["secret"] = two_factor.secret_text(device)
        context["confirm_form"] = SetupCodeForm()
    return {**context, **extra}


@require_http_methods(["GET", "POST"])
def two_factor_page(request: AuthedRequest) -> HttpResponse:
    """A person's two-factor sign-in: its state, and starting to set it up (POST)."""
    if request.method == "POST":
        if not two_factor.is_on(request.user):
            device = two_factor.two_factor_begin(user=request.user)
            request.session[two_factor.SETUP_DEVICE] = device.pk
        return redirect("two_factor")
    return render(request, "planning/two_factor.html", _setup_context(request))


@require_POST
def two_factor_confirm(request: AuthedRequest) -> HttpResponse:
    """The first code from the app turns it on; the recovery codes are shown this once. Only
    the secret this session set up is confirmed (core.two_factor.setup_device)."""
    device = two_factor.setup_device(request)
    if device is None or two_factor.is_on(request.user):
        return redirect("two_factor")
    form = SetupCodeForm(request.POST)
    checked = None
    if form.is_valid():
        checked, codes = two_factor.two_factor_confirm(
            user=request.user, device=device, code=form.cleaned_data["code"]
        )
        if checked.ok:
            request.session.pop(two_factor.SETUP_DEVICE, None)
            two_factor.session_passed(request)
            # Sessions signed in elsewhere with the password alone end: whoever holds one
            # must now pass the second step too.
            ended = sessions_end(request.user, keep=request.session.session_key)
            return _codes_page(request, codes, turned_on=True, others_ended=ended)
    return _setup_page_again(request, form, "confirm_form", "code", checked)


def _setup_page_again(
    request: AuthedRequest,
    form: forms.Form,
    key: str,
    field: str,
    checked: two_factor.Checked | None,
) -> HttpResponse:
    """The set-up page again, with the form as it was posted and why it was refused: 400, or
    429 past the limit on codes tried."""
    status, wait = 400, 0
    if checked is not None:
        status, wait = _refused(form, field, checked), checked.wait
    context = _setup_context(request, **{key: form})
    return _render(request, "planning/two_factor.html", context, status, wait)


def _codes_page(
    request: AuthedRequest, codes: list[str], *, turned_on: bool, others_ended: int = 0
) -> HttpResponse:
    return render(
        request,
        "planning/two_factor_codes.html",
        {"codes": codes, "turned_on": turned_on, "others_ended": others_ended, "nav": "account"},
    )


@require_POST
def two_factor_recovery_codes(request: AuthedRequest) -> HttpResponse:
    """New recovery codes, for a current code; the old ones stop working."""
    if not two_factor.is_on(request.user):
        return redirect("two_factor")
    form = CodeForm(request.POST, prefix="renew")
    checked = None
    if form.is_valid():
        checked = two_factor.code_check(user=request.user, code=form.cleaned_data["code"])
        if checked.ok:
            codes = two_factor.recovery_codes_renew(user=request.user)
            return _codes_page(request, codes, turned_on=False)
    return _setup_page_again(request, form, "renew_form", "code", checked)


@require_POST
def two_factor_off(request: AuthedRequest) -> HttpResponse:
    """Turning it off, for the password or a current code; not where the company requires it."""
    if not two_factor.is_on(request.user):
        return redirect("two_factor")
    if settings.REQUIRE_TWO_FACTOR:
        return _render(request, "planning/two_factor.html", _setup_context(request), 403)
    form = TurnOffForm(request.POST)
    checked = None
    if form.is_valid():
        checked = two_factor.password_or_code_check(
            user=request.user, answer=form.cleaned_data["answer"]
        )
        if checked.ok:
            two_factor.two_factor_turn_off(user=request.user)
            messages.success(request, "Two-factor sign-in is off. Your recovery codes are gone.")
            return redirect("account")
    return _setup_page_again(request, form, "off_form", "answer", checked)
