"""The emulator speaks ElevenLabs direct as specs/001 describes it, over real HTTP on loopback.

Both endpoints are synchronous: the answer is the audio, so there is no lifecycle to poll
and no webhook. The adapter is exercised against it end to end at the bottom.
"""

from __future__ import annotations

import io
import struct
import threading
import time
import wave

import httpx
import mutagen
import pytest

from providers.base import AuthFailed, InvalidRequest, OutOfCredit, ProviderDown, RateLimited
from providers.elevenlabs import ElevenLabs
from providers.emulator import Emulator
from providers.emulator.audio import render
from providers.emulator.config import ConfigError
from providers.elevenlabs.emulator import VOICES, ogg_opus_silence, wav_payload

from ...conftest import wait_for

MOUNT = "/elevenlabs"
VOICE_ID = "JBFqnCBsd6RMkjVDRZzb"
SPEECH = f"{MOUNT}/v1/text-to-speech/{VOICE_ID}"
SFX = f"{MOUNT}/v1/sound-generation"
AUTH_HEADERS = KEY = {"xi-api-key": "test-key"}
FAST = {"elevenlabs_seconds": 0.02}
CLIENT_TIMEOUT = 10


def speak(client, text="Hello there, welcome to the studio.", voice_id=VOICE_ID, headers=None, params=None, **fields):
    return client.post(
        f"{MOUNT}/v1/text-to-speech/{voice_id}", json={"text": text, **fields}, params=params or {}, headers=headers or {}
    )


def sound(client, text="Thunder rolling over hills", params=None, headers=None, **fields):
    return client.post(SFX, json={"text": text, **fields}, params=params or {}, headers=headers or {})


def is_mp3(data: bytes) -> bool:
    return data[:3] == b"ID3" or (data[0] == 0xFF and data[1] & 0xE0 == 0xE0)


# --- audio in the requested container -----------------------------------------------------


def test_speech_answers_mp3_by_default_with_request_headers(client, emulator):
    response = speak(client)

    assert response.status_code == 200
    assert response.headers["content-type"] == "audio/mpeg"
    assert is_mp3(response.content)
    request_id = response.headers["request-id"]
    assert request_id and response.headers["history-item-id"]
    assert response.headers["character-cost"] == str(len("Hello there, welcome to the studio."))
    assert emulator.stats()["submissions"] == {"total": 1, "by_request_id": {request_id: 1}}


def test_mp3_format_sets_the_sample_rate(client):
    response = speak(client, params={"output_format": "mp3_22050_32"})

    with io.BytesIO(response.content) as fh:
        info = mutagen.File(fh).info
    assert info.sample_rate == 22050
    assert info.bitrate == 32000


def test_pcm_is_raw_16_bit_mono_at_the_requested_rate(client):
    response = speak(client, text="Hi there.", params={"output_format": "pcm_16000"})

    assert response.headers["content-type"] == "audio/pcm"
    assert response.content[:4] != b"RIFF"
    assert len(response.content) == 16000 * 1 * 2  # 1 s (the shortest take) of 16-bit mono samples


@pytest.mark.parametrize("codec, format_tag", [("ulaw", 7), ("alaw", 6)])
def test_g711_formats_are_bare_samples_without_a_wav_header(client, codec, format_tag):
    response = speak(client, text="Hi there.", params={"output_format": f"{codec}_8000"})

    assert response.content[:4] != b"RIFF"
    assert len(response.content) == 8000  # one byte per sample, 1 s
    wrapped = render("x", 1, codec, 8000)
    assert int.from_bytes(wrapped.data[20:22], "little") == format_tag
    assert len(wav_payload(wrapped.data)) == 8000


def test_opus_is_a_valid_ogg_opus_stream_of_the_asked_length(client):
    response = sound(client, duration_seconds=2.5, params={"output_format": "opus_48000_64"})

    assert response.headers["content-type"] == "audio/ogg"
    assert response.content[:4] == b"OggS"
    with io.BytesIO(response.content) as fh:
        audio = mutagen.File(fh)
    assert type(audio).__name__ == "OggOpus"
    assert audio.info.length == pytest.approx(2.5, abs=0.02)


