from django.urls import path

from planning import removal_views
from planning.plan import comments as plan_comments
from planning.plan import live
from planning.plan import views as plan
from squads import coverage, goals, views

# The squad's plan shows several apps at once, so its views are in the top layer
# (planning/plan/); its addresses stay under the squad's.
app_name = "squads"

urlpatterns = [
    path("", views.squad_list, name="list"),
    path("new/", views.squad_create, name="create"),
    path("<str:key>/", views.squad_detail, name="detail"),
    path("<str:key>/remove/", removal_views.squad_remove, name="remove"),
    path("<str:key>/members/add/", views.member_add, name="member_add"),
    path("<str:key>/members/<str:username>/remove/", views.member_remove, name="member_remove"),
    path("<str:key>/dri/", views.dri_handover, name="dri_handover"),
    path("<str:key>/stages/", coverage.squad_stages, name="stages"),
    path("<str:key>/okr/", views.okr_objective, name="okr"),
    path("<str:key>/okr/edit/", views.okr_edit, name="okr_edit"),
    path("<str:key>/key-results/new/", views.key_result_create, name="kr_create"),
    path("<str:key>/key-results/<str:kr_key>/", views.key_result_detail, name="kr_detail"),
    path("<str:key>/key-results/<str:kr_key>/edit/", views.key_result_edit, name="kr_edit"),
    path("<str:key>/key-results/<str:kr_key>/check-ins/", views.check_in, name="check_in"),
    path(
        "<str:key>/key-results/<str:kr_key>/remove/",
        removal_views.key_result_remove,
        name="kr_remove",
    ),
    path("<str:key>/plan/", plan.plan, name="plan"),
    path("<str:key>/plan/approval/", plan.plan_approval, name="plan_approval"),
    path("<str:key>/plan/section/<str:section>/", plan.plan_section, name="plan_section"),
    path(
        "<str:key>/plan/section/<str:section>/edit/",
        plan.plan_section_edit,
        name="plan_section_edit",
    ),
    path(
        "<str:key>/plan/section/<str:section>/comments/",
        live.section_comments,
        name="section_comments",
    ),
    path("<str:key>/plan/live/", live.plan_live, name="plan_live"),
    path("<str:key>/plan/presence/", live.plan_presence, name="plan_presence"),
    path("<str:key>/plan/history/", live.plan_history, name="plan_history"),
    path("<str:key>/plan/history/restore/", live.plan_restore, name="plan_restore"),
    path("<str:key>/plan/similar-work/", plan.similar_work, name="similar_work"),
    path("<str:key>/plan/initiatives/", plan.initiative_list, name="initiatives"),
    path("<str:key>/plan/initiatives/new/", plan.initiative_create, name="initiative_create"),
    path("<str:key>/plan/initiative-order/", plan.initiative_order, name="initiative_order"),
    path(
        "<str:key>/plan/initiatives/<str:ikey>/move/",
        plan.initiative_move,
        name="initiative_move",
    ),
    path(
        "<str:key>/plan/initiatives/<str:ikey>/",
        plan.initiative_detail,
        name="initiative",
    ),
    path(
        "<str:key>/plan/initiatives/<str:ikey>/edit/",
        plan.initiative_edit,
        name="initiative_edit",
    ),
    path(
        "<str:key>/plan/initiatives/<str:ikey>/comments/",
        live.initiative_comments,
        name="initiative_comments",
    ),
    path(
        "<str:key>/plan/initiatives/<str:ikey>/remove/",
        removal_views.initiative_remove,
        name="initiative_remove",
    ),
    path(
        "<str:key>/plan/comments/<int:comment>/edit/",
        plan_comments.comment_edit,
        name="comment_edit",
    ),
    path(
        "<str:key>/plan/comments/<int:comment>/history/",
        plan_comments.comment_history,
        name="comment_history",
    ),
    path(
        "<str:key>/plan/comments/<int:comment>/resolve/",
        plan_comments.comment_resolve,
        name="comment_resolve",
    ),
    path(
        "<str:key>/plan/comments/<int:comment>/remove/",
        removal_views.comment_remove,
        name="comment_remove",
    ),
]

# The company's goals, at /goals/ (throughline/urls.py): the alignment of the cycle's
# objectives with them, each goal's page, leadership's editor and the removal's confirmation.
goal_urlpatterns = [
    path("", goals.goal_list, name="list"),
    path("new/", goals.goal_create, name="create"),
    path("<str:key>/", goals.goal_detail, name="detail"),
    path("<str:key>/edit/", goals.goal_edit, name="edit"),
    path("<str:key>/move/", goals.goal_move, name="move"),
    path("<str:key>/remove/", removal_views.goal_remove, name="remove"),
]
