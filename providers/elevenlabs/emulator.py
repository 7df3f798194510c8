"""ElevenLabs direct (specs/001): text to speech, sound effects and the voice list.

Mounted at /elevenlabs. Both generation endpoints are synchronous like the real API: the
connection is held for `elevenlabs_seconds` and the answer is the audio itself, in the
container the `output_format` query asks for (MP3, raw 16-bit PCM, raw μ-law/A-law, Ogg
Opus). Each key may hold `elevenlabs_concurrency` generations at once; one more answers
429 `concurrent_limit_exceeded`, as the real plans' concurrency limits do.

Opus cannot be encoded here, so Opus formats answer a valid Ogg Opus stream of the right
length whose packets are all empty frames, which decoders play as silence.

Markers in `text`: [emulate:400|401|402|403|429|500] force that error; [emulate:failed] and
[emulate:error] (a synchronous API has no failed jobs) answer 500; [emulate:slow] holds the
connection five times longer.
"""

from __future__ import annotations

import re
import struct
import threading
import time
from typing import TYPE_CHECKING
from urllib.parse import unquote

from providers.emulator.audio import Audio, parse_output_format, render
from providers.emulator.jobs import uuid7
from providers.emulator.markers import Markers, UnknownMarker, read_markers
from providers.emulator.wsgi import BadJSON, Request, Response, json_response

if TYPE_CHECKING:
    from providers.emulator.app import Emulator

AUTH_HEADER = "xi-api-key"
FORBIDDEN_KEY = "forbidden"  # a key the emulator always answers 403 for

OUTPUT_FORMATS = frozenset(
    "mp3_22050_32 mp3_24000_48 mp3_44100_32 mp3_44100_64 mp3_44100_96 mp3_44100_128 mp3_44100_192 "
    "pcm_8000 pcm_16000 pcm_22050 pcm_24000 pcm_32000 pcm_44100 pcm_48000 ulaw_8000 alaw_8000 "
    "opus_48000_32 opus_48000_64 opus_48000_96 opus_48000_128 opus_48000_192".split()
)
DEFAULT_OUTPUT_FORMAT = "mp3_44100_128"
CONTENT_TYPES = {
    "mp3": "audio/mpeg",
    "pcm": "audio/pcm",
    "ulaw": "audio/basic",
    "alaw": "audio/x-alaw-basic",
    "opus": "audio/ogg",
}

# Characters per request, by model (ElevenLabs help centre); the default model is the spec's.
SPEECH_MODELS = {
    "eleven_v3": 5000,
    "eleven_multilingual_v2": 10000,
    "eleven_flash_v2_5": 40000,
    "eleven_turbo_v2_5": 40000,
    "eleven_flash_v2": 30000,
    "eleven_turbo_v2": 30000,
    "eleven_monolingual_v1": 10000,
    "eleven_multilingual_v1": 10000,
}
DEFAULT_SPEECH_MODEL = "eleven_monolingual_v1"
LANGUAGE_MODELS = ("eleven_turbo_v2_5", "eleven_flash_v2_5")  # the only ones that take language_code
NO_FORCED_NORMALIZATION = ("eleven_turbo_v2_5", "eleven_flash_v2_5")  # apply_text_normalization cannot be "on"
V3_STABILITY = (0.0, 0.5, 1.0)  # Creative, Natural, Robust
SOUND_MODELS = ("eleven_text_to_sound_v2",)
MAX_SEED = 4294967295
MAX_REQUEST_IDS = 3

SPEECH_CHARS_PER_SECOND = 15
SLOW_FACTOR_CAP = 10.0

