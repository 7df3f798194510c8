"""The studio's own error pages, in every mode: DEBUG on (the embedded mode `make run` starts)
never shows Django's technical pages, with their URL patterns or code, to anyone."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import path

from studio import urls as studio_urls
from tests.library.fixtures import make_track


def broken_view(request):
    raise RuntimeError("secret detail of a bug")


def forbidden_view(request):
    from django.core.exceptions import PermissionDenied  # only this test module's view raises it

    raise PermissionDenied


urlpatterns = [
    *studio_urls.urlpatterns,
    path("test-broken/", broken_view),
    path("test-forbidden/", forbidden_view),
]
handler403 = studio_urls.handler403
handler404 = studio_urls.handler404
handler500 = studio_urls.handler500


@pytest.fixture(params=[True, False], ids=["debug on", "debug off"])
def debug(request, settings):
    settings.DEBUG = request.param
    settings.ROOT_URLCONF = __name__
    return request.param


def test_a_non_member_opening_a_project_sees_the_studios_404(debug, client, project, bob):
    client.force_login(bob)
    response = client.get(f"/projects/{project.pk}/")
    html = response.content.decode()
    assert response.status_code == 404
    assert "There is nothing here for you" in html and "Back to your projects" in html
    assert "URLconf" not in html and "projects/&lt;id:project_id&gt;" not in html and "Using the URLconf" not in html


def test_a_path_no_page_has_answers_the_studios_404(debug, client, db):
    response = client.get("/no-such-page/at-all/")
    assert response.status_code == 404
    assert "There is nothing here for you" in response.content.decode()


def test_a_missing_track_file_answers_the_studios_404(debug, alice_client, project, alice):
    track = make_track(project, alice)
    from django.core.files.storage import default_storage  # the file goes behind the studio's back

    default_storage.delete(track.file.name)
    response = alice_client.get(f"/tracks/{track.pk}/audio/")
    assert response.status_code == 404 and "There is nothing here for you" in response.content.decode()


def test_an_error_answers_the_studios_500_and_keeps_the_details_in_the_log(debug, db, caplog):
    client = Client(raise_request_exception=False)
    response = client.get("/test-broken/")
    html = response.content.decode()
    assert response.status_code == 500
    assert "Something went wrong on our side" in html and "secret detail" not in html and "Traceback" not in html
    assert any("secret detail of a bug" in str(record.exc_info) for record in caplog.records if record.exc_info)


def test_permission_denied_answers_the_studios_403(debug, client, db):
    response = client.get("/test-forbidden/")
    assert response.status_code == 403 and "You cannot do that here" in response.content.decode()


def test_a_failed_csrf_check_answers_the_studios_page(debug, alice):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    response = client.post("/projects/new/", {"name": "x"})
    html = response.content.decode()
    assert response.status_code == 403
    assert "That form had expired" in html and "Nothing was changed" in html and "CSRF" not in html
