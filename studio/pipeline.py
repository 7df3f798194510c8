"""A generation's life after the form: submit, wait (poll or callback), copy the audio.

The database is the source of truth and each step is idempotent: the queue only carries
nudges, so a lost or repeated message delays a job but never loses or doubles it.
Actors (actors.py) are thin wrappers around these functions.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from providers.base import JobState, ProviderDown, ProviderError, RateLimited, State

from .audio_store import DownloadFailed, StoredAudio, download, store_stream
from .catalog import BY_KEY, CatalogModel
from .models import Generation, Track
from .limits import provider_slot
from . import poll_timing
from .provider_clients import get_adapter
from .transitions import move, touch

log = logging.getLogger(__name__)
S = Generation.State

MAX_SUBMIT_RETRIES = 6  # outages: about two minutes of backoff
MAX_RATE_LIMITED_RETRIES = 40  # a busy plan is not a failure: keep waiting (up to ~30 min)
MAX_FETCH_ATTEMPTS = 5  # each retry asks the provider for fresh media links first


def _actors():
    from . import actors  # the actors import this module

    return actors


def _model(gen: Generation) -> CatalogModel:
    return BY_KEY[gen.model_key]


def backoff(attempt: int, *, first: float | None = None, cap: float | None = None) -> float:
    first = settings.POLL_FIRST_DELAY if first is None else first
    cap = settings.POLL_MAX_DELAY if cap is None else cap
    return min(first * (1.5**attempt), cap)


def callback_url(gen: Generation) -> str | None:
    base = settings.PUBLIC_BASE_URL
    if not (base.startswith("https://") or is_loopback_http(base)):
        return None  # providers only call https endpoints; poll instead
    return f"{base}/hooks/{_model(gen).provider}/{gen.pk}/{gen.callback_token}/"


def is_loopback_http(base: str) -> bool:
    """http://127.0.0.1:PORT: only the local emulator can call it, and it accepts http."""
    from urllib.parse import urlsplit

    parts = urlsplit(base)
    return parts.scheme == "http" and parts.hostname in ("127.0.0.1", "localhost", "::1")


# --- Submit -----------------------------------------------------------------------


def submit(generation_id: int, attempt: int = 0) -> None:
    gen = Generation.objects.filter(pk=generation_id).first()
    if gen is None:
        return
    model = _model(gen)
    adapter = get_adapter(model.provider)
    if gen.state == S.SUBMITTING and adapter.client_names_job:
        # A worker died mid-submit, but the job's id is ours: sending it again is the same job.
        if not move(gen.pk, S.QUEUED, reason="interrupted while submitting; resending the same job id"):
            return
        gen.state = S.QUEUED
    if gen.state == S.SUBMITTING:
        # Our claim is still there, so a worker died (or crashed) while calling the provider:
        # it may have accepted the job. Resubmitting blindly could pay twice.
        move(
            gen.pk,
            S.NEEDS_ATTENTION,
            reason="interrupted while submitting",
            status_detail=f"Interrupted while sending to {adapter.label}. It may have been accepted: "
            "check before resubmitting.",
        )
        return
    if adapter.synchronous:
        _generate_now(gen, model, adapter, attempt)
        return
    if not move(gen.pk, S.SUBMITTING, reason=f"sending to {adapter.label}", only_from=(S.QUEUED,)):
        return  # someone else claimed it, or it was cancelled
    wire = model.spec.to_wire(gen.params)
    try:
        submitted = adapter.submit(
            model.provider_model, wire, callback_url=callback_url(gen), client_ref=str(gen.client_ref)
        )
    except ProviderError as exc:
        _submit_failed(gen, exc, attempt)
        return
    now = timezone.now()
    with_callback = bool(callback_url(gen))
    first = settings.POLL_FIRST_DELAY_WITH_CALLBACK if with_callback else poll_timing.first_delay(gen.model_key)
    # News is due at the first status check, or with a callback when the model's jobs usually finish.
    news_in = poll_timing.typical_seconds(gen.model_key) if with_callback else first
    moved = move(
        gen.pk,
        S.RUNNING,
        reason=f"accepted by {adapter.label} as {submitted.external_id}",
        external_id=submitted.external_id,
        submitted_at=now,
        provider_status=State.QUEUED,
        status_detail=f"Queued at {adapter.label}",
        news_due_at=now + timedelta(seconds=news_in) if news_in is not None else None,
    )
    if not moved:
        return
    if submitted.state and submitted.state.finished:
        apply_job_state(gen.pk, submitted.state, fetch_now=True)
        return
    schedule_poll(gen.pk, checks_done=0, delay=first)