VOICES = (
    {"voice_id": "JBFqnCBsd6RMkjVDRZzb", "name": "George", "category": "premade",
     "labels": {"accent": "british", "gender": "male", "age": "middle_aged", "use_case": "narration"}},
    {"voice_id": "21m00Tcm4TlvDq8ikWAM", "name": "Rachel", "category": "premade",
     "labels": {"accent": "american", "gender": "female", "age": "young", "use_case": "narration"}},
    {"voice_id": "EXAVITQu4vr4xnSDxMaL", "name": "Sarah", "category": "premade",
     "labels": {"accent": "american", "gender": "female", "age": "young", "use_case": "news"}},
    {"voice_id": "pNInz6obpgDQGcFmaJgB", "name": "Adam", "category": "premade",
     "labels": {"accent": "american", "gender": "male", "age": "middle_aged", "use_case": "narration"}},
    {"voice_id": "onwK4e9ZLuTAKqWW03F9", "name": "Daniel", "category": "premade",
     "labels": {"accent": "british", "gender": "male", "age": "middle_aged", "use_case": "news"}},
    {"voice_id": "Emu1ator0Clone0Voice1", "name": "Studio narrator", "category": "cloned",
     "labels": {"accent": "american", "gender": "female", "age": "middle_aged", "use_case": "audiobook"}},
)  # fmt: skip
VOICE_IDS = frozenset(v["voice_id"] for v in VOICES)

SPEECH_PATH = re.compile(r"^/v1/text-to-speech/(?P<voice_id>[^/]+)$")
PREVIEW_PATH = re.compile(r"^/media/voice-previews/(?P<voice_id>[^/]+)\.mp3$")


class Refused(Exception):
    """An answer other than audio: carries the response the real API would give."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status)
        self.response = response


# --- error documents -----------------------------------------------------------------


def detail_error(
    status: int, type_: str, code: str, message: str, *, param: str | None = None, headers=None
) -> Response:
    """The current error shape: `detail` with type, code, message, legacy status, request id, param."""
    detail = {
        "type": type_,
        "code": code,
        "message": message,
        "status": code,
        "request_id": uuid7().hex,
        "param": param,
    }
    return json_response(status, {"detail": detail}, headers)


def validation_error(*problems: tuple[tuple, str, str]) -> Response:
    """FastAPI's 422: one {type, loc, msg} per bad field."""
    return json_response(
        422, {"detail": [{"type": kind, "loc": list(loc), "msg": msg} for loc, kind, msg in problems]}
    )


def invalid(loc: tuple, kind: str, msg: str) -> Refused:
    return Refused(validation_error((loc, kind, msg)))


def bad_parameter(param: str, message: str, code: str = "invalid_parameters") -> Refused:
    return Refused(detail_error(400, "validation_error", code, message, param=param))


def forced_error(status: int, text: str) -> Response:
    if status == 400:
        return detail_error(
            400,
            "validation_error",
            "max_character_limit_exceeded",
            f"This request's text has {len(text)} characters and exceeds the character limit for this model.",
            param="text",
        )
    if status == 401:
        return detail_error(401, "authentication_error", "invalid_api_key", "Invalid API key")
    if status == 402:
        return detail_error(
            402,
            "payment_required",
            "quota_exceeded",
            f"This request exceeds your quota of 10000. You have 0 credits remaining, while {len(text)} "
            "credits are required for this request.",
        )
    if status == 403:
        return _forbidden()
    if status == 429:
        return detail_error(
            429,
            "rate_limit_error",
            "rate_limit_exceeded",
            "You have exceeded the rate limit for this endpoint. Please slow down your requests.",
            headers=[("Retry-After", "1")],
        )
    return _server_error()


def _server_error() -> Response:
    return detail_error(500, "internal_error", "internal_server_error", "An internal server error occurred.")


def _forbidden() -> Response:
    return detail_error(
        403,
        "authorization_error",
        "missing_permissions",
        "The API key you used is missing the permission required to execute this operation.",
    )


# --- request validation ----------------------------------------------------------------


def _number(body: dict, name: str, low: float, high: float, loc: tuple = ("body",)) -> float | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise invalid((*loc, name), "float_parsing", "Input should be a valid number")
    if value < low:
        raise invalid((*loc, name), "greater_than_equal", f"Input should be greater than or equal to {low}")
    if value > high:
        raise invalid((*loc, name), "less_than_equal", f"Input should be less than or equal to {high}")
    return float(value)


