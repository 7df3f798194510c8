"""A generation's life after the form: submit, wait (poll or callback), copy the audio.

The database is the source of truth and each step is idempotent: the queue only carries nudges,
so a lost or repeated message delays a job but never loses or doubles it.

- Every message carries the turn it expects (the submit turn, or the count of status checks)
  and its step first claims that turn with a conditional update: of two copies of one message,
  the second finds the turn taken and does nothing.
- A step in a long call (a submit, a synchronous render, a download) holds a lease on the job,
  renewed while it works (leases.py): the sweep and repeated messages leave a busy job alone,
  and only an expired lease means its worker died.
- Steps record facts (state, provider status, attempt, error kind, next check); what a card says
  is composed from them when it is shown (cards.py).
- Steps answer the next step they want (`Next`); the actors send it. This module sends nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from providers import registry
from providers.registry import PROVIDERS
from providers.base import (
    Adapter,
    JobState,
    ProviderDown,
    ProviderError,
    RateLimited,
    State,
    Submitted,
)
from studio.audio.store import DownloadFailed, StoredAudio, download, store_stream
from studio.audio.waveform import stored_peaks
from studio.catalog import CatalogModel
from studio.errors import ErrorKind, error_kind
from studio.jobs import leases, poll_timing, routing
from studio.jobs.adapters import get_adapter
from studio.jobs.provider_slots import acquire_within, slots
from studio.jobs.rows import claim_status_check, step_row
from studio.jobs.transitions import move, touch
from studio.models import Generation, Track, library_changed

log = logging.getLogger(__name__)
S = Generation.State

MAX_SUBMIT_RETRIES = 6  # outages: about two minutes of backoff
MAX_RATE_LIMITED_RETRIES = 40  # a busy plan is not a failure: keep waiting (up to ~30 min)
MAX_FETCH_ATTEMPTS = 5  # each retry asks the provider for fresh media links first
MAX_STEP_FAILURES = 5  # unexpected errors in the studio's own steps before the job is failed
SLOT_WAIT_SECONDS = (2.0, 3.0, 4.0)  # spread, so waiting jobs do not all look at once
SLOT_PATIENCE_SECONDS = 0.5  # how long an asynchronous submit waits in its thread for a slot


@dataclass(frozen=True)
class Next:
    """The step a job needs next, `delay` seconds from now; `turn` is the turn it must hold."""

    step: str  # "submit" | "poll" | "fetch"
    generation_id: int
    turn: int = 0
    delay: float = 0.0
    running_at: float | None = None  # poll only: how old the job was when last seen running


def _model(gen: Generation) -> CatalogModel:
    return routing.serving_model(gen)  # a routed job's gateway's own entry


def backoff(attempt: int, *, first: float | None = None, cap: float | None = None) -> float:
    first = settings.POLL_FIRST_DELAY if first is None else first
    cap = settings.POLL_MAX_DELAY if cap is None else cap
    return min(first * (1.5**attempt), cap)


def callback_url(gen: Generation) -> str | None:
    """Where the provider should call back, or None: this provider never calls back, or the
    studio has no public https address (then it polls, exactly as when callbacks are off)."""
    base, provider = settings.PUBLIC_BASE_URL, _model(gen).provider
    if not PROVIDERS[provider].accepts_callbacks or not (base.startswith("https://") or is_loopback_http(base)):
        return None
    return base + reverse("provider_callback", args=[provider, gen.pk, gen.callback_token])


def is_loopback_http(base: str) -> bool:
    """http://127.0.0.1:PORT: only the local emulator can call it, and it accepts http."""
    parts = urlsplit(base)
    return parts.scheme == "http" and parts.hostname in ("127.0.0.1", "localhost", "::1")


def _after(seconds: float | None):
    return timezone.now() + timedelta(seconds=seconds) if seconds is not None else None


# --- Submit -----------------------------------------------------------------------


