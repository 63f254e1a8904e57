from django.contrib import admin
from django.urls import include, path

from journeys import segments
from journeys import urls as journeys_urls
from planning import (
    account,
    feeds,
    finding_views,
    function_views,
    imports,
    people_views,
    removal_views,
    search_views,
    two_factor_views,
    views,
)
from planning.season import views as season
from planning.timeline import views as timeline
from squads.urls import goal_urlpatterns
from throughline import health, metrics, oidc, security

admin.site.site_header = "Throughline administration"
admin.site.site_title = "Throughline"
admin.site.index_title = "Planning data"

urlpatterns = [
    path("", views.home, name="home"),
    path("cycle/", views.cycle_select, name="cycle_select"),
    # The planning season (planning/season/, docs/season.md).
    path("cycles/", season.cycles, name="cycles"),
    path("cycles/<str:key>/", season.season, name="cycle"),
    path("cycles/<str:key>/move/", season.cycle_move, name="cycle_move"),
    path("cycles/<str:key>/carry-forward/", season.carry_forward, name="cycle_carry_forward"),
    path("cycles/<str:key>/settings/", views.cycle_settings, name="cycle_settings"),
    # Django's reset-confirm view, which also ends a sign-in lockout (throughline/security.py).
    path(
        "accounts/reset/<uidb64>/<token>/",
        security.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    # Signing out, which after a company sign-in ends the provider's sign-in too.
    path("accounts/logout/", oidc.SignOutView.as_view(), name="logout"),
    path("accounts/", include("django.contrib.auth.urls")),
    # Signing in with the company's OpenID Connect provider, and an administrator's one-time
    # link from `manage.py signin_link` (throughline/oidc.py).
    path("accounts/company/", oidc.start, name="company_sign_in"),
    path("accounts/company/callback/", oidc.callback, name="company_sign_in_callback"),
    path("accounts/signin-link/<uidb64>/<token>/", oidc.signin_link, name="signin_link"),
    # The journeys namespace: the journeys' addresses and each segment's milestone map.
    path(
        "",
        include(
            (
                [
                    path("journeys/", include(journeys_urls.urlpatterns)),
                    path("segments/", include(journeys_urls.segment_urlpatterns)),
                ],
                "journeys",
            )
        ),
    ),
    path("squads/", include("squads.urls")),
    path("goals/", include((goal_urlpatterns, "goals"))),
    path("board/", include("dependencies.urls")),
    path("timeline/", timeline.timeline, name="timeline"),
    path("findings/", views.findings, name="findings"),
    path("findings/run/", views.findings_run, name="findings_run"),
    path("findings/status/", views.findings_status, name="findings_status"),
    path("findings/<int:pk>/", views.finding_detail, name="finding"),
    path("findings/<int:pk>/dismiss/", views.finding_dismiss_form, name="finding_dismiss"),
    # Acting on a finding where it is (planning/finding_views.py); before finding_act,
    # whose pattern would take these paths too.
    path("findings/<int:pk>/lead/", finding_views.finding_lead, name="finding_lead"),
    path("findings/<int:pk>/not-same/", finding_views.finding_not_same, name="finding_not_same"),
    path("findings/<int:pk>/related/", finding_views.finding_related, name="finding_related"),
    path("findings/<int:pk>/stage/", finding_views.finding_stage, name="finding_stage"),
    path(
        "findings/<int:pk>/dependency/<str:action>/",
        finding_views.finding_dependency,
        name="finding_dependency",
    ),
    path("findings/<int:pk>/<str:action>/", views.finding_act, name="finding_act"),
    path("notifications/", views.notifications, name="notifications"),
    path("search/", search_views.search, name="search"),
    # Set-up: people, invitations, functions and their capacity, customer segments.
    path("people/", people_views.people, name="people"),
    path("people/<str:username>/", people_views.person_detail, name="person"),
    path("people/<str:username>/roles/", people_views.person_roles, name="person_roles"),
    path(
        "people/<str:username>/deactivate/",
        people_views.person_deactivate,
        name="person_deactivate",
    ),
    path(
        "people/<str:username>/reactivate/",
        people_views.person_reactivate,
        name="person_reactivate",
    ),
    path("invitations/", people_views.invitation_send, name="invitation_send"),
    path("invitations/<int:pk>/resend/", people_views.invitation_resend, name="invitation_resend"),
    path("invitations/<int:pk>/cancel/", people_views.invitation_cancel, name="invitation_cancel"),
    # The invitation's one-time link: the token in it stands in for a sign-in. It leads to
    # the sign-up form, at an address without the token.
    path("signup/", people_views.signup_form, name="signup_form"),
    path("signup/<str:token>/", people_views.signup, name="signup"),
    path("functions/", function_views.function_list, name="functions"),
    path("functions/add/", function_views.function_add, name="function_add"),
    path("functions/rename/", function_views.function_rename, name="function_rename"),
    path("functions/capacity/", function_views.capacity_set, name="capacity_set"),
    path("segments/", segments.segment_list, name="segments"),
    path("segments/<str:key>/edit/", segments.segment_edit, name="segment_edit"),
    path("segments/<str:key>/outcome/", segments.segment_outcome, name="segment_outcome"),
    path("segments/<str:key>/delete/", segments.segment_delete, name="segment_delete"),
    # What people removed and may restore (planning/removal_views.py).
    path("removed/", removal_views.removed, name="removed"),
    path("removed/<int:pk>/restore/", removal_views.removal_restore, name="removal_restore"),
    path("account/", account.account, name="account"),
    # Two-factor sign-in (core/two_factor.py): the step after the password, and setting it up.
    path("accounts/code/", two_factor_views.two_factor_code, name="two_factor_code"),
    path("account/two-factor/", two_factor_views.two_factor_page, name="two_factor"),
    path(
        "account/two-factor/confirm/",
        two_factor_views.two_factor_confirm,
        name="two_factor_confirm",
    ),
    path(
        "account/two-factor/recovery-codes/",
        two_factor_views.two_factor_recovery_codes,
        name="two_factor_recovery_codes",
    ),
    path("account/two-factor/off/", two_factor_views.two_factor_off, name="two_factor_off"),
    path("import/", imports.upload, name="import"),
    path("import/confirm/", imports.confirm, name="import_confirm"),
    path("import/template.xlsx", imports.template_xlsx, name="import_template_xlsx"),
    path("import/template-<str:kind>.csv", imports.template_csv, name="import_template_csv"),
    # Calendar feeds: the secret in the URL stands in for a sign-in (planning/feeds.py).
    path("calendar/", feeds.calendar_page, name="calendar"),
    path("calendar/reset/", feeds.calendar_reset, name="calendar_reset"),
    path("calendar/off/", feeds.calendar_turn_off, name="calendar_off"),
    path("calendar/feed/<str:secret>/mine.ics", feeds.person_feed, name="calendar_person"),
    path(
        "calendar/feed/<str:secret>/squads/<str:key>.ics",
        feeds.squad_feed,
        name="calendar_squad",
    ),
    # Outgoing webhooks and chat channels (webhooks/, docs/webhooks.md).
    path("settings/webhooks/", include("webhooks.urls")),
    # Operations (README, "Operating Throughline"): probes and Prometheus metrics.
    path("health/", health.health, name="health"),
    path("ready/", health.ready, name="ready"),
    path("metrics", metrics.metrics, name="metrics"),
    path("admin/", admin.site.urls),
    path("", include("api.urls")),
]

# A request body past DATA_UPLOAD_MAX_MEMORY_SIZE is 413 with a plain page, not a bare 400.
handler400 = "throughline.security.bad_request"