def _boolean(body: dict, name: str, loc: tuple = ("body",)) -> bool | None:
    value = body.get(name)
    if value is not None and not isinstance(value, bool):
        raise invalid((*loc, name), "bool_type", "Input should be a valid boolean")
    return value


def _string(body: dict, name: str) -> str | None:
    value = body.get(name)
    if value is not None and not isinstance(value, str):
        raise invalid(("body", name), "string_type", "Input should be a valid string")
    return value


def _required_text(body: dict) -> str:
    if "text" not in body:
        raise invalid(("body", "text"), "missing", "Field required")
    text = _string(body, "text")
    if not text or not text.strip():
        raise invalid(("body", "text"), "string_too_short", "String should have at least 1 character")
    return text


def _output_format(query: dict) -> str:
    value = query.get("output_format", DEFAULT_OUTPUT_FORMAT)
    if value not in OUTPUT_FORMATS:
        raise invalid(
            ("query", "output_format"),
            "enum",
            f"Input should be {', '.join(repr(f) for f in sorted(OUTPUT_FORMATS))}",
        )
    return value


def _id_list(body: dict, name: str) -> list[str]:
    value = body.get(name)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise invalid(("body", name), "list_type", "Input should be a valid list of strings")
    if len(value) > MAX_REQUEST_IDS:
        raise bad_parameter(name, f"A maximum of {MAX_REQUEST_IDS} request_ids can be sent in {name}.")
    return value


def _dictionary_locators(body: dict) -> None:
    value = body.get("pronunciation_dictionary_locators")
    if value is None:
        return
    if not isinstance(value, list):
        raise invalid(("body", "pronunciation_dictionary_locators"), "list_type", "Input should be a valid list")
    if len(value) > 3:
        raise bad_parameter("pronunciation_dictionary_locators", "You may have up to 3 locators per request.")
    for index, locator in enumerate(value):
        loc = ("body", "pronunciation_dictionary_locators", index)
        if not isinstance(locator, dict) or not isinstance(locator.get("pronunciation_dictionary_id"), str):
            raise invalid((*loc, "pronunciation_dictionary_id"), "missing", "Field required")
        if locator.get("version_id") is not None and not isinstance(locator["version_id"], str):
            raise invalid((*loc, "version_id"), "string_type", "Input should be a valid string")


def _query_flag(query: dict, name: str) -> None:
    if name in query and query[name].lower() not in ("true", "false", "1", "0"):
        raise invalid(("query", name), "bool_parsing", "Input should be a valid boolean, unable to interpret input")