def submit(generation_id: int, turn: int = 0) -> Next | None:
    gen = step_row(generation_id)
    if gen is None:
        return None
    if not routing.gateway_ready(gen, turn):  # a routed job waits while no gateway may take it
        return _wait_for_slot(gen, turn, waiting_for="gateway", delay=routing.wait_seconds(gen, turn))
    adapter = get_adapter(_model(gen).provider)
    if gen.state == S.SUBMITTING:
        return _submitting_already(gen, adapter)
    if gen.state != S.QUEUED or gen.submit_turn != turn:
        return None  # a stale or repeated message: the job moved on, or another copy took this turn
    if adapter.synchronous:
        return _generate_now(gen, adapter, turn)
    model, holder, lease = _model(gen), leases.new_holder(), leases.lease_seconds(adapter)
    # The provider's requests in flight: an asynchronous submit's call is short, so a slot is
    # usually free again within moments; past that the job waits its turn in the queue.
    if not acquire_within(model.provider, holder, lease, patience=SLOT_PATIENCE_SECONDS):
        return _wait_for_slot(gen, turn)
    try:
        attempt = gen.attempt + 1
        if not _claim(gen, turn, holder, lease, reason=f"sending to {adapter.label}"):
            return None  # another copy claimed it, or it was cancelled
        callback = callback_url(gen)
        try:
            wire = model.spec.to_wire(gen.params)
            submitted = adapter.submit(model.provider_model, wire, callback_url=callback, client_ref=str(gen.client_ref))
        except ProviderError as exc:
            return _submit_failed(gen, adapter, exc, attempt=attempt, turn=turn + 1)
    finally:
        slots().release(model.provider, holder)
    routing.submit_accepted(gen)
    return _accepted(gen, adapter, submitted, with_callback=bool(callback))


def _claim(gen: Generation, turn: int, holder: str, lease: float, *, reason: str, **fields) -> bool:
    """Take the job for one send to the provider: its submit turn, and a lease on it for the call."""
    return move(
        gen.pk,
        S.SUBMITTING,
        reason=reason,
        only_from=(S.QUEUED,),
        expect={"submit_turn": turn},
        submit_turn=turn + 1,
        attempt=gen.attempt + 1,
        waiting_for="",
        lease_holder=holder,
        lease_expires_at=leases.expiry(lease),
        **fields,
    )


def _submitting_already(gen: Generation, adapter: Adapter) -> Next | None:
    """A message for a job a worker has claimed: a repeat while the worker is still at it (its
    lease is live), or a sign that the worker died mid-call (its lease ran out)."""
    if leases.is_live(gen):
        return None
    held = {"lease_holder": gen.lease_holder}
    if adapter.client_names_job:
        # The job's id is ours: sending it again is the same job at the provider.
        moved = move(
            gen.pk, S.QUEUED, reason="interrupted while submitting; resending the same job id",
            only_from=(S.SUBMITTING,), expect=held, waiting_for="retry",
        )  # fmt: skip
        return Next("submit", gen.pk, turn=gen.submit_turn) if moved else None
    # The provider may have accepted (and charged for) it: only the user may risk a second charge.
    move(
        gen.pk, S.NEEDS_ATTENTION, reason="interrupted while submitting",
        only_from=(S.SUBMITTING,), expect=held, error_kind=ErrorKind.INTERRUPTED, error="",
    )  # fmt: skip
    return None


def _accepted(gen: Generation, adapter: Adapter, submitted: Submitted, *, with_callback: bool) -> Next | None:
    first, news_in = poll_timing.first_check(gen.model_key, with_callback=with_callback)
    moved = move(
        gen.pk,
        S.RUNNING,
        reason=f"accepted by {adapter.label} as {submitted.external_id}",
        # A late answer after the job was handed to the user still moves it on: poll it.
        only_from=(S.SUBMITTING, S.NEEDS_ATTENTION),
        external_id=submitted.external_id,
        submitted_at=timezone.now(),
        provider_status=State.QUEUED,
        error_kind="",
        error="",
        retrying_since=None,
        next_check_at=_after(news_in),
        expected_finish_at=_after(poll_timing.typical_seconds(gen.model_key)),
    )
    if not moved:
        # Cancelled meanwhile: keep the provider's id on record, since it may charge for the job.
        touch(gen.pk, only_in=(S.CANCELLED,), external_id=submitted.external_id, submitted_at=timezone.now())
        return None
    if submitted.state and submitted.state.finished:
        return apply_job_state(gen.pk, submitted.state, fetch_now=True)[1]
    return Next("poll", gen.pk, turn=gen.status_checks, delay=first)


