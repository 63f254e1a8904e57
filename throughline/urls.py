from django.contrib import admin
from django.urls import include, path

from planning import account, feeds, finding_views, imports, removal_views, views
from throughline import security

admin.site.site_header = "Throughline administration"
admin.site.site_title = "Throughline"
admin.site.index_title = "Planning data"

urlpatterns = [
    path("", views.home, name="home"),
    path("cycle/", views.cycle_select, name="cycle_select"),
    path("cycles/<str:key>/settings/", views.cycle_settings, name="cycle_settings"),
    # Django's reset-confirm view, which also ends a sign-in lockout (throughline/security.py).
    path(
        "accounts/reset/<uidb64>/<token>/",
        security.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path("accounts/", include("django.contrib.auth.urls")),
    path("journeys/", include("journeys.urls")),
    path("squads/", include("squads.urls")),
    path("board/", include("dependencies.urls")),
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
    # What people removed and may restore (planning/removal_views.py).
    path("removed/", removal_views.removed, name="removed"),
    path("removed/<int:pk>/restore/", removal_views.removal_restore, name="removal_restore"),
    path("account/", account.account, name="account"),
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
    path("admin/", admin.site.urls),
    path("", include("api.urls")),
]

# A request body past DATA_UPLOAD_MAX_MEMORY_SIZE is 413 with a plain page, not a bare 400.
handler400 = "throughline.security.bad_request"