def test_ogg_pages_carry_correct_checksums():
    data = ogg_opus_silence(1.0)
    page = data[: 27 + data[26] + sum(data[27 : 27 + data[26]])]
    stored = struct.unpack("<I", page[22:26])[0]
    # Recompute independently with the Ogg polynomial, bit by bit.
    crc = 0
    for byte in page[:22] + b"\0\0\0\0" + page[26:]:
        crc ^= byte << 24
        for _ in range(8):
            crc = ((crc << 1) ^ 0x04C11DB7) & 0xFFFFFFFF if crc & 0x80000000 else (crc << 1) & 0xFFFFFFFF
    assert stored == crc


def test_sound_effect_lasts_the_requested_duration(client):
    response = sound(client, duration_seconds=3, params={"output_format": "pcm_24000"})

    assert response.status_code == 200
    assert len(response.content) == 3 * 24000 * 2


def test_sound_effect_without_duration_gets_a_guessed_length(client):
    response = sound(client, text="door slam", params={"output_format": "pcm_8000"})

    seconds = len(response.content) / 2 / 8000
    assert 0.5 <= seconds <= 22


def test_longer_text_makes_longer_speech_and_speed_shortens_it(client):
    lengths = []
    for text, speed in (("Hi.", 1.0), ("A sentence that is noticeably longer than the first. " * 2, 1.0),
                        ("A sentence that is noticeably longer than the first. " * 2, 1.2)):
        response = speak(client, text=text, voice_settings={"speed": speed}, params={"output_format": "pcm_8000"})
        lengths.append(len(response.content) / 2 / 8000)
    assert lengths[0] == 1.0
    assert lengths[1] > lengths[2] > lengths[0]


def test_same_request_gives_the_same_audio_and_another_voice_differs(client):
    first = speak(client, seed=7).content
    again = speak(client, seed=7).content
    other_voice = speak(client, seed=7, voice_id="21m00Tcm4TlvDq8ikWAM").content

    assert first == again
    assert first != other_voice


# --- voices -----------------------------------------------------------------------------------


def test_voices_lists_id_name_category_labels_and_a_playable_preview(client):
    response = client.get(f"{MOUNT}/v1/voices")

    assert response.status_code == 200
    voices = response.json()["voices"]
    assert len(voices) == len(VOICES)
    assert {"voice_id", "name", "category", "labels", "preview_url"} <= set(voices[0])
    assert {v["category"] for v in voices} >= {"premade", "cloned"}
    preview = httpx.get(voices[0]["preview_url"])  # no key, like their CDN
    assert preview.status_code == 200 and is_mp3(preview.content)


def test_every_listed_voice_can_speak(client):
    for voice in client.get(f"{MOUNT}/v1/voices").json()["voices"]:
        assert speak(client, text="Hi.", voice_id=voice["voice_id"]).status_code == 200


def test_unknown_voice_is_404_voice_not_found(client, emulator):
    response = speak(client, voice_id="NoSuchVoice")

    assert response.status_code == 404
    detail = response.json()["detail"]
    assert detail["code"] == detail["status"] == "voice_not_found"
    assert set(detail) == {"type", "code", "message", "status", "request_id", "param"}
    assert emulator.stats()["submissions"]["total"] == 0


# --- auth ------------------------------------------------------------------------------------


@pytest.mark.parametrize("headers", [{}, {"xi-api-key": ""}])
def test_missing_key_is_401(running, headers):
    for response in (
        httpx.post(running.base_url + SPEECH, json={"text": "x"}, headers=headers),
        httpx.post(running.base_url + SFX, json={"text": "x"}, headers=headers),
        httpx.get(running.base_url + f"{MOUNT}/v1/voices", headers=headers),
    ):
        assert response.status_code == 401
        assert response.json()["detail"]["type"] == "authentication_error"