def _generate_now(gen: Generation, adapter: Adapter, turn: int) -> Next | None:
    """Synchronous APIs: the answer is the audio, streamed straight into storage, while the job
    holds one of the provider's slots. The job stays SUBMITTING during the call, under a lease:
    if the worker dies mid-stream the provider may have charged, so once the lease runs out the
    sweep hands the job to the user instead of paying again."""
    model, holder, lease = _model(gen), leases.new_holder(), leases.lease_seconds(adapter)
    if not slots().acquire(model.provider, holder, lease):
        return _wait_for_slot(gen, turn)
    try:
        attempt = gen.attempt + 1
        claimed = _claim(
            gen, turn, holder, lease, reason=f"generating at {adapter.label}",
            provider_status=State.RUNNING, submitted_at=timezone.now(), next_check_at=None,
        )  # fmt: skip
        if not claimed:
            return None
        keep_alive = leases.KeepAlive(gen.pk, holder, lease, slot_provider=model.provider)
        try:
            with adapter.generate_audio(model.provider_model, model.spec.to_wire(gen.params)) as body:
                stored = store_stream(
                    keep_alive.around(body.chunks),
                    project_id=gen.project_id,
                    declared_type=body.content_type,
                    raw_format=body.raw_format,
                )
        except ProviderError as exc:
            return _submit_failed(gen, adapter, exc, attempt=attempt, turn=turn + 1)
        except DownloadFailed as exc:
            move(
                gen.pk, S.FAILED, reason=f"could not store the audio: {exc}",
                only_from=(S.SUBMITTING, S.NEEDS_ATTENTION), error_kind=ErrorKind.STORAGE, error=str(exc),
            )  # fmt: skip
            return None
    finally:
        slots().release(model.provider, holder)
    routing.submit_accepted(gen)
    _save_generated(gen, adapter, stored, external_id=body.external_id, cost=body.cost)
    return None


def _wait_for_slot(gen: Generation, turn: int, *, waiting_for: str = "slot", delay: float | None = None) -> Next | None:
    """Every slot (or gateway) is taken: one copy of the message takes the next turn and waits; a repeat stops."""
    delay = SLOT_WAIT_SECONDS[gen.pk % len(SLOT_WAIT_SECONDS)] if delay is None else delay
    now = timezone.now()
    waited = Generation.objects.filter(pk=gen.pk, state=S.QUEUED, submit_turn=turn).update(
        submit_turn=turn + 1, waiting_for=waiting_for, next_check_at=now + timedelta(seconds=delay), updated_at=now
    )
    return Next("submit", gen.pk, turn=turn + 1, delay=delay) if waited else None


def _save_generated(gen: Generation, adapter: Adapter, stored: StoredAudio, *, external_id: str, cost) -> None:
    """The audio is in storage: the job is Ready, whatever state a race left it in."""
    if save_track(gen, stored, position=0, media={}) is None:
        return  # a resubmitted copy of this job saved its audio first
    move(
        gen.pk,
        S.SUCCEEDED,
        reason=f"audio received from {adapter.label}",
        only_from=(S.SUBMITTING, S.NEEDS_ATTENTION, S.CANCELLED),
        external_id=external_id,
        cost=cost,
        provider_status=State.SUCCEEDED,
        error_kind="",
        error="",
    )


def _submit_failed(gen: Generation, adapter: Adapter, exc: ProviderError, *, attempt: int, turn: int) -> Next | None:
    if routing.submit_refused(gen, exc):  # a routed job the gateway did not take: the next one's turn
        return Next("submit", gen.pk, turn=turn)
    kind = error_kind(exc)
    if isinstance(exc, ProviderDown) and exc.maybe_accepted and not adapter.client_names_job:
        move(
            gen.pk, S.NEEDS_ATTENTION, reason=f"no clear answer from {adapter.label} while submitting: {exc.message}",
            only_from=(S.SUBMITTING,), error_kind=kind, error=exc.message,
        )  # fmt: skip
        return None
    limit = MAX_RATE_LIMITED_RETRIES if isinstance(exc, RateLimited) else MAX_SUBMIT_RETRIES
    if exc.retryable and attempt <= limit:
        delay = _retry_delay(exc, attempt - 1)
        if move(
            gen.pk,
            S.QUEUED,
            reason=f"{exc.message}; retrying in {delay:.0f} s",
            only_from=(S.SUBMITTING,),
            error_kind=kind,
            error=exc.message,
            waiting_for="retry",
            retrying_since=gen.retrying_since or timezone.now(),
            next_check_at=_after(delay),
        ):
            return Next("submit", gen.pk, turn=turn, delay=delay)
        return None
    move(
        gen.pk, S.FAILED, reason=f"submit failed: {exc.message}",
        only_from=(S.SUBMITTING,), error_kind=kind, error=exc.message,
    )  # fmt: skip
    return None


