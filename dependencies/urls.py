from django.urls import path

from dependencies import views
from planning import removal_views

app_name = "board"

urlpatterns = [
    path("", views.board, name="board"),
    path("graph/", views.graph, name="graph"),
    path("export.csv", views.export_csv, name="export_csv"),
    path("export.xlsx", views.export_xlsx, name="export_xlsx"),
    path("new/", views.create, name="create"),
    path("<str:key>/edit/", views.edit, name="edit"),
    path("<str:key>/respond/", views.respond, name="respond"),
    path("<str:key>/decline/", views.decline, name="decline"),
    path("<str:key>/at-risk/", views.at_risk, name="at_risk"),
    path("<str:key>/accept/", views.accept, name="accept"),
    path("<str:key>/row/", views.row, name="row"),
    path("<str:key>/remove/", removal_views.dependency_remove, name="remove"),
]
