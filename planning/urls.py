from django.contrib import admin
from django.urls import include, path

from planning import views

admin.site.site_header = "Throughline administration"
admin.site.site_title = "Throughline"
admin.site.index_title = "Planning data"

urlpatterns = [
    path("", views.home, name="home"),
    path("cycle/", views.cycle_select, name="cycle_select"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("journeys/", include("journeys.urls")),
    path("squads/", include("squads.urls")),
    path("board/", include("dependencies.urls")),
    path("findings/", views.findings, name="findings"),
    path("findings/run/", views.findings_run, name="findings_run"),
    path("findings/status/", views.findings_status, name="findings_status"),
    path("findings/<int:pk>/", views.finding_detail, name="finding"),
    path("findings/<int:pk>/dismiss/", views.finding_dismiss_form, name="finding_dismiss"),
    path("findings/<int:pk>/<str:action>/", views.finding_act, name="finding_act"),
    path("notifications/", views.notifications, name="notifications"),
    path("admin/", admin.site.urls),
]
