from django.urls import path

from dependencies import views

app_name = "board"

urlpatterns = [
    path("", views.board, name="board"),
    path("graph/", views.graph, name="graph"),
]