def _retry_delay(exc: ProviderError, attempt: int) -> float:
    if isinstance(exc, RateLimited) and exc.retry_after is not None:
        return min(max(exc.retry_after, 1.0), 300.0)
    return backoff(attempt, first=2.0, cap=60.0)


# --- Poll -------------------------------------------------------------------------


def poll(generation_id: int, checks_done: int, running_at: float | None = None) -> Next | None:
    """Ask the provider once; answer the next check if it is not done.

    `checks_done` is the turn this message holds: a stale or repeated chain (after a callback
    or a sweep started a fresh one) loses the conditional increment and stops.
    """
    gen = claim_status_check(generation_id, checks_done)
    if gen is None:
        return None
    model = _model(gen)
    adapter = get_adapter(model.provider)
    if gen.submitted_at and timezone.now() - gen.submitted_at > timedelta(minutes=model.deadline_minutes):
        move(
            gen.pk, S.FAILED, reason="deadline passed", only_from=(S.RUNNING,),
            error_kind=ErrorKind.DEADLINE, error=f"not finished after {model.deadline_minutes} minutes",
        )  # fmt: skip
        return None
    try:
        job = adapter.status(gen.external_id)
    except ProviderError as exc:
        if not exc.retryable:
            move(
                gen.pk, S.FAILED, reason=f"status failed: {exc.message}",
                only_from=(S.RUNNING,), error_kind=error_kind(exc), error=exc.message,
            )  # fmt: skip
            return None
        # The deadline above ends a provider that never recovers.
        delay = _retry_delay(exc, checks_done) if isinstance(exc, RateLimited) else backoff(checks_done)
        touch(gen.pk, only_in=(S.RUNNING,), error_kind=error_kind(exc), error=exc.message, next_check_at=_after(delay))
        return Next("poll", gen.pk, turn=checks_done + 1, delay=delay)
    if job.state is State.SUCCEEDED:  # before the fetch: the finish was seen now
        poll_timing.learn(gen.model_key, gen.submitted_at, still_running_at=running_at)
    delay = poll_timing.next_delay(gen.model_key, gen.submitted_at, checks_done)
    finished, then = apply_job_state(gen.pk, job, fetch_now=True, next_check_in=delay, gen=gen)
    if finished:
        return then
    age = poll_timing.age_of(gen.submitted_at) if gen.submitted_at else None
    return Next("poll", gen.pk, turn=checks_done + 1, delay=delay, running_at=age)


def apply_job_state(
    generation_id: int,
    job: JobState,
    *,
    fetch_now: bool = False,
    next_check_in: float | None = None,
    gen: Generation | None = None,
) -> tuple[bool, Next | None]:
    """Record what the provider said; answer whether the job is finished there, and the next step.

    A finished job's audio is fetched at once in this thread when `fetch_now` (a worker's own
    status check: one queue hop less between the provider finishing and the track on the card),
    under a lease taken in the same move, else by the fetch step. `next_check_in`: when the
    caller will ask again if the job is not finished (seconds), recorded for the page. `gen`:
    the row as the caller read it (rows.py), saving a read."""
    gen = gen or step_row(generation_id)
    label = registry.label(_model(gen).provider)
    if job.state is State.SUCCEEDED:
        media = [
            {"url": m.url, "content_type": m.content_type, "title": m.title, "duration": m.duration} for m in job.media
        ]
        holder, lease = leases.new_holder(), leases.download_lease_seconds()
        moved = move(
            generation_id,
            S.FETCHING,
            reason=f"{label} finished",
            only_from=(S.RUNNING,),
            media=media,
            cost=job.cost,
            provider_status=State.SUCCEEDED,
            progress=None,
            error_kind="",
            error="",
            next_check_at=None,
            **({"lease_holder": holder, "lease_expires_at": leases.expiry(lease)} if fetch_now else {}),
        )
        if not moved:
            return True, None
        if not fetch_now:
            return True, Next("fetch", generation_id)
        gen.media = media
        return True, _fetch_here(gen, holder, lease)
    if job.state is State.FAILED:
        move(
            generation_id,
            S.FAILED,
            reason=f"{label} reported failure",
            only_from=(S.RUNNING,),
            error_kind=ErrorKind.FAILED,
            error=job.error,
            provider_status=State.FAILED,
            cost=job.cost,
        )
        return True, None
    fields = {"provider_status": job.state.value, "error_kind": "", "error": ""}
    if next_check_in is not None:
        fields["next_check_at"] = _after(next_check_in)
    if job.progress is not None:
        fields["progress"] = job.progress
    typical = poll_timing.typical_seconds(gen.model_key)
    if typical is not None and gen.submitted_at:  # for the card's "about N s left"
        fields["expected_finish_at"] = gen.submitted_at + timedelta(seconds=typical)
    if job.state is State.RUNNING and gen.started_at is None:
        fields["started_at"] = timezone.now()
    touch(generation_id, only_in=(S.RUNNING,), **fields)
    return False, None