def validate_speech(body: dict, query: dict) -> dict:
    text = _required_text(body)
    model_id = _string(body, "model_id") or DEFAULT_SPEECH_MODEL
    if model_id not in SPEECH_MODELS:
        raise bad_parameter(
            "model_id", f"A model with model ID {model_id} does not exist. Use GET /v1/models to list models.",
            code="model_not_found",
        )
    limit = SPEECH_MODELS[model_id]
    if len(text) > limit:
        raise bad_parameter(
            "text",
            f"This request's text has {len(text)} characters and exceeds the character limit of {limit} "
            f"characters for {model_id}.",
            code="max_character_limit_exceeded",
        )
    language_code = _string(body, "language_code")
    if language_code is not None and model_id not in LANGUAGE_MODELS:
        raise bad_parameter(
            "language_code", f"Model '{model_id}' does not support language enforcement with language_code."
        )
    settings = body.get("voice_settings")
    speed = 1.0
    if settings is not None:
        if not isinstance(settings, dict):
            raise invalid(("body", "voice_settings"), "model_type", "Input should be a valid dictionary")
        loc = ("body", "voice_settings")
        stability = _number(settings, "stability", 0.0, 1.0, loc)
        for name in ("similarity_boost", "style"):
            _number(settings, name, 0.0, 1.0, loc)
        speed = _number(settings, "speed", 0.7, 1.2, loc) or 1.0
        _boolean(settings, "use_speaker_boost", loc)
        if model_id == "eleven_v3" and stability is not None and stability not in V3_STABILITY:
            raise bad_parameter(
                "voice_settings.stability",
                "For eleven_v3, stability must be one of 0.0 (Creative), 0.5 (Natural) or 1.0 (Robust).",
            )
    seed = body.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED):
        raise invalid(("body", "seed"), "int_type", f"Input should be an integer between 0 and {MAX_SEED}")
    for name in ("previous_text", "next_text"):
        _string(body, name)
    for name in ("previous_request_ids", "next_request_ids"):
        _id_list(body, name)
    _dictionary_locators(body)
    for name in ("use_pvc_as_ivc", "apply_language_text_normalization"):
        _boolean(body, name)
    normalization = body.get("apply_text_normalization")
    if normalization is not None and normalization not in ("auto", "on", "off"):
        raise invalid(("body", "apply_text_normalization"), "enum", "Input should be 'auto', 'on' or 'off'")
    if normalization == "on" and model_id in NO_FORCED_NORMALIZATION:
        raise bad_parameter("apply_text_normalization", f"Text normalization cannot be turned on for {model_id}.")
    _query_flag(query, "enable_logging")
    latency = query.get("optimize_streaming_latency")
    if latency is not None and latency not in ("0", "1", "2", "3", "4"):
        raise invalid(("query", "optimize_streaming_latency"), "int_parsing", "Input should be an integer from 0 to 4")
    seconds = len(text) / SPEECH_CHARS_PER_SECOND / speed
    return {"text": text, "model_id": model_id, "seed": seed, "seconds": min(10.0, max(1.0, seconds))}


def validate_sound(body: dict, query: dict) -> dict:
    text = _required_text(body)
    duration = _number(body, "duration_seconds", 0.5, 22.0)
    _number(body, "prompt_influence", 0.0, 1.0)
    _boolean(body, "loop")
    model_id = _string(body, "model_id")
    if model_id is not None and model_id not in SOUND_MODELS:
        raise bad_parameter(
            "model_id", f"A model with model ID {model_id} does not exist or cannot make sound effects.",
            code="model_not_found",
        )
    # Without a duration the API guesses one from the prompt.
    seconds = duration if duration is not None else min(5.0, max(1.0, len(text.split()) * 0.4))
    return {"text": text, "model_id": model_id or SOUND_MODELS[0], "seed": None, "seconds": seconds}


# --- audio ----------------------------------------------------------------------------


def encode(seed: str, seconds: float, output_format: str, style: str) -> Audio:
    """The audio in exactly the bytes the real API sends for `output_format` (no WAV wrapper for raw formats)."""
    fmt = parse_output_format(output_format)
    if fmt.codec == "opus":
        return Audio(ogg_opus_silence(seconds), CONTENT_TYPES["opus"], "ogg")
    audio = render(seed, seconds, fmt.codec, fmt.sample_rate, fmt.bitrate_kbps, channels=1, style=style)
    if fmt.codec in ("ulaw", "alaw"):  # render wraps G.711 in WAV; the API sends the bare samples
        return Audio(wav_payload(audio.data), CONTENT_TYPES[fmt.codec], fmt.codec)
    return Audio(audio.data, CONTENT_TYPES[fmt.codec], audio.extension)


def wav_payload(wav: bytes) -> bytes:
    """The samples of a RIFF/WAVE file: the body of its `data` chunk."""
    position = 12
    while position + 8 <= len(wav):
        chunk_id, size = wav[position : position + 4], struct.unpack("<I", wav[position + 4 : position + 8])[0]
        if chunk_id == b"data":
            return wav[position + 8 : position + 8 + size]
        position += 8 + size + (size & 1)
    raise ValueError("no data chunk")


