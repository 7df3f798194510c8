"""Projects, members and invitations."""

from django.urls import path

from studio.teams import invitation_views, views

urlpatterns = [
    path("projects/new/", views.project_create, name="project_create"),
    path("projects/<id:project_id>/settings/", views.project_settings, name="project_settings"),
    path("projects/<id:project_id>/archive/", views.project_archive, name="project_archive"),
    path("projects/<id:project_id>/delete/", views.project_delete, name="project_delete"),
    path("projects/<id:project_id>/members/", views.member_add, name="member_add"),
    path("projects/<id:project_id>/members/<id:membership_id>/role/", views.member_role, name="member_role"),
    path("projects/<id:project_id>/members/<id:membership_id>/remove/", views.member_remove, name="member_remove"),
    # Invitations by e-mail: managed by the owner, accepted by whoever holds a live link.
    path("projects/<id:project_id>/invitations/<id:invitation_id>/resend/", invitation_views.invitation_resend, name="invitation_resend"),
    path("projects/<id:project_id>/invitations/<id:invitation_id>/revoke/", invitation_views.invitation_revoke, name="invitation_revoke"),
    path("invitations/<str:token>/", invitation_views.invitation, name="invitation"),
]
