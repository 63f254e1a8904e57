from django.contrib import admin
from django.urls import path
from django.views.generic import RedirectView

admin.site.site_header = "Throughline administration"
admin.site.site_title = "Throughline"
admin.site.index_title = "Planning data"

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="admin:index", permanent=False)),
    path("admin/", admin.site.urls),
]