def _generate_now(gen: Generation, model: CatalogModel, adapter, attempt: int) -> None:
    """Synchronous APIs: the answer is the audio, streamed straight into storage.

    The job stays SUBMITTING while the call runs: if the worker dies mid-stream the provider
    may have charged, so the sweep hands it to the user instead of paying again.
    """
    with provider_slot(model.provider) as acquired:
        if not acquired:
            delay = 2.0 + attempt % 3
            touch(gen.pk, only_in=(S.QUEUED,), status_detail=f"Waiting for a free {adapter.label} slot")
            _actors().submit_generation.send_with_options(args=(gen.pk, attempt), delay=int(delay * 1000))
            return
        if not move(gen.pk, S.SUBMITTING, reason=f"generating at {adapter.label}", only_from=(S.QUEUED,)):
            return
        touch(
            gen.pk,
            only_in=(S.SUBMITTING,),
            provider_status=State.RUNNING,
            status_detail=f"Generating at {adapter.label}",
            submitted_at=timezone.now(),
        )
        try:
            with adapter.generate_audio(model.provider_model, model.spec.to_wire(gen.params)) as body:
                stored = store_stream(
                    body.chunks,
                    project_id=gen.project_id,
                    declared_type=body.content_type,
                    raw_format=body.raw_format,
                )
        except ProviderError as exc:
            _submit_failed(gen, exc, attempt)
            return
        except DownloadFailed as exc:
            move(gen.pk, S.FAILED, reason=f"could not store the audio: {exc}", error=f"Could not save the audio: {exc}")
            return
    gen.refresh_from_db()
    save_track(gen, stored, position=0, media={})
    move(
        gen.pk,
        S.SUCCEEDED,
        reason=f"audio received from {adapter.label}",
        only_from=(S.SUBMITTING,),
        external_id=body.external_id,
        cost=body.cost,
        provider_status=State.SUCCEEDED,
        status_detail="",
    )


def _submit_failed(gen: Generation, exc: ProviderError, attempt: int) -> None:
    named = get_adapter(_model(gen).provider).client_names_job  # a resend is the same job: safe
    if isinstance(exc, ProviderDown) and exc.maybe_accepted and not named:
        move(
            gen.pk,
            S.NEEDS_ATTENTION,
            reason=f"no answer from {exc.provider} while submitting",
            status_detail=f"{exc.provider} did not answer in time; the job may have been accepted. "
            "Check before resubmitting.",
        )
        return
    limit = MAX_RATE_LIMITED_RETRIES if isinstance(exc, RateLimited) else MAX_SUBMIT_RETRIES
    if exc.retryable and attempt < limit:
        delay = _retry_delay(exc, attempt)
        if move(
            gen.pk,
            S.QUEUED,
            reason=f"{exc.message}; retrying in {delay:.0f} s",
            status_detail=f"{exc.user_message}; retrying in {delay:.0f} s",
        ):
            _actors().submit_generation.send_with_options(args=(gen.pk, attempt + 1), delay=int(delay * 1000))
        return
    move(gen.pk, S.FAILED, reason=f"submit failed: {exc.message}", error=exc.user_message, status_detail="")


def _retry_delay(exc: ProviderError, attempt: int) -> float:
    if isinstance(exc, RateLimited) and exc.retry_after is not None:
        return min(max(exc.retry_after, 1.0), 300.0)
    return backoff(attempt, first=2.0, cap=60.0)


# --- Poll -------------------------------------------------------------------------


def schedule_poll(generation_id: int, *, checks_done: int, delay: float, running_at: float | None = None) -> None:
    """`running_at`: how old the job was when this check saw it still running (timing, see poll_timing)."""
    poll_generation = _actors().poll_generation
    kwargs = {"running_at": running_at} if running_at is not None else {}
    # Now means straight to the queue: a delayed message hops through the delay queue first.
    timing = {"delay": int(delay * 1000)} if delay > 0 else {}
    poll_generation.send_with_options(args=(generation_id, checks_done), kwargs=kwargs, **timing)


