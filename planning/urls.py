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
    path("admin/", admin.site.urls),
]
