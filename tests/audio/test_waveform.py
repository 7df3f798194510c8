"""Waveforms: every format the providers send decodes, the peaks follow the audio, the worker
stores them with the track, and tracks stored before get theirs (a command, or their first view)."""

from __future__ import annotations

import base64
import io

import pytest
import respx
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.test import Client

from providers.elevenlabs.emulator import ogg_opus_silence
from providers.emulator.audio import render
from providers.emulator.encoders import flac_bytes, vorbis_bytes
from studio.audio.store import wav_header
from studio.audio.waveform import BUCKETS, compute_peaks, encoded, stored_peaks
from studio.jobs import pipeline, transitions
from studio.models import Generation, Track
from tests.conftest import PIXAZO_TEST_URL
from tests.library.fixtures import make_track

S = Generation.State


def pcm(seconds=2.0, rate=16000):
    return render("waveform", seconds, "pcm", rate).data


FORMATS = {
    "wav": lambda: render("waveform", 2.0, "wav", 44100).data,
    "wav stereo 48 kHz": lambda: render("waveform", 2.0, "wav", 48000, channels=2).data,
    "mp3": lambda: render("waveform", 2.0, "mp3", 44100, channels=2).data,
    "pcm as wav": lambda: wav_header(data_size=len(pcm()), sample_rate=16000) + pcm(),
    "μ-law": lambda: render("waveform", 2.0, "ulaw", 8000).data,
    "a-law": lambda: render("waveform", 2.0, "alaw", 8000).data,
    "flac": lambda: flac_bytes(pcm(), 16000, 1),
    "ogg vorbis": lambda: vorbis_bytes(pcm(), 16000, 1),
    "ogg opus": lambda: ogg_opus_silence(2.0),
}


@pytest.mark.parametrize("name", FORMATS)
def test_every_format_the_providers_send_gives_a_waveform(name):
    peaks = compute_peaks(io.BytesIO(FORMATS[name]()))
    assert 0 < len(peaks) <= 2 * BUCKETS and len(peaks) % 2 == 0
    lows, highs = peaks[0::2], peaks[1::2]
    assert all(-127 <= low <= high <= 127 for low, high in zip(lows, highs, strict=True))
    if name != "ogg opus":  # the emulator's Opus is silence
        assert max(highs) > 10 and min(lows) < -10


def test_peaks_follow_where_the_sound_is():
    silence, tone = bytes(2 * 16000), pcm(1.0)
    data = silence + tone  # one second of silence, then one of music
    peaks = compute_peaks(io.BytesIO(wav_header(data_size=len(data), sample_rate=16000) + data), buckets=20)
    highs = peaks[1::2]
    assert max(highs[:9]) == 0 and max(highs[11:]) > 10


def test_undecodable_audio_has_an_empty_waveform_and_a_missing_file_too(project):
    name = default_storage.save(f"tracks/{project.pk}/x.mp3", ContentFile(b"not audio at all" * 100))
    assert stored_peaks(name) == []
    assert stored_peaks(f"tracks/{project.pk}/gone.wav") == []


def test_encoded_peaks_are_base64_signed_bytes_of_the_asked_width():
    peaks = [-100, 100, -50, 50, -10, 10, -1, 1]
    values = base64.b64decode(encoded(peaks, width=2))
    assert [int.from_bytes(bytes([b]), "big", signed=True) for b in values] == [-100, 100, -10, 10]
    assert encoded([], width=10) == "" and encoded(None, width=10) == ""


@respx.mock
def test_the_worker_stores_the_waveform_with_the_track_and_the_library_changes(project, alice):
    gen = Generation.objects.create(project=project, created_by=alice, model_key="pixazo-eleven-music", params={"prompt": "p"})
    transitions.move(gen.pk, S.SUBMITTING)
    transitions.move(gen.pk, S.RUNNING, external_id="m_1")
    respx.get(f"{PIXAZO_TEST_URL}/v2/requests/status/m_1").respond(
        200, json={"request_id": "m_1", "status": "COMPLETED", "output": {"media_url": [f"{PIXAZO_TEST_URL}/media/a.mp3"]}}
    )
    audio = render("stored", 1.0, "mp3", 44100).data
    respx.get(f"{PIXAZO_TEST_URL}/media/a.mp3").respond(200, content=audio, headers={"Content-Type": "audio/mpeg"})
    version = project.library_version

    pipeline.poll(gen.pk, 0)

    track = Track.objects.get(generation=gen)
    assert track.peaks == compute_peaks(io.BytesIO(audio))  # the whole file, and nothing past its end
    project.refresh_from_db()
    assert project.library_version == version + 1


def test_the_command_computes_the_waveforms_of_tracks_stored_before(project, alice, capsys):
    wav = render("old", 1.0, "wav", 16000).data
    old = make_track(project, alice, title="Old", data=wav)
    broken = make_track(project, alice, title="Broken", data=b"RIFF-but-not-really" * 10)
    done = make_track(project, alice, title="Done", data=wav)
    Track.objects.filter(pk=done.pk).update(peaks=[1, 2])

    call_command("waveforms")

    old.refresh_from_db(), broken.refresh_from_db(), done.refresh_from_db()
    assert len(old.peaks) > 0 and broken.peaks == [] and done.peaks == [1, 2]
    assert "2 waveform(s) computed, 1 of them from audio that could not be decoded." in capsys.readouterr().out


def test_a_track_without_a_waveform_gets_one_on_its_first_view(alice_client, project, alice):
    track = make_track(project, alice, data=render("first view", 1.0, "wav", 16000).data)
    assert track.peaks is None
    page = alice_client.get(f"/tracks/{track.pk}/").content.decode()
    track.refresh_from_db()
    assert track.peaks and f'data-peaks="{encoded(track.peaks, width=480)}"' in page


def test_a_list_asks_once_for_the_waveforms_it_lacks_and_only_members_get_them(alice_client, project, alice, bob):
    tracks = [make_track(project, alice, title=f"t{i}", data=render(f"t{i}", 0.5, "wav", 16000).data) for i in range(3)]
    page = alice_client.get(f"/projects/{project.pk}/").content.decode()
    assert all(f'data-peaks-missing="{t.pk}"' in page for t in tracks)
    ids = [t.pk for t in tracks]
    stranger = Client()
    stranger.force_login(bob)
    assert stranger.get("/tracks/waveforms/", {"ids": ids}).json() == {}  # not a member: nothing
    found = alice_client.get("/tracks/waveforms/", {"ids": ids, "width": "40"}).json()
    assert set(found) == {str(t.pk) for t in tracks} and all(len(base64.b64decode(v)) == 80 for v in found.values())
    assert all(Track.objects.get(pk=t.pk).peaks for t in tracks)
