from django.urls import path

from journeys import views

app_name = "journeys"

urlpatterns = [
    path("", views.journey_list, name="list"),
    path("<str:key>/", views.journey_detail, name="detail"),
]
