"""Share links: managed by editors, opened by anyone holding a live one."""

from django.urls import path

from studio.sharing import views

urlpatterns = [
    path("projects/<id:project_id>/shares/", views.project_shares, name="project_shares"),
    path("shares/<id:link_id>/revoke/", views.share_revoke, name="share_revoke"),
    path("s/<str:token>/", views.share_page, name="share"),
    path("s/<str:token>/tracks/<id:track_id>/audio/", views.share_audio, name="share_audio"),
    path("s/<str:token>/tracks/<id:track_id>/played/", views.share_played, name="share_played"),
    path("s/<str:token>/tracks.zip", views.share_zip, name="share_zip"),
]
