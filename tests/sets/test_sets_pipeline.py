"""A set on the real path: a worker and the emulator; every cell ends Ready, and its ZIP holds the
audio exactly as the emulator served it, with the manifest."""

import hashlib
import io
import json
import zipfile

from studio.models import Generation, GenerationSet

from tests.conftest import wait_for

S = Generation.State


def test_a_two_by_two_set_ends_ready_and_zips_the_providers_bytes(alice_client, project, emulator, worker):
    response = alice_client.post(
        f"/projects/{project.pk}/compare/",
        {"models": ["pixazo-eleven-music", "eleven-music-any"], "prompts": "Calm piano\nSynthwave", "length_seconds": "15"},
    )
    generation_set = GenerationSet.objects.get()
    assert response["Location"] == f"/sets/{generation_set.pk}/"

    def all_ready():
        return Generation.objects.filter(generation_set=generation_set, state=S.SUCCEEDED).count() == 4

    wait_for(all_ready, timeout=30)
    archive = zipfile.ZipFile(io.BytesIO(b"".join(alice_client.get(f"/sets/{generation_set.pk}/set.zip").streaming_content)))
    manifest = json.loads(archive.read("manifest.json"))
    assert len(manifest) == 4 and len(archive.namelist()) == 6
    for item in manifest:
        data = archive.read(item["file"]["name"])
        served = emulator.emulator.media_sha256(item["gateway"]["provider_job_id"])
        assert hashlib.sha256(data).hexdigest() == item["file"]["sha256"] == served
        assert item["parameters_recorded_when_sent"] is True