def test_configured_key_must_match(client, emulator):
    emulator.configure(api_key="right-key")

    wrong = speak(client, headers={"xi-api-key": "wrong"})
    right = speak(client, headers={"xi-api-key": "right-key"})

    assert wrong.status_code == 401 and wrong.json()["detail"]["code"] == "invalid_api_key"
    assert right.status_code == 200


def test_forbidden_key_is_403(client):
    response = sound(client, headers={"xi-api-key": "forbidden"})

    assert response.status_code == 403
    assert response.json()["detail"]["type"] == "authorization_error"


# --- validation ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "send, field",
    [
        (lambda c: c.post(SPEECH, json={}), "text"),
        (lambda c: speak(c, text=""), "text"),
        (lambda c: speak(c, text=42), "text"),
        (lambda c: speak(c, voice_settings={"stability": 1.01}), "stability"),
        (lambda c: speak(c, voice_settings={"similarity_boost": -0.01}), "similarity_boost"),
        (lambda c: speak(c, voice_settings={"style": 2}), "style"),
        (lambda c: speak(c, voice_settings={"speed": 0.69}), "speed"),
        (lambda c: speak(c, voice_settings={"speed": 1.21}), "speed"),
        (lambda c: speak(c, voice_settings={"use_speaker_boost": "yes"}), "use_speaker_boost"),
        (lambda c: speak(c, seed=4294967296), "seed"),
        (lambda c: speak(c, seed=-1), "seed"),
        (lambda c: speak(c, apply_text_normalization="sometimes"), "apply_text_normalization"),
        (lambda c: speak(c, previous_request_ids="req-1"), "previous_request_ids"),
        (lambda c: speak(c, params={"output_format": "flac_44100"}), "output_format"),
        (lambda c: speak(c, params={"optimize_streaming_latency": "5"}), "optimize_streaming_latency"),
        (lambda c: speak(c, params={"enable_logging": "maybe"}), "enable_logging"),
        (lambda c: sound(c, duration_seconds=0.49), "duration_seconds"),
        (lambda c: sound(c, duration_seconds=22.01), "duration_seconds"),
        (lambda c: sound(c, prompt_influence=1.5), "prompt_influence"),
        (lambda c: sound(c, loop="yes"), "loop"),
        (lambda c: c.post(SFX, content=b"text=hello", headers={"Content-Type": "text/plain"}), "body"),
    ],
)
def test_invalid_fields_are_422_naming_the_field(client, emulator, send, field):
    response = send(client)

    assert response.status_code == 422
    problems = response.json()["detail"]
    assert isinstance(problems, list) and {"loc", "msg", "type"} <= set(problems[0])
    assert field in problems[0]["loc"]
    assert emulator.stats()["rejected_submissions"]["by_status"] == {"422": 1}


@pytest.mark.parametrize(
    "send, param, code",
    [
        (lambda c: speak(c, model_id="eleven_v9"), "model_id", "model_not_found"),
        (lambda c: speak(c, text="x" * 5001, model_id="eleven_v3"), "text", "max_character_limit_exceeded"),
        (lambda c: speak(c, language_code="de", model_id="eleven_multilingual_v2"), "language_code", "invalid_parameters"),
        (lambda c: speak(c, apply_text_normalization="on", model_id="eleven_turbo_v2_5"), "apply_text_normalization",
         "invalid_parameters"),
        (lambda c: speak(c, voice_settings={"stability": 0.3}, model_id="eleven_v3"), "voice_settings.stability",
         "invalid_parameters"),
        (lambda c: speak(c, next_request_ids=["a", "b", "c", "d"]), "next_request_ids", "invalid_parameters"),
        (lambda c: sound(c, model_id="eleven_multilingual_v2"), "model_id", "model_not_found"),
    ],
)
def test_rule_breaks_are_400_with_the_current_error_shape(client, send, param, code):
    response = send(client)

    assert response.status_code == 400
    detail = response.json()["detail"]
    assert (detail["type"], detail["code"], detail["param"]) == ("validation_error", code, param)
    assert detail["message"]


