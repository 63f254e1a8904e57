"""The page where a person makes and revokes their personal API tokens."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import Resolver404, resolve, reverse
from django.views.decorators.http import require_http_methods, require_POST

from api.models import ApiToken

NAME_MAX_LENGTH = ApiToken._meta.get_field("name").max_length
ACTIVE_TOKENS_MAX = 20


@require_http_methods(["GET", "POST"])
def tokens(request: HttpRequest) -> HttpResponse:
    mine = ApiToken.objects.filter(user=request.user)
    new_token = None
    name = ""
    error = ""
    if request.method == "POST":
        name = request.POST.get("name", "").strip()
        if not name:
            error = "Say what the token is for, so you know which one to revoke later."
        elif len(name) > NAME_MAX_LENGTH:
            error = f"Keep the name to {NAME_MAX_LENGTH} characters."
        elif mine.active().count() >= ACTIVE_TOKENS_MAX:
            error = f"You have {ACTIVE_TOKENS_MAX} active tokens; revoke one first."
        else:
            _row, new_token = ApiToken.issue(user=request.user, name=name)
            name = ""
    status = 400 if error else 200
    return render(
        request,
        "api/tokens.html",
        {
            "tokens": mine,
            "new_token": new_token,
            "name": name,
            "error": error,
            "name_max_length": NAME_MAX_LENGTH,
            "api_root": request.build_absolute_uri(reverse("api:api-root")),
            "openapi_url": reverse("api:openapi-json"),
        },
        status=status,
    )


@require_POST
def revoke(request: HttpRequest, pk: int) -> HttpResponse:
    # Only one's own tokens: anyone else's answers 404, as if it did not exist.
    token = get_object_or_404(ApiToken, pk=pk, user=request.user)
    token.revoke()
    messages.success(request, f"Revoked “{token.name}”: it no longer works.")
    return redirect("api_tokens")


@login_not_required
def unknown(request: HttpRequest, rest: str) -> HttpResponse:
    """Any address under /api/v1/ the API does not have: a JSON 404 like the API's own, naming
    the address without its trailing slash when that one exists (the API's addresses end
    without one)."""
    detail = "The API has no such address; /api/v1/openapi.json lists them."
    if request.path.endswith("/"):
        bare = request.path.rstrip("/")
        try:
            match = resolve(bare)
        except Resolver404:
            match = None
        if match is not None and match.namespace == "api":
            detail = f"The API's addresses end without a slash: {bare}"
    return JsonResponse({"detail": detail, "errors": {}}, status=404)
