from django.urls import path

from webhooks import views

app_name = "webhooks"

urlpatterns = [
    path("", views.subscription_list, name="list"),
    path("new/", views.subscription_create, name="create"),
    path("<int:pk>/", views.subscription_edit, name="edit"),
    path("<int:pk>/secret/", views.subscription_rotate, name="rotate"),
    path("<int:pk>/delete/", views.subscription_delete, name="delete"),
    path("<int:pk>/log/", views.subscription_log, name="log"),
    path("<int:pk>/log/<int:delivery>/redeliver/", views.delivery_redeliver, name="redeliver"),
]
