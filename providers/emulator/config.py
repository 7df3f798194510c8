"""The emulator's knobs, their defaults, and the checks that keep a typo from passing silently."""

from __future__ import annotations

from typing import Any

from providers.registry import PROVIDERS

# How a provider taken down answers every request (admin.py): 503, 429, or held past the client's
# timeout after doing the work (so the client cannot tell whether its job was taken).
OUTAGE_MODES = ("unavailable", "rate_limited", "held")

DEFAULTS: dict[str, Any] = {
    # None accepts any non-empty key; a string accepts only that key.
    "api_key": None,
    # A job is QUEUED for queued_seconds, PROCESSING until job_seconds, then terminal.
    "queued_seconds": 1.0,
    "job_seconds": 3.0,
    "music_seconds": 6.0,
    # Webhooks. The real gateways accept only https; tests and the local demo need http on loopback.
    "allow_http_webhooks": False,
    "sync_interval": 1.0,
    "duplicate_callbacks": False,
    "webhook_timeout": 5.0,
    "webhook_retries": 2,
    "webhook_retry_delay": 0.5,
    # Never post callbacks off this machine: the emulator must not reach the internet.
    "webhook_loopback_only": True,
    # Providers taken down: {provider key: one of OUTAGE_MODES}; "held" answers wait this long.
    "outages": {},
    "outage_hold_seconds": 5.0,
    # Provider-specific knobs, one block per provider module.
    # --- aimlapi ---
    # Answer a submit the way older docs show ({"generation_id"}) instead of {"id", "status"}.
    "aimlapi_legacy_submit_answer": False,
    # --- elevenlabs ---
    "elevenlabs_seconds": 0.3,  # how long one synchronous generation holds the connection
    "elevenlabs_concurrency": 2,  # generations one key may run at once (0: no limit)
    # --- apiframe ---
    # Sign Apiframe webhooks with the wrong key, to test that receivers refuse them.
    "apiframe_bad_signature": False,
    # Answer every Apiframe submission 503, as the API does during a queue or database outage.
    "apiframe_unavailable": False,
    # --- runware ---
    # Random faults (faults.py): each rate is a probability per eligible request, 0 to 1.
    "fault_seed": 0,
    "fault_429_rate": 0.0,
    "fault_500_rate": 0.0,
    "fault_timeout_rate": 0.0,  # the answer is held for fault_timeout_seconds (the job is created)
    "fault_timeout_seconds": 5.0,
    "fault_malformed_rate": 0.0,  # the answer is cut short and not JSON (the job is created)
    "fault_expired_media_rate": 0.0,  # a media URL answers 403 "Request has expired"
    "fault_truncated_media_rate": 0.0,  # a media file ends halfway through its Content-Length
    "fault_duplicate_callback_rate": 0.0,  # the terminal callback is sent twice
    "fault_out_of_order_callback_rate": 0.0,  # a stale progress callback follows the terminal one
}


class ConfigError(ValueError):
    pass


def validated(changes: dict[str, Any]) -> dict[str, Any]:
    """Return `changes` with numbers normalised, or raise ConfigError naming the bad key."""
    clean = {}
    for key, value in changes.items():
        if key not in DEFAULTS:
            raise ConfigError(f"unknown emulator setting {key!r}; known: {', '.join(sorted(DEFAULTS))}")
        clean[key] = _checked(key, value, DEFAULTS[key])
    return clean


def _checked(key: str, value: Any, default: Any) -> Any:
    if key == "api_key":
        if value is not None and not isinstance(value, str):
            raise ConfigError("api_key must be a string or null")
        return value
    if key == "outages":
        return _checked_outages(value)
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise ConfigError(f"{key} must be true or false")
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise ConfigError(f"{key} must be a non-negative number")
    if key.endswith("_rate") and value > 1:
        raise ConfigError(f"{key} is a probability: between 0 and 1")
    return type(default)(value)


def _checked_outages(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        raise ConfigError("outages must be an object of provider: mode")
    for provider, mode in value.items():
        if provider not in PROVIDERS:
            raise ConfigError(f"outages: unknown provider {provider!r}; known: {', '.join(PROVIDERS)}")
        if mode not in OUTAGE_MODES:
            raise ConfigError(f"outages: {provider} must be one of {', '.join(OUTAGE_MODES)}")
    return dict(value)
