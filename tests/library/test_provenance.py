"""Each track's provenance: on its page, as a JSON download, and in every ZIP's manifest."""

import csv
import io
import json
import zipfile
from decimal import Decimal

from django.test import Client
from django.utils import timezone

from studio.library import provenance
from studio.models import GatewayAttempt, Generation, Role, ShareLink, Transition

from tests.library.fixtures import add_member, make_track

S = Generation.State


def body(response) -> bytes:
    return b"".join(response.streaming_content)


def routed_track(project, user):
    gen = Generation.objects.create(
        project=project, created_by=user, model_key="eleven-music-any", state=S.SUCCEEDED,
        params={"prompt": "Bright synthwave", "length_seconds": 30, "output_format": "mp3_192"},
        gateway="runware", gateway_reason="next", gateways_passed=[{"gateway": "pixazo", "why": "unavailable"}],
        external_id="task-1", cost=Decimal("0.0421"), cost_unit="USD", finished_at=timezone.now(),
    )  # fmt: skip
    for from_state, to_state in (("", "queued"), ("queued", "submitting"), ("submitting", "running")):
        Transition.objects.create(generation=gen, from_state=from_state, to_state=to_state, reason="…")
    sent = {"positivePrompt": "Bright synthwave", "duration": 30, "outputFormat": "MP3"}
    GatewayAttempt.objects.create(generation=gen, gateway="pixazo", model_key="pixazo-eleven-music", outcome="refused")
    GatewayAttempt.objects.create(generation=gen, gateway="runware", model_key="runware-eleven-music", outcome="accepted", params=sent)
    track = make_track(project, user, title="Drive", generation=gen)
    track.sha256 = "5e" * 32
    track.save()
    return track


def test_a_record_says_what_was_asked_where_it_went_and_why(project, alice):
    track = routed_track(project, alice)
    (record,) = provenance.records([track])
    assert record["prompt"] == "Bright synthwave"
    assert record["model"] == {"key": "eleven-music-any", "label": "Eleven Music (any gateway)"}
    assert record["gateway"] == {
        "key": "runware", "label": "Runware", "routed": "Pixazo was unavailable; sent to Runware",
        "catalog_model": "runware-eleven-music", "provider_model": "elevenlabs:1@1", "provider_job_id": "task-1",
    }  # fmt: skip
    assert record["parameters_sent"] == {"positivePrompt": "Bright synthwave", "duration": 30, "outputFormat": "MP3"}
    assert record["parameters_recorded_when_sent"] is True
    assert record["started_by"] == "alice"
    assert [s["to"] for s in record["states"]] == ["queued", "submitting", "running"]
    assert record["cost"] == {"amount": "0.042100", "unit": "USD"}
    assert record["file"]["sha256"] == "5e" * 32 and record["file"]["format"] == "wav"


def test_without_a_kept_record_the_parameters_are_rebuilt_as_the_pipeline_sends_them(project, alice):
    track = make_track(project, alice)  # a Pixazo job from before submissions were kept
    (record,) = provenance.records([track])
    assert record["parameters_sent"] == {"prompt": "Rainy city night, lo-fi"}
    assert record["parameters_recorded_when_sent"] is False
    assert record["cost"] is None and record["gateway"]["key"] == "pixazo"


def test_records_cost_the_same_few_queries_for_one_track_or_thirty(project, alice, django_assert_num_queries):
    tracks = [make_track(project, alice, title=f"t{n}") for n in range(30)]
    for count in (1, 30):
        with django_assert_num_queries(3):
            assert len(provenance.records(tracks[:count])) == count


def test_the_track_page_shows_it_and_offers_it_as_json(alice_client, project, alice):
    track = routed_track(project, alice)
    page = alice_client.get(f"/tracks/{track.pk}/").content.decode()
    assert "Provenance" in page and "Pixazo was unavailable; sent to Runware" in page
    assert "5e" * 32 in page and "0.042100 USD" in page and "elevenlabs:1@1" in page
    response = alice_client.get(f"/tracks/{track.pk}/provenance.json")
    assert response["Content-Type"] == "application/json"
    assert response["Content-Disposition"] == 'attachment; filename="Drive-provenance.json"'
    assert json.loads(response.content)["gateway"]["provider_job_id"] == "task-1"


def test_the_json_is_for_members_only(client, project, alice, bob):
    track = routed_track(project, alice)
    client.force_login(bob)
    assert client.get(f"/tracks/{track.pk}/provenance.json").status_code == 404
    add_member(project, bob, Role.VIEWER)
    assert client.get(f"/tracks/{track.pk}/provenance.json").status_code == 200


def test_a_bulk_zip_carries_one_manifest_row_per_file_and_the_audio_as_it_was(alice_client, project, alice):
    first = routed_track(project, alice)
    second = make_track(project, alice, title="Drive", data=b"RIFF-other")
    response = alice_client.post(f"/projects/{project.pk}/tracks/bulk/", {"action": "zip", "tracks": [first.pk, second.pk]})
    archive = zipfile.ZipFile(io.BytesIO(body(response)))
    names = [n for n in archive.namelist() if not n.startswith("manifest")]
    assert sorted(names) == ["Drive-2.wav", "Drive.wav"]
    manifest = json.loads(archive.read("manifest.json"))
    assert sorted(item["file"]["name"] for item in manifest) == sorted(names)
    rows = list(csv.DictReader(io.StringIO(archive.read("manifest.csv").decode())))
    assert len(rows) == 2 and set(rows[0]) == set(provenance.CSV_COLUMNS)
    by_file = {row["file"]: row for row in rows}
    for item in manifest:
        assert archive.read(item["file"]["name"]) == (first if item["track_id"] == first.pk else second).file.open("rb").read()
        assert by_file[item["file"]["name"]]["sha256"] == item["file"]["sha256"]
    routed = next(row for row in rows if row["track_id"] == str(first.pk))
    assert (routed["gateway"], routed["cost"], routed["cost_unit"], routed["started_by"]) == ("runware", "0.042100", "USD", "alice")
    assert json.loads(routed["parameters_sent"])["outputFormat"] == "MP3"


def test_a_share_links_zip_carries_the_manifest_without_the_members_name(project, alice):
    routed_track(project, alice)
    link = ShareLink.objects.create(project=project, created_by=alice, allow_download=True)
    archive = zipfile.ZipFile(io.BytesIO(body(Client().get(f"/s/{link.token}/tracks.zip"))))
    (item,) = json.loads(archive.read("manifest.json"))
    assert "started_by" not in item and item["gateway"]["key"] == "runware"
    (row,) = csv.DictReader(io.StringIO(archive.read("manifest.csv").decode()))
    assert row["started_by"] == ""


def test_the_library_finds_routed_tracks_by_kind_and_by_model(alice_client, project, alice):
    routed_track(project, alice)
    for query in ({"kind": "music"}, {"with_model": "eleven-music-any"}):
        page = alice_client.get("/search/", query).content.decode()
        assert "Drive" in page, query
