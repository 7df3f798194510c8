"""Compare mode and the set page."""

from django.urls import path

from studio.sets import views

urlpatterns = [
    path("projects/<id:project_id>/compare/", views.set_new, name="set_new"),
    path("projects/<id:project_id>/compare/estimate/", views.set_estimate, name="set_estimate"),
    path("sets/<id:set_id>/", views.set_detail, name="set_detail"),
    path("sets/<id:set_id>/cards/", views.set_cards_poll, name="set_cards_poll"),
    path("sets/<id:set_id>/pick/<id:generation_id>/", views.set_pick, name="set_pick"),
    path("sets/<id:set_id>/retry-failed/", views.set_retry_failed, name="set_retry_failed"),
    path("sets/<id:set_id>/cancel-pending/", views.set_cancel_pending, name="set_cancel_pending"),
    path("sets/<id:set_id>/set.zip", views.set_zip, name="set_zip"),
]