OPUS_PRE_SKIP = 312
OPUS_FRAME_SAMPLES = 960  # 20 ms at 48 kHz
OPUS_EMPTY_FRAME = bytes([31 << 3])  # TOC: CELT fullband 20 ms, mono, one frame, and no frame data
OPUS_FRAMES_PER_PAGE = 50


def ogg_opus_silence(seconds: float, serial: int = 0x454C4142) -> bytes:
    """A valid Ogg Opus stream (RFC 7845) of `seconds` whose frames are all empty: silence."""
    head = b"OpusHead" + struct.pack("<BBHIhB", 1, 1, OPUS_PRE_SKIP, 48000, 0, 0)
    vendor = b"audio-studio-emulator"
    tags = b"OpusTags" + struct.pack("<I", len(vendor)) + vendor + struct.pack("<I", 0)
    pages = [_ogg_page([head], 0, serial, 0, 0x02), _ogg_page([tags], 0, serial, 1, 0)]
    frames = max(1, round(seconds * 48000 / OPUS_FRAME_SAMPLES))
    sequence, written = 2, 0
    while written < frames:
        count = min(OPUS_FRAMES_PER_PAGE, frames - written)
        written += count
        last = written == frames
        granule = OPUS_PRE_SKIP + written * OPUS_FRAME_SAMPLES
        pages.append(_ogg_page([OPUS_EMPTY_FRAME] * count, granule, serial, sequence, 0x04 if last else 0))
        sequence += 1
    return b"".join(pages)


