from django.urls import path

from journeys import milestones, views
from planning import removal_views
from squads import coverage

# Which squad covers a stage is the squads app's to write (squads/coverage.py); removing a
# journey or a stage reaches the squads that cover it, so its views are in the top layer
# (planning/removal_views.py). The addresses stay under the journey's and the stage's.

app_name = "journeys"

urlpatterns = [
    path("", views.journey_list, name="list"),
    path("<str:key>/", views.journey_detail, name="detail"),
    path("<str:key>/edit/", views.journey_edit, name="edit"),
    path("<str:key>/remove/", removal_views.journey_remove, name="remove"),
    path("<str:key>/stages/new/", views.stage_new, name="stage_new"),
    path("<str:key>/stages/order/", views.stage_order, name="stage_order"),
    path("<str:key>/stages/<str:stage_key>/edit/", views.stage_edit, name="stage_edit"),
    path("<str:key>/stages/<str:stage_key>/move/", views.stage_move, name="stage_move"),
    path("<str:key>/stages/<str:stage_key>/cover/", coverage.stage_cover, name="stage_cover"),
    path(
        "<str:key>/stages/<str:stage_key>/remove/",
        removal_views.stage_remove,
        name="stage_remove",
    ),
    path("<str:key>/stages/<str:stage_key>/moments/new/", views.moment_new, name="moment_new"),
    path(
        "<str:key>/stages/<str:stage_key>/moments/<int:pk>/edit/",
        views.moment_edit,
        name="moment_edit",
    ),
    path(
        "<str:key>/stages/<str:stage_key>/moments/<int:pk>/delete/",
        views.moment_delete,
        name="moment_delete",
    ),
    path(
        "<str:key>/stages/<str:stage_key>/moments/<int:pk>/touchpoints/new/",
        views.touchpoint_new,
        name="touchpoint_new",
    ),
    path(
        "<str:key>/stages/<str:stage_key>/moments/<int:pk>/touchpoints/<int:touchpoint>/edit/",
        views.touchpoint_edit,
        name="touchpoint_edit",
    ),
    path(
        "<str:key>/stages/<str:stage_key>/moments/<int:pk>/touchpoints/<int:touchpoint>/remove/",
        views.touchpoint_remove,
        name="touchpoint_remove",
    ),
]

# A segment's milestone map, under the segment's address (/segments/<key>/milestones/) and
# in this namespace: throughline/urls.py mounts these beside the journeys' addresses.
segment_urlpatterns = [
    path("<str:key>/milestones/", milestones.milestone_map, name="milestones"),
    path("<str:key>/milestones/new/", milestones.milestone_new, name="milestone_new"),
    path("<str:key>/milestones/upload/", milestones.milestone_upload, name="milestone_upload"),
    path("<str:key>/milestones/feed/", milestones.milestone_feed, name="milestone_feed"),
    path("<str:key>/milestones/order/", milestones.milestone_order, name="milestone_order"),
    path(
        "<str:key>/milestones/<str:milestone>/edit/",
        milestones.milestone_edit,
        name="milestone_edit",
    ),
    path(
        "<str:key>/milestones/<str:milestone>/move/",
        milestones.milestone_move,
        name="milestone_move",
    ),
    path(
        "<str:key>/milestones/<str:milestone>/remove/",
        milestones.milestone_remove,
        name="milestone_remove",
    ),
    path(
        "<str:key>/milestones/<str:milestone>/reading/",
        milestones.milestone_reading,
        name="milestone_reading",
    ),
]
