"""Audio storage: local disk by default, an S3-compatible store (a local moto server here) when
configured. Upload, Range download through the same access checks, presigned redirects, and
the stored file deleted with its track."""

import hashlib

import httpx
from django.core.files.storage import default_storage

from studio.audio.store import store_stream
from studio.catalog import BY_KEY
from studio.jobs.services import start_generation
from studio.models import Generation, Track
from studio.ops.checks import check_storage

from tests.conftest import closed_port, wait_for

MUSIC = BY_KEY["pixazo-eleven-music"]
# A WAV header and a body whose bytes say where they are, so a wrong range shows.
AUDIO = b"RIFF" + bytes(4) + b"WAVE" + bytes(range(256)) * 40


def stored_track(project, alice, data=AUDIO) -> Track:
    gen = Generation.objects.create(project=project, created_by=alice, model_key=MUSIC.key, state=Generation.State.SUCCEEDED)
    stored = store_stream(iter([data]), project_id=project.pk)
    return Track.objects.create(
        generation=gen, project=project, title="Ocean", file=stored.name, content_type=stored.content_type,
        extension=stored.extension, size=stored.size, sha256=stored.sha256,
    )


def object_keys(bucket) -> list[str]:
    listing = bucket.client.list_objects_v2(Bucket=bucket.name)
    return [item["Key"] for item in listing.get("Contents", [])]


# --- S3 ---------------------------------------------------------------------------


def test_a_generation_finished_by_a_worker_lands_in_the_bucket(s3_bucket, project, alice, alice_client, emulator, worker):
    gen = start_generation(project=project, user=alice, model=MUSIC, params={"prompt": "Rain on a tin roof"})
    wait_for(lambda: Generation.objects.get(pk=gen.pk).state in Generation.TERMINAL_STATES)

    gen.refresh_from_db()
    assert gen.state == Generation.State.SUCCEEDED, gen.error
    track = gen.tracks.get()
    assert object_keys(s3_bucket) == [track.file.name]
    body = s3_bucket.client.get_object(Bucket=s3_bucket.name, Key=track.file.name)["Body"].read()
    assert hashlib.sha256(body).hexdigest() == track.sha256 == emulator.emulator.media_sha256(gen.external_id)
    assert track.duration_seconds and track.duration_seconds > 0.5  # read before the upload

    response = alice_client.get(f"/tracks/{track.pk}/audio/")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == body


def test_range_requests_read_only_the_asked_bytes_from_the_bucket(s3_bucket, project, alice, alice_client):
    track = stored_track(project, alice)
    response = alice_client.get(f"/tracks/{track.pk}/audio/", HTTP_RANGE="bytes=1000-1099")
    assert response.status_code == 206
    assert response["Content-Range"] == f"bytes 1000-1099/{len(AUDIO)}"
    assert b"".join(response.streaming_content) == AUDIO[1000:1100]

    tail = alice_client.get(f"/tracks/{track.pk}/audio/?download=1", HTTP_RANGE="bytes=-16")
    assert tail.status_code == 206
    assert b"".join(tail.streaming_content) == AUDIO[-16:]
    assert tail["Content-Disposition"].startswith("attachment")


def test_only_members_read_audio_from_the_bucket(s3_bucket, project, alice, bob, client):
    track = stored_track(project, alice)
    client.force_login(bob)
    assert client.get(f"/tracks/{track.pk}/audio/").status_code == 404


def test_an_object_missing_from_the_bucket_answers_404(s3_bucket, project, alice, alice_client):
    track = stored_track(project, alice)
    s3_bucket.client.delete_object(Bucket=s3_bucket.name, Key=track.file.name)
    assert alice_client.get(f"/tracks/{track.pk}/audio/").status_code == 404


def test_redirect_mode_hands_members_a_short_lived_link_that_serves_ranges(s3_bucket, settings, project, alice, bob, alice_client, client):
    settings.AUDIO_DOWNLOADS = "redirect"
    track = stored_track(project, alice)

    response = alice_client.get(f"/tracks/{track.pk}/audio/?download=1")
    assert response.status_code == 302
    link = response["Location"]
    assert link.startswith(s3_bucket.endpoint) and "X-Amz-Expires=300" in link and "X-Amz-Signature=" in link
    fetched = httpx.get(link, headers={"Range": "bytes=8-15"})
    assert fetched.status_code == 206
    assert fetched.content == AUDIO[8:16]
    assert fetched.headers["Content-Disposition"] == "attachment; filename=\"ocean.wav\"; filename*=UTF-8''Ocean.wav"
    assert fetched.headers["Content-Type"] == "audio/wav"

    client.force_login(bob)
    refused = client.get(f"/tracks/{track.pk}/audio/")
    assert refused.status_code == 404 and "Location" not in refused


