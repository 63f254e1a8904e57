from django.urls import path

from squads import views

app_name = "squads"

urlpatterns = [
    path("", views.squad_list, name="list"),
]
