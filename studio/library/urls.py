"""Finding tracks, a track's page and edits, several tracks at once, a track's audio."""

from django.urls import path

from studio.library import views

urlpatterns = [
    path("search/", views.search, name="search"),
    path("projects/<id:project_id>/tracks/", views.project_tracks, name="project_tracks"),
    path("projects/<id:project_id>/tracks/bulk/", views.tracks_bulk, name="tracks_bulk"),
    path("tracks/<id:track_id>/", views.track_detail, name="track_detail"),
    path("tracks/<id:track_id>/audio/", views.track_audio, name="track_audio"),
    path("tracks/<id:track_id>/provenance.json", views.track_provenance, name="track_provenance"),
    path("tracks/<id:track_id>/title/", views.track_rename, name="track_rename"),
    path("tracks/<id:track_id>/favorite/", views.track_favorite, name="track_favorite"),
    path("tracks/<id:track_id>/tags/", views.track_tags, name="track_tags"),
    path("tracks/<id:track_id>/move/", views.track_move, name="track_move"),
    path("tracks/<id:track_id>/copy/", views.track_copy, name="track_copy"),
    path("tracks/waveforms/", views.track_waveforms, name="track_waveforms"),
    path("tracks/<id:track_id>/delete/", views.track_delete, name="track_delete"),
]
