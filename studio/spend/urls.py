"""The usage page and its CSV (per project; every project for staff), the owner's budget and
limits, and what the project page asks for: the cost estimate and the budget notice."""

from django.urls import path

from studio.spend import views

urlpatterns = [
    path("projects/<id:project_id>/usage/", views.project_usage, name="project_usage"),
    path("projects/<id:project_id>/usage.csv", views.project_usage_csv, name="project_usage_csv"),
    path("projects/<id:project_id>/usage/budget/", views.project_budget, name="project_budget"),
    path("projects/<id:project_id>/usage/members/<id:membership_id>/", views.member_limits, name="member_limits"),
    path("projects/<id:project_id>/estimate/", views.estimate, name="spend_estimate"),
    path("projects/<id:project_id>/budget-notice/", views.budget_notice, name="budget_notice"),
    path("usage/", views.all_usage, name="all_usage"),
    path("usage.csv", views.all_usage_csv, name="all_usage_csv"),
]