def handle_callback(generation_id: int, job: JobState, *, trusted: bool, gen: Generation | None = None) -> Next | None:
    """A provider called back. Unsigned callbacks are hints: confirm with a status check now.
    `gen`: the row as the handler read it (with its state and status checks), saving a read."""
    gen = gen or Generation.objects.only("pk", "state", "status_checks").get(pk=generation_id)
    if gen.state != S.RUNNING:
        return None  # finished already, or not yet submitted: the running chain sees to it
    if trusted:
        return apply_job_state(gen.pk, job)[1]
    if job.state is State.SUCCEEDED:  # the card says so at once; the page looks again soon
        touch(gen.pk, only_in=(S.RUNNING,), provider_status=State.SUCCEEDED)
    return Next("poll", gen.pk, turn=gen.status_checks)


# --- Fetch ------------------------------------------------------------------------


def _fetch_here(gen: Generation, holder: str, lease: float) -> Next | None:
    """Fetch in this thread, holding the lease the move to FETCHING took; on an unexpected
    error, hand the job to the fetch step and its retries."""
    try:
        return _download_holding(gen, holder, lease, saved_before=len(gen.media) > 1)
    except Exception as exc:
        log.exception("fetching the audio of generation %s failed; handing it to the fetch step", gen.pk)
        step_failed(gen.pk, "fetch", exc)
        return Next("fetch", gen.pk)


def fetch(generation_id: int) -> Next | None:
    holder, lease = leases.new_holder(), leases.download_lease_seconds()
    if not leases.claim(generation_id, state=S.FETCHING, holder=holder, seconds=lease):
        return None  # finished, or another worker is downloading it
    return _download_holding(step_row(generation_id), holder, lease, saved_before=True)


def _download_holding(gen: Generation, holder: str, lease: float, *, saved_before: bool) -> Next | None:
    """Every move that ends the download releases the lease; an unexpected error releases it here."""
    try:
        return _download_all(gen, holder, lease, saved_before=saved_before)
    except BaseException:
        leases.release(gen.pk, holder)
        raise


def _download_all(gen: Generation, holder: str, lease: float, *, saved_before: bool) -> Next | None:
    """`saved_before`: an earlier attempt may have saved some of the files. Not so for one file
    fetched straight after the status check: its track is saved in the step that ends the job
    (and the track's unique position would refuse a second one anyway)."""
    adapter = get_adapter(_model(gen).provider)
    keep_alive = leases.KeepAlive(gen.pk, holder, lease)
    done = set(gen.tracks.values_list("position", flat=True)) if saved_before else set()
    try:
        for position, media in enumerate(gen.media):
            if position in done:
                continue  # saved by an earlier attempt
            stored = download(
                media["url"],
                project_id=gen.project_id,
                provider_base_url=adapter.base_url,
                declared_type=media.get("content_type", ""),
                keep_alive=keep_alive.around,
            )
            save_track(gen, stored, position=position, media=media, count=len(gen.media))
    except DownloadFailed as exc:
        return _fetch_failed(gen, exc)
    move(gen.pk, S.SUCCEEDED, reason="audio saved", only_from=(S.FETCHING,), error_kind="", error="")
    return None


