from django.contrib import admin
from django.urls import include, path

from . import health, views, webhooks

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("accounts/signup/", views.signup, name="signup"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("admin/", admin.site.urls),
    path("projects/new/", views.project_create, name="project_create"),
    path("projects/<int:project_id>/", views.project_detail, name="project"),
    path("projects/<int:project_id>/generate/", views.generate, name="generate"),
    path("projects/<int:project_id>/generate/fields/", views.generate_fields, name="generate_fields"),
    path("projects/<int:project_id>/cards/", views.cards_poll, name="cards_poll"),
    path("generations/<int:generation_id>/", views.generation_card, name="generation_card"),
    path("generations/<int:generation_id>/cancel/", views.generation_cancel, name="generation_cancel"),
    path("generations/<int:generation_id>/retry/", views.generation_retry, name="generation_retry"),
    path("generations/<int:generation_id>/resubmit/", views.generation_resubmit, name="generation_resubmit"),
    path("tracks/<int:track_id>/audio/", views.track_audio, name="track_audio"),
    path("hooks/<slug:provider>/<int:generation_id>/<str:token>/", webhooks.provider_callback, name="provider_callback"),
]
