"""The project page, its jobs, and the providers' callbacks."""

from django.urls import path

from studio.jobs import views, webhooks

urlpatterns = [
    path("projects/<id:project_id>/", views.project_detail, name="project"),
    path("projects/<id:project_id>/generate/", views.generate, name="generate"),
    path("projects/<id:project_id>/generate/fields/", views.generate_fields, name="generate_fields"),
    path("projects/<id:project_id>/cards/", views.cards_poll, name="cards_poll"),
    path("projects/<id:project_id>/cards/older/", views.older_cards, name="older_cards"),
    path("generations/<id:generation_id>/", views.generation_card, name="generation_card"),
    path("generations/<id:generation_id>/cancel/", views.generation_cancel, name="generation_cancel"),
    path("generations/<id:generation_id>/retry/", views.generation_retry, name="generation_retry"),
    path("generations/<id:generation_id>/try-next/", views.generation_try_next, name="generation_try_next"),
    path("generations/<id:generation_id>/resubmit/", views.generation_resubmit, name="generation_resubmit"),
    path("generations/<id:generation_id>/dismiss/", views.generation_dismiss, name="generation_dismiss"),
    path("hooks/<slug:provider>/<id:generation_id>/<str:token>/", webhooks.provider_callback, name="provider_callback"),
]