def poll(generation_id: int, checks_done: int, running_at: float | None = None) -> None:
    """Ask the provider once, then re-send ourselves with a longer delay if it is not done.

    `checks_done` is the count this message expects: a stale or duplicated chain (after a
    callback or a sweep started a fresh one) loses the conditional increment and stops.
    """
    claimed = Generation.objects.filter(pk=generation_id, state=S.RUNNING, status_checks=checks_done).update(
        status_checks=F("status_checks") + 1
    )
    if not claimed:
        return
    gen = Generation.objects.get(pk=generation_id)
    model = _model(gen)
    adapter = get_adapter(model.provider)
    if gen.submitted_at and timezone.now() - gen.submitted_at > timedelta(minutes=model.deadline_minutes):
        move(
            gen.pk,
            S.FAILED,
            reason="deadline passed",
            error=f"{adapter.label} did not finish within {model.deadline_minutes} minutes",
        )
        return
    try:
        job = adapter.status(gen.external_id)
    except ProviderError as exc:
        if exc.retryable:  # the deadline above ends a provider that never recovers
            delay = _retry_delay(exc, checks_done) if isinstance(exc, RateLimited) else backoff(checks_done)
            touch(
                gen.pk,
                only_in=(S.RUNNING,),
                status_detail=f"{exc.user_message}; checking again soon",
                news_due_at=timezone.now() + timedelta(seconds=delay),
            )
            schedule_poll(gen.pk, checks_done=checks_done + 1, delay=delay)
        else:
            move(gen.pk, S.FAILED, reason=f"status failed: {exc.message}", error=exc.user_message)
        return
    if job.state is State.SUCCEEDED:  # before the fetch: the finish was seen now
        poll_timing.learn(gen.model_key, gen.submitted_at, still_running_at=running_at)
    delay = poll_timing.next_delay(gen.model_key, gen.submitted_at, checks_done)
    if not apply_job_state(gen.pk, job, fetch_now=True, next_check_in=delay):
        age = poll_timing.age_of(gen.submitted_at) if gen.submitted_at else None
        schedule_poll(gen.pk, checks_done=checks_done + 1, delay=delay, running_at=age)


def apply_job_state(
    generation_id: int, job: JobState, *, fetch_now: bool = False, next_check_in: float | None = None
) -> bool:
    """Record what the provider said; answer whether the job is finished at the provider.

    A finished job's audio is fetched by the fetch actor, or at once in this worker thread when
    `fetch_now` (a worker's own status check): one queue hop less between the provider
    finishing and the track on the card. `next_check_in`: when the caller will ask again, if
    the job is not finished (seconds), recorded for the page."""
    gen = Generation.objects.only("pk", "model_key", "started_at").get(pk=generation_id)
    label = get_adapter(_model(gen).provider).label
    if job.state is State.SUCCEEDED:
        if move(
            generation_id,
            S.FETCHING,
            reason=f"{label} finished",
            only_from=(S.RUNNING,),
            media=[
                {"url": m.url, "content_type": m.content_type, "title": m.title, "duration": m.duration}
                for m in job.media
            ],
            cost=job.cost,
            provider_status=State.SUCCEEDED,
            status_detail="Saving the audio",
        ):
            if fetch_now:
                fetch_or_hand_over(generation_id)
            else:
                _actors().fetch_audio.send(generation_id)
        return True
    if job.state is State.FAILED:
        move(
            generation_id,
            S.FAILED,
            reason=f"{label} reported failure",
            only_from=(S.RUNNING,),
            error=f"{label}: {job.error}" if job.error else f"{label} could not generate this",
            provider_status=State.FAILED,
            cost=job.cost,
        )
        return True
    fields = {"provider_status": job.state.value}
    if next_check_in is not None:
        fields["news_due_at"] = timezone.now() + timedelta(seconds=next_check_in)
    if job.state is State.RUNNING:
        fields["status_detail"] = f"Generating at {label}" + (f" · {job.progress}%" if job.progress else "")
        if gen.started_at is None:
            fields["started_at"] = timezone.now()
    touch(generation_id, only_in=(S.RUNNING,), **fields)
    return False


def handle_callback(generation_id: int, job: JobState, *, trusted: bool) -> None:
    """A provider called back. Unsigned callbacks are hints: confirm with a status request now."""
    gen = Generation.objects.only("pk", "state", "status_checks").get(pk=generation_id)
    if gen.state != S.RUNNING:
        return  # finished already, or not yet submitted: the running chain sees to it
    if trusted:
        if not apply_job_state(gen.pk, job):
            return
    else:
        if job.state is State.SUCCEEDED:  # the card says so at once; the page looks again soon
            touch(gen.pk, only_in=(S.RUNNING,), provider_status=State.SUCCEEDED, status_detail="Finished; checking")
        schedule_poll(gen.pk, checks_done=gen.status_checks, delay=0)