def _ogg_page(packets: list[bytes], granule: int, serial: int, sequence: int, flags: int) -> bytes:
    lacing = bytearray()
    for packet in packets:
        lacing += b"\xff" * (len(packet) // 255) + bytes([len(packet) % 255])
    header = b"OggS" + struct.pack("<BBqIII", 0, flags, granule, serial, sequence, 0) + bytes([len(lacing)]) + lacing
    page = header + b"".join(packets)
    return page[:22] + struct.pack("<I", _ogg_crc(page)) + page[26:]


def _ogg_crc(data: bytes) -> int:
    crc = 0
    table = _ogg_crc_table()
    for byte in data:
        crc = ((crc << 8) & 0xFFFFFFFF) ^ table[((crc >> 24) & 0xFF) ^ byte]
    return crc


_CRC_TABLE: list[int] = []


def _ogg_crc_table() -> list[int]:
    if not _CRC_TABLE:
        for index in range(256):
            value = index << 24
            for _ in range(8):
                value = ((value << 1) ^ 0x04C11DB7) if value & 0x80000000 else value << 1
            _CRC_TABLE.append(value & 0xFFFFFFFF)
    return _CRC_TABLE


# --- the API --------------------------------------------------------------------------


class ElevenLabsAPI:
    def __init__(self, emulator: Emulator, name: str) -> None:
        self.emulator = emulator
        self.name = name  # its key in providers/registry.py: where it is mounted, whose jobs are its own
        self._lock = threading.Lock()
        self._running: dict[str, int] = {}  # generations in flight, per API key

    def handle(self, request: Request) -> Response:
        if request.method == "POST" and (match := SPEECH_PATH.match(request.path)):
            return self.generate(request, "speech", unquote(match["voice_id"]))
        if request.method == "POST" and request.path == "/v1/sound-generation":
            return self.generate(request, "sfx", None)
        if request.method == "GET" and request.path == "/v1/voices":
            return self.voices(request)
        if request.method in ("GET", "HEAD") and (match := PREVIEW_PATH.match(request.path)):
            return self.preview(match["voice_id"])
        return json_response(404, {"detail": "Not Found"})

    def generate(self, request: Request, kind: str, voice_id: str | None) -> Response:
        try:
            key = self._checked_key(request)
            body, markers = self._body_and_markers(request)
            params = validate_speech(body, request.query) if kind == "speech" else validate_sound(body, request.query)
            output_format = _output_format(request.query)
            if voice_id is not None and voice_id not in VOICE_IDS:
                raise Refused(
                    detail_error(
                        404, "not_found", "voice_not_found",
                        f"A voice with the voice_id {voice_id} was not found.", param="voice_id",
                    )
                )
        except Refused as refusal:
            return self._rejected(refusal.response)
        if not self._claim_slot(key):
            return self._rejected(
                detail_error(
                    429,
                    "rate_limit_error",
                    "concurrent_limit_exceeded",
                    "Too many concurrent requests. Your plan allows "
                    f"{self.emulator.settings()['elevenlabs_concurrency']} at a time; wait for one to finish.",
                )
            )
        try:
            return self._render(kind, voice_id, params, output_format, markers)
        finally:
            self._release_slot(key)

    def voices(self, request: Request) -> Response:
        try:
            self._checked_key(request)
        except Refused as refusal:
            return refusal.response
        voices = [
            {**voice, "preview_url": f"{request.mount_url}/media/voice-previews/{voice['voice_id']}.mp3"}
            for voice in VOICES
        ]
        return json_response(200, {"voices": voices})

    def preview(self, voice_id: str) -> Response:
        if voice_id not in VOICE_IDS:
            return json_response(404, {"detail": "Not Found"})
        audio = render(f"preview\n{voice_id}", 1.5, "mp3", 22050, 32, style="speech")
        return Response(200, audio.data, audio.content_type)  # like a CDN: no key needed

    # --- helpers ---

    def _render(self, kind: str, voice_id: str | None, params: dict, output_format: str, markers: Markers) -> Response:
        settings = self.emulator.settings()
        time.sleep(settings["elevenlabs_seconds"] * min(markers.time_factor, SLOW_FACTOR_CAP))
        if markers.outcome != "completed":  # a synchronous API cannot fail later: it fails now
            return self._rejected(_server_error())
        request_id = uuid7().hex
        seed = "\n".join(str(part) for part in (voice_id or "sfx", params["model_id"], params["seed"], params["text"]))
        audio = encode(seed, params["seconds"], output_format, "speech" if kind == "speech" else "music")
        self.emulator.counters.count("submissions", request_id)
        self.emulator.counters.count("renders", params["text"])  # what was paid for, by what was asked
        headers = [
            ("request-id", request_id),
            ("history-item-id", uuid7().hex[:20]),
            ("character-cost", str(len(params["text"]))),
        ]
        return Response(200, audio.data, audio.content_type, headers)

    def _checked_key(self, request: Request) -> str:
        key = (request.header(AUTH_HEADER) or "").strip()
        if not key:
            raise Refused(
                detail_error(401, "authentication_error", "missing_api_key", "An xi-api-key header is required.")
            )
        if key == FORBIDDEN_KEY:
            raise Refused(_forbidden())
        expected = self.emulator.settings()["api_key"]
        if expected is not None and key != expected:
            raise Refused(detail_error(401, "authentication_error", "invalid_api_key", "Invalid API key"))
        return key

    def _body_and_markers(self, request: Request) -> tuple[dict, Markers]:
        try:
            body = request.json()
        except BadJSON:
            raise invalid(("body", 0), "json_invalid", "JSON decode error") from None
        if not isinstance(body, dict):
            raise invalid(("body",), "model_attributes_type", "Input should be a valid dictionary or object")
        try:
            markers = read_markers(body.get("text"))
        except UnknownMarker as exc:
            raise bad_parameter("text", str(exc)) from None
        if markers.status_code:
            raise Refused(forced_error(markers.status_code, str(body.get("text"))))
        return body, markers

    def _claim_slot(self, key: str) -> bool:
        limit = self.emulator.settings()["elevenlabs_concurrency"]
        with self._lock:
            running = self._running.get(key, 0)
            if limit and running >= limit:
                return False
            self._running[key] = running + 1
            return True

    def _release_slot(self, key: str) -> None:
        with self._lock:
            self._running[key] -= 1
            if not self._running[key]:
                del self._running[key]

    def _rejected(self, response: Response) -> Response:
        self.emulator.counters.count("rejected_submissions", response.status)
        return response


API = ElevenLabsAPI
