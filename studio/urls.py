from django.contrib import admin
from django.urls import include, path

from . import health, views, views_invitations, views_library, views_sharing, webhooks

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
    # The library: projects, members, tracks, search.
    path("search/", views_library.search, name="search"),
    path("projects/<int:project_id>/tracks/", views_library.project_tracks, name="project_tracks"),
    path("projects/<int:project_id>/tracks/bulk/", views_library.tracks_bulk, name="tracks_bulk"),
    path("projects/<int:project_id>/settings/", views_library.project_settings, name="project_settings"),
    path("projects/<int:project_id>/archive/", views_library.project_archive, name="project_archive"),
    path("projects/<int:project_id>/delete/", views_library.project_delete, name="project_delete"),
    path("projects/<int:project_id>/members/", views_library.member_add, name="member_add"),
    path("projects/<int:project_id>/members/<int:membership_id>/role/", views_library.member_role, name="member_role"),
    path("projects/<int:project_id>/members/<int:membership_id>/remove/", views_library.member_remove, name="member_remove"),
    # Invitations by e-mail: managed by the owner, accepted by whoever holds a live link.
    path("projects/<int:project_id>/invitations/<int:invitation_id>/resend/", views_invitations.invitation_resend, name="invitation_resend"),
    path("projects/<int:project_id>/invitations/<int:invitation_id>/revoke/", views_invitations.invitation_revoke, name="invitation_revoke"),
    path("invitations/<str:token>/", views_invitations.invitation, name="invitation"),
    path("tracks/<int:track_id>/", views_library.track_detail, name="track_detail"),
    path("tracks/<int:track_id>/title/", views_library.track_rename, name="track_rename"),
    path("tracks/<int:track_id>/favorite/", views_library.track_favorite, name="track_favorite"),
    path("tracks/<int:track_id>/tags/", views_library.track_tags, name="track_tags"),
    path("tracks/<int:track_id>/move/", views_library.track_move, name="track_move"),
    path("tracks/<int:track_id>/delete/", views_library.track_delete, name="track_delete"),
    # Share links: managed by editors, opened by anyone holding a live one.
    path("projects/<int:project_id>/shares/", views_sharing.project_shares, name="project_shares"),
    path("shares/<int:link_id>/revoke/", views_sharing.share_revoke, name="share_revoke"),
    path("s/<str:token>/", views_sharing.share_page, name="share"),
    path("s/<str:token>/tracks/<int:track_id>/audio/", views_sharing.share_audio, name="share_audio"),
    path("s/<str:token>/tracks.zip", views_sharing.share_zip, name="share_zip"),
    path("hooks/<slug:provider>/<int:generation_id>/<str:token>/", webhooks.provider_callback, name="provider_callback"),
]