def _fetch_failed(gen: Generation, exc: DownloadFailed) -> Next | None:
    attempts = gen.transitions.filter(from_state=S.FETCHING, to_state=S.RUNNING).count() + 1
    if exc.retryable and attempts < MAX_FETCH_ATTEMPTS:
        # Media links expire: ask the provider again for fresh ones.
        delay = backoff(attempts)
        if move(
            gen.pk, S.RUNNING, reason=f"download failed: {exc}", only_from=(S.FETCHING,),
            error_kind=ErrorKind.DOWNLOAD, error=str(exc), next_check_at=_after(delay),
        ):  # fmt: skip
            return Next("poll", gen.pk, turn=gen.status_checks, delay=delay)
        return None
    move(
        gen.pk, S.FAILED, reason=f"download failed: {exc}", only_from=(S.FETCHING,),
        error_kind=ErrorKind.DOWNLOAD, error=str(exc),
    )  # fmt: skip
    return None


def save_track(gen: Generation, stored: StoredAudio, *, position: int, media: dict, count: int = 1) -> Track | None:
    """The stored file as the job's track at `position`; None (and the file deleted) when a
    concurrent step saved that position first."""
    peaks = stored_peaks(stored.name)  # before the row: the card shows the waveform with the track
    try:
        with transaction.atomic():
            track = Track.objects.create(
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
                peaks=peaks,
            )
            library_changed([gen.project_id])
            return track
    except IntegrityError:
        default_storage.delete(stored.name)
        return None


def track_title(gen: Generation, media: dict, position: int, count: int) -> str:
    title = (media.get("title") or gen.prompt or _model(gen).label).strip().splitlines()[0]
    if len(title) > 80:
        title = title[:79].rstrip() + "…"
    return f"{title} ({position + 1})" if count > 1 else title


# --- When a step itself fails -----------------------------------------------------------


def step_failed(generation_id: int, step: str, exc: Exception) -> None:
    """An unexpected error in one of the studio's own steps (not a provider's answer): counted,
    and after a few the job ends Failed in plain words instead of being re-driven for ever."""
    Generation.objects.filter(pk=generation_id).update(step_failures=F("step_failures") + 1)
    failures = Generation.objects.filter(pk=generation_id).values_list("step_failures", flat=True).first()
    if failures is not None and failures >= MAX_STEP_FAILURES:
        move(
            generation_id, S.FAILED, reason=f"{step} failed {failures} times: {type(exc).__name__}: {exc}"[:300],
            only_from=Generation.PENDING_STATES, error_kind=ErrorKind.INTERNAL, error=f"{type(exc).__name__} in {step}",
        )  # fmt: skip


# --- Sweep ------------------------------------------------------------------------


def sweep(*, quiet_seconds: float | None = None, holders_gone: bool = False) -> list[Next]:
    """The step each unfinished generation that has gone quiet needs. A job whose worker holds a
    live lease is busy, not quiet, however long its call takes, unless `holders_gone` (the one
    process that could hold any lease is starting afresh: the embedded mode)."""
    quiet = settings.SWEEP_QUIET_SECONDS if quiet_seconds is None else quiet_seconds
    now = timezone.now()
    stale = Generation.objects.filter(state__in=Generation.PENDING_STATES, updated_at__lt=now - timedelta(seconds=quiet))
    if holders_gone:
        stale.filter(state__in=(S.SUBMITTING, S.FETCHING)).update(lease_holder="", lease_expires_at=None)
    else:
        stale = stale.exclude(lease_expires_at__gt=now)
    steps = redrive(stale)
    if steps:
        log.info("sweep re-drove %d quiet generations", len(steps))
    return steps


def redrive(generations) -> list[Next]:
    """The step each pending generation in the queryset needs. Safe for a job that is still
    moving: each step claims its turn or its lease before acting."""
    steps = []
    for pk, state, submit_turn, checks in generations.filter(state__in=Generation.PENDING_STATES).values_list(
        "pk", "state", "submit_turn", "status_checks"
    ):
        if state in (S.QUEUED, S.SUBMITTING):  # a submitting job's expired lease: its worker died
            steps.append(Next("submit", pk, turn=submit_turn))
        elif state == S.RUNNING:
            touch(pk, only_in=(S.RUNNING,))
            steps.append(Next("poll", pk, turn=checks))
        elif state == S.FETCHING:
            touch(pk, only_in=(S.FETCHING,))
            steps.append(Next("fetch", pk))
    return steps
