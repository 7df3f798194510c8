"""The Providers page and a project's order of gateways."""

from django.urls import path

from studio.gateways import views

urlpatterns = [
    path("providers/", views.providers, name="providers"),
    path("projects/<id:project_id>/gateways/", views.gateway_order, name="gateway_order"),
]