def test_deleting_a_track_deletes_its_object(s3_bucket, project, alice, django_capture_on_commit_callbacks):
    keep, gone = stored_track(project, alice), stored_track(project, alice)
    with django_capture_on_commit_callbacks(execute=True):
        gone.delete()
    assert object_keys(s3_bucket) == [keep.file.name]


def test_deleting_a_project_deletes_every_object_of_its_tracks(s3_bucket, project, alice, django_capture_on_commit_callbacks):
    stored_track(project, alice), stored_track(project, alice)
    assert len(object_keys(s3_bucket)) == 2
    with django_capture_on_commit_callbacks(execute=True):
        project.delete()
    assert object_keys(s3_bucket) == []


def test_nothing_is_deleted_when_the_deletion_rolls_back(s3_bucket, project, alice, django_capture_on_commit_callbacks):
    track = stored_track(project, alice)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        track.delete()
    assert object_keys(s3_bucket) == [track.file.name]  # nothing runs before the commit
    assert len(callbacks) == 1


def test_the_startup_check_passes_when_the_bucket_answers(s3_bucket):
    assert check_storage(None) == []


def test_the_startup_check_reports_an_unreachable_store(s3_bucket, settings):
    from botocore.config import Config

    settings.AWS_S3_ENDPOINT_URL = f"http://127.0.0.1:{closed_port()}"
    settings.AWS_S3_CLIENT_CONFIG = Config(connect_timeout=1, retries={"max_attempts": 1})
    settings.STORAGES = {**settings.STORAGES}  # a fresh storage object with the new endpoint
    messages = check_storage(None)
    assert [m.id for m in messages] == ["studio.W003"]
    assert s3_bucket.name in messages[0].msg


def test_the_startup_check_reports_a_missing_bucket(s3_bucket, settings):
    settings.AWS_STORAGE_BUCKET_NAME = "no-such-bucket"
    settings.STORAGES = {**settings.STORAGES}
    assert [m.id for m in check_storage(None)] == ["studio.W003"]


# --- Local disk (the default) -----------------------------------------------------


def test_local_disk_is_the_default_and_streams_ranges(project, alice, alice_client, settings):
    track = stored_track(project, alice)
    assert (settings.MEDIA_ROOT / track.file.name).read_bytes() == AUDIO
    response = alice_client.get(f"/tracks/{track.pk}/audio/", HTTP_RANGE="bytes=12-19")
    assert response.status_code == 206
    assert b"".join(response.streaming_content) == AUDIO[12:20]


def test_redirect_mode_still_streams_from_local_disk(project, alice, alice_client, settings):
    settings.AUDIO_DOWNLOADS = "redirect"  # nothing to presign: the web process serves it
    track = stored_track(project, alice)
    assert alice_client.get(f"/tracks/{track.pk}/audio/").status_code == 200


def test_deleting_a_track_deletes_its_file_on_disk(project, alice, settings, django_capture_on_commit_callbacks):
    track = stored_track(project, alice)
    path = settings.MEDIA_ROOT / track.file.name
    assert path.exists()
    with django_capture_on_commit_callbacks(execute=True):
        track.generation.delete()
    assert not path.exists()


def test_a_file_that_cannot_be_deleted_does_not_fail_the_deletion(project, alice, monkeypatch, django_capture_on_commit_callbacks):
    track = stored_track(project, alice)

    def refuse(name):
        raise PermissionError(name)

    monkeypatch.setattr(default_storage, "delete", refuse)
    with django_capture_on_commit_callbacks(execute=True):
        track.delete()
    assert not Track.objects.filter(pk=track.pk).exists()


def test_the_startup_check_refuses_an_unknown_download_mode(settings):
    settings.AUDIO_DOWNLOADS = "presigned"
    assert [m.id for m in check_storage(None)] == ["studio.E001"]