def test_values_at_the_edges_are_accepted(client):
    assert speak(client, voice_settings={"stability": 0, "similarity_boost": 1, "style": 1, "speed": 0.7}).status_code == 200
    assert speak(client, voice_settings={"speed": 1.2}, seed=4294967295, model_id="eleven_flash_v2_5",
                 language_code="en", apply_text_normalization="off").status_code == 200
    assert speak(client, text="x" * 5000, model_id="eleven_v3", voice_settings={"stability": 0.5}).status_code == 200
    assert sound(client, duration_seconds=0.5, prompt_influence=0, loop=True,
                 model_id="eleven_text_to_sound_v2").status_code == 200
    assert sound(client, duration_seconds=22, prompt_influence=1).status_code == 200


# --- forced errors -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "code, type_, error_code",
    [
        (400, "validation_error", "max_character_limit_exceeded"),
        (401, "authentication_error", "invalid_api_key"),
        (402, "payment_required", "quota_exceeded"),
        (403, "authorization_error", "missing_permissions"),
        (429, "rate_limit_error", "rate_limit_exceeded"),
        (500, "internal_error", "internal_server_error"),
    ],
)
def test_marker_forces_the_documented_error(client, emulator, code, type_, error_code):
    response = speak(client, text=f"Hello [emulate:{code}]")

    assert response.status_code == code
    detail = response.json()["detail"]
    assert (detail["type"], detail["code"], detail["status"]) == (type_, error_code, error_code)
    assert emulator.stats()["submissions"]["total"] == 0
    assert emulator.stats()["rejected_submissions"]["by_status"] == {str(code): 1}


def test_forced_rate_limit_says_when_to_retry(client):
    assert sound(client, text="boom [emulate:429]").headers["Retry-After"] == "1"


@pytest.mark.parametrize("marker", ["failed", "error"])
def test_failure_markers_fail_the_request_itself(client, emulator, marker):
    response = sound(client, text=f"boom [emulate:{marker}]")

    assert response.status_code == 500
    assert emulator.stats()["submissions"]["total"] == 0


def test_slow_marker_holds_the_connection_longer(client, emulator):
    emulator.configure(elevenlabs_seconds=0.05)

    started = time.monotonic()
    assert speak(client, text="Hi [emulate:slow]").status_code == 200
    elapsed = time.monotonic() - started

    assert elapsed >= 0.25


def test_unknown_marker_is_400(client):
    response = speak(client, text="Hi [emulate:fail]")

    assert response.status_code == 400
    assert "emulate:fail" in response.json()["detail"]["message"]


# --- concurrency -------------------------------------------------------------------------------


