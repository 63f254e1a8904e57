from django.contrib.auth.decorators import login_not_required
from django.urls import URLPattern, path, re_path

from api import views
from api.api import api


def _own_authentication(patterns: list) -> list:
    """The API answers 401 itself (a token, or a session with its CSRF token): no redirect to
    the sign-in page."""
    for pattern in patterns:
        if isinstance(pattern, URLPattern):
            pattern.callback = login_not_required(pattern.callback)
    return patterns


_patterns, _app, _namespace = api.urls

urlpatterns = [
    path("api/v1/", (_own_authentication(_patterns), _app, _namespace)),
    re_path(r"^api/v1/(?P<rest>.*)$", views.unknown, name="api_unknown"),
    path("account/api-tokens/", views.tokens, name="api_tokens"),
    path("account/api-tokens/<int:pk>/revoke/", views.revoke, name="api_token_revoke"),
]