# --- Fetch ------------------------------------------------------------------------


def fetch_or_hand_over(generation_id: int) -> None:
    """Fetch in this thread; on an unexpected error, hand the job to the fetch actor and its retries."""
    try:
        fetch(generation_id)
    except Exception:
        log.exception("fetching the audio of generation %s failed; handing it to the fetch actor", generation_id)
        _actors().fetch_audio.send(generation_id)


def fetch(generation_id: int) -> None:
    gen = Generation.objects.select_related("project").filter(pk=generation_id, state=S.FETCHING).first()
    if gen is None:
        return
    model = _model(gen)
    provider_base_url = settings.PROVIDERS[model.provider]["base_url"]
    done = set(gen.tracks.values_list("position", flat=True))
    try:
        for position, media in enumerate(gen.media):
            if position in done:
                continue  # saved by an earlier attempt
            stored = download(
                media["url"],
                project_id=gen.project_id,
                provider_base_url=provider_base_url,
                declared_type=media.get("content_type", ""),
            )
            try:
                with transaction.atomic():
                    save_track(gen, stored, position=position, media=media, count=len(gen.media))
            except IntegrityError:  # a concurrent fetch (a sweep's re-drive) saved it first
                default_storage.delete(stored.name)
    except DownloadFailed as exc:
        _fetch_failed(gen, exc)
        return
    move(gen.pk, S.SUCCEEDED, reason="audio saved", only_from=(S.FETCHING,), status_detail="")


def _fetch_failed(gen: Generation, exc: DownloadFailed) -> None:
    attempts = gen.transitions.filter(from_state=S.FETCHING, to_state=S.RUNNING).count() + 1
    if exc.retryable and attempts < MAX_FETCH_ATTEMPTS:
        # Media links expire: ask the provider again for fresh ones.
        if move(gen.pk, S.RUNNING, reason=f"download failed: {exc}", status_detail="Retrying the download"):
            schedule_poll(gen.pk, checks_done=gen.status_checks, delay=backoff(attempts))
        return
    move(gen.pk, S.FAILED, reason=f"download failed: {exc}", error=f"Could not save the audio: {exc}")


def save_track(gen: Generation, stored: StoredAudio, *, position: int, media: dict, count: int = 1) -> Track:
    return Track.objects.create(
        generation=gen,
        project_id=gen.project_id,
        position=position,
        title=track_title(gen, media, position, count),
        file=stored.name,
        content_type=stored.content_type,
        extension=stored.extension,
        size=stored.size,
        sha256=stored.sha256,
        duration_seconds=stored.duration_seconds or media.get("duration"),
    )


def track_title(gen: Generation, media: dict, position: int, count: int) -> str:
    title = (media.get("title") or gen.prompt or _model(gen).label).strip().splitlines()[0]
    if len(title) > 80:
        title = title[:79].rstrip() + "…"
    return f"{title} ({position + 1})" if count > 1 else title


# --- Sweep ------------------------------------------------------------------------


def sweep(*, quiet_seconds: float | None = None) -> int:
    """Re-drive every unfinished generation that has gone quiet; answer how many."""
    quiet = settings.SWEEP_QUIET_SECONDS if quiet_seconds is None else quiet_seconds
    quiet_since = timezone.now() - timedelta(seconds=quiet)
    stale = Generation.objects.filter(state__in=Generation.PENDING_STATES, updated_at__lt=quiet_since)
    count = redrive(stale)
    if count:
        log.info("sweep re-drove %d quiet generations", count)
    return count


def redrive(generations) -> int:
    """Send each pending generation in the queryset the nudge its state needs; answer how many.
    Safe for a job that is still moving: every step re-checks the state it acts on."""
    actors = _actors()
    count = 0
    for pk, state, checks in generations.filter(state__in=Generation.PENDING_STATES).values_list(
        "pk", "state", "status_checks"
    ):
        count += 1
        if state == S.QUEUED:
            actors.submit_generation.send(pk)
        elif state == S.SUBMITTING:
            actors.submit_generation.send(pk)  # finds its own stale claim: needs attention
        elif state == S.RUNNING:
            touch(pk, only_in=(S.RUNNING,))
            schedule_poll(pk, checks_done=checks, delay=0)
        elif state == S.FETCHING:
            touch(pk, only_in=(S.FETCHING,))
            actors.fetch_audio.send(pk)
    return count