def run_at_once(running, count: int, key: str = "test-key") -> list[httpx.Response]:
    responses: list[httpx.Response] = [None] * count  # type: ignore[list-item]
    start = threading.Barrier(count)

    def one(index: int) -> None:
        start.wait()
        responses[index] = httpx.post(
            running.base_url + SPEECH, json={"text": f"Take {index}"}, headers={"xi-api-key": key}, timeout=10
        )

    threads = [threading.Thread(target=one, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return responses


def test_one_request_beyond_the_concurrency_limit_is_429_concurrent_limit_exceeded(running, emulator):
    emulator.configure(elevenlabs_seconds=0.4, elevenlabs_concurrency=2)

    responses = run_at_once(running, 3)

    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200, 200, 429]
    refused = next(r for r in responses if r.status_code == 429)
    assert refused.json()["detail"]["code"] == "concurrent_limit_exceeded"
    assert emulator.stats()["submissions"]["total"] == 2
    # The slots free up once the audio has been sent.
    with httpx.Client(base_url=running.base_url, headers=KEY) as client:
        assert speak(client).status_code == 200


def test_the_concurrency_limit_is_per_key(running, emulator):
    emulator.configure(elevenlabs_seconds=0.3, elevenlabs_concurrency=1)
    results: dict[str, int] = {}

    def one(key: str) -> None:
        results[key] = httpx.post(
            running.base_url + SPEECH, json={"text": "Hi"}, headers={"xi-api-key": key}, timeout=10
        ).status_code

    threads = [threading.Thread(target=one, args=(key,)) for key in ("key-a", "key-b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert results == {"key-a": 200, "key-b": 200}


def test_zero_concurrency_means_no_limit(running, emulator):
    emulator.configure(elevenlabs_seconds=0.2, elevenlabs_concurrency=0)

    assert [r.status_code for r in run_at_once(running, 4)] == [200] * 4


def test_bad_elevenlabs_config_is_refused():
    with pytest.raises(ConfigError):
        Emulator(elevenlabs_seconds=-1)
    with pytest.raises(ConfigError):
        Emulator().configure(elevenlabs_concurrency="two")


# --- the adapter against the emulator ------------------------------------------------------------


@pytest.fixture
def adapter(running, emulator):
    elevenlabs = ElevenLabs(api_key="test-key", base_url=running.url("elevenlabs"))
    yield elevenlabs
    elevenlabs.close()


def test_adapter_streams_speech_as_pcm_that_wraps_into_a_playable_wav(adapter, emulator):
    params = {"voice_id": VOICE_ID, "text": "Hello from the emulator.", "stability": 0.5, "speed": 1.0,
              "output_format": "pcm_22050"}

    with adapter.generate_audio("text-to-speech", params) as audio:
        data = b"".join(audio.chunks)

    assert audio.raw_format == ("pcm", 22050)
    assert audio.external_id in emulator.stats()["submissions"]["by_request_id"]
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(22050)
        wav.writeframes(data)
    with wave.open(io.BytesIO(buffer.getvalue())) as wav:
        assert wav.getnframes() == len(data) // 2 > 22050


def test_adapter_gets_sound_effects_as_mp3(adapter):
    params = {"text": "Glass shattering", "duration_seconds": 1.5, "prompt_influence": 0.5, "loop": False}

    with adapter.generate_audio("sound-generation", params) as audio:
        data = b"".join(audio.chunks)

    assert audio.content_type == "audio/mpeg" and audio.raw_format is None
    assert is_mp3(data)


def test_adapter_lists_the_emulated_voices(adapter):
    voices = adapter.list_voices()

    assert [v.voice_id for v in voices] == [v["voice_id"] for v in VOICES]
    assert voices[0].name == "George" and voices[0].category == "premade"


@pytest.mark.parametrize(
    "text, error",
    [
        ("Hi [emulate:402]", OutOfCredit),
        ("Hi [emulate:401]", AuthFailed),
        ("Hi [emulate:429]", RateLimited),
        ("Hi [emulate:500]", ProviderDown),
        ("Hi [emulate:400]", InvalidRequest),
    ],
)
def test_adapter_maps_the_emulated_errors(adapter, text, error):
    with pytest.raises(error) as caught:
        with adapter.generate_audio("text-to-speech", {"voice_id": VOICE_ID, "text": text}):
            pass

    assert caught.value.provider == "ElevenLabs"


def test_adapter_turns_the_concurrency_limit_into_a_retryable_rate_limit(running, emulator, adapter):
    emulator.configure(elevenlabs_seconds=1.0, elevenlabs_concurrency=1)
    holder = threading.Thread(
        target=lambda: httpx.post(running.base_url + SPEECH, json={"text": "hold"}, headers=KEY, timeout=10)
    )
    holder.start()
    speech = emulator.providers["elevenlabs"]
    wait_for(lambda: speech._running, timeout=5)  # the holder has its slot, however busy the machine

    with pytest.raises(RateLimited) as caught:
        with adapter.generate_audio("text-to-speech", {"voice_id": VOICE_ID, "text": "Hi"}):
            pass
    holder.join()

    assert caught.value.retryable is True
    assert "concurrent" in caught.value.message.lower()


def test_adapter_reports_an_unknown_voice_as_invalid_request(adapter):
    with pytest.raises(InvalidRequest) as caught:
        with adapter.generate_audio("text-to-speech", {"voice_id": "Nobody", "text": "Hi"}):
            pass

    assert caught.value.status_code == 404
    assert "Nobody" in caught.value.user_message
