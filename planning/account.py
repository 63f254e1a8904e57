"""A person's own page: email address, which emails they want, and links to their other
settings (password, two-factor sign-in, calendar feeds, API tokens)."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from core import single_sign_on, two_factor
from planning.models import NotificationPreference


class AccountForm(forms.Form):
    email = forms.EmailField(
        required=False,
        max_length=254,
        help_text="Where Throughline sends your digest and alerts; leave empty for none.",
    )
    daily_digest = forms.BooleanField(
        required=False,
        label="Daily digest",
        help_text="Each morning: new and open findings for squads you lead, dependencies "
        "due within 7 days, and those your squads need that were declined or put at risk.",
    )
    immediate_high = forms.BooleanField(
        required=False,
        label="Serious news at once",
        help_text="An email as soon as the review finds something of high severity about a "
        "squad you lead, or a dependency your squad needs is declined or put at risk.",
    )


@require_http_methods(["GET", "POST"])
def account(request: HttpRequest) -> HttpResponse:
    preference = NotificationPreference.objects.filter(user=request.user).first()
    initial = {
        "email": request.user.email,
        "daily_digest": preference.daily_digest if preference else True,
        "immediate_high": preference.immediate_high if preference else True,
    }
    form = AccountForm(request.POST or None, initial=initial)
    if single_sign_on.configured():
        # The company's sign-in links a first sign-in to the account showing its verified
        # address: a person who could set any address here could take a colleague's link.
        form.fields["email"].disabled = True
        form.fields["email"].help_text = single_sign_on.EMAIL_FROM_COMPANY
    if request.method == "POST" and form.is_valid():
        request.user.email = form.cleaned_data["email"]
        request.user.save(update_fields=["email"])
        NotificationPreference.objects.update_or_create(
            user=request.user,
            defaults={
                "daily_digest": form.cleaned_data["daily_digest"],
                "immediate_high": form.cleaned_data["immediate_high"],
            },
        )
        messages.success(request, "Saved your email settings.")
        return redirect("account")
    return render(
        request,
        "planning/account.html",
        {"form": form, "nav": "account", "two_factor_on": two_factor.is_on(request.user)},
        status=400 if form.errors else 200,
    )
