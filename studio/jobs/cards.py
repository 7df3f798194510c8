"""The job card: which cards a page shows, what each one says, and when the page should look again.

The pipeline records facts on the job (state, the provider's status, attempt, error kind, next
check); this module turns them into words when a card is rendered, so the wording can change
without touching the pipeline, and one card partial (templates/studio/project.html#card) shows it.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cached_property

from django.conf import settings
from django.db.models import Exists, OuterRef
from django.http import HttpRequest
from django.utils import timezone

from providers import registry
from providers.base import State as ProviderState
from studio.catalog import BY_KEY
from studio.errors import ErrorKind
from studio.http import parse_id
from studio.models import Generation, Track, card_version
from studio.spend import wording

S = Generation.State
RECENT_CARDS = 50  # pending cards a page follows at once
PAGE_CARDS = 10  # cards the project page opens with
# News arrives a little after it is due (the queue's pickup, the status call, the copy of the
# audio): the page's extra look waits this much longer.
CHECK_ALLOWANCE = timedelta(milliseconds=300)
# Kinds of failure a retry cannot mend: someone must fix the key or the account first.
NOT_RETRYABLE = (ErrorKind.AUTH, ErrorKind.CREDIT)


def format_seconds(seconds: float) -> str:
    """"4 s", "2 min 5 s"."""
    seconds = max(0, round(seconds))
    minutes, seconds = divmod(seconds, 60)
    return f"{minutes} min {seconds} s" if minutes else f"{seconds} s"


@dataclass
class Card:
    """One job as its card shows it."""

    gen: Generation
    tracks: list[Track] = field(default_factory=list)

    @cached_property
    def provider(self) -> str:
        model = BY_KEY.get(self.gen.model_key)
        return registry.label(model.provider) if model else "the provider"

    @cached_property
    def model_label(self) -> str:
        model = BY_KEY.get(self.gen.model_key)
        return model.label if model else self.gen.model_key

    @property
    def label(self) -> str:
        """Queued → Generating → Ready (or Failed), as the user sees it."""
        gen = self.gen
        if gen.state == S.SUBMITTING and gen.provider_status == ProviderState.RUNNING:
            return "Generating"  # a synchronous API is rendering it right now
        if gen.state in (S.QUEUED, S.SUBMITTING):
            return "Queued"
        if gen.state == S.RUNNING and gen.provider_status in ("", ProviderState.QUEUED):
            return "Queued"
        if gen.state in (S.RUNNING, S.FETCHING):
            return "Generating"
        return gen.get_state_display()

    @property
    def detail(self) -> str:
        """What is happening now, for a pending card."""
        gen, provider = self.gen, self.provider
        if gen.state == S.QUEUED:
            if gen.waiting_for == "slot":
                return f"Waiting for a free {provider} slot"
            if gen.waiting_for == "retry" and gen.error_kind:
                return f"{self.problem} Attempt {gen.attempt} did not go through; trying again"
            return "Waiting to be sent"
        if gen.state == S.SUBMITTING:
            if gen.provider_status == ProviderState.RUNNING:
                return f"Generating at {provider}"
            return f"Sending to {provider}"
        if gen.state == S.RUNNING:
            if gen.error_kind == ErrorKind.DOWNLOAD:
                return "Retrying the download"
            if gen.error_kind:
                return f"{self.problem} Checking again soon"
            if gen.provider_status == ProviderState.SUCCEEDED:
                return "Finished; checking"
            if gen.provider_status == ProviderState.RUNNING:
                return f"Generating at {provider}" + (f" · {gen.progress}%" if gen.progress else "")
            return f"Queued at {provider}"
        if gen.state == S.FETCHING:
            return "Saving the audio"
        return ""

    @property
    def next_try_at(self):
        """When the studio tries again, for a job waiting to retry."""
        return self.gen.next_check_at if self.gen.state == S.QUEUED and self.gen.waiting_for else None

    @property
    def problem(self) -> str:
        """What went wrong, in plain words: a failed job's reason, a retry's cause, or what a job
        that needs attention asks of the user."""
        gen, provider, kind = self.gen, self.provider, self.gen.error_kind
        if gen.state == S.NEEDS_ATTENTION:
            cause = {
                ErrorKind.INTERRUPTED: f"Interrupted while sending to {provider}.",
                ErrorKind.UNREADABLE: f"{provider} answered with something unreadable.",
            }.get(kind, f"{provider} did not answer in time.")
            return f"{cause} It may have been accepted: check your {provider} account before resubmitting."
        if gen.state == S.CANCELLED:
            if gen.submitted_at or gen.external_id:
                return f"Cancelled. {provider} may still charge for it: it had already accepted the job."
            return "Cancelled. Nothing was sent."
        still_retrying = gen.state == S.QUEUED
        if kind == ErrorKind.RATE_LIMITED:
            if still_retrying:
                return f"{provider} is limiting requests (429)."
            return f"{provider} kept refusing with 429 (too many requests){self._for_how_long}; try again later."
        if kind == ErrorKind.UNAVAILABLE:
            if still_retrying:
                return f"{provider} is unavailable."
            return f"{provider} was unavailable{self._for_how_long}; try again later."
        if kind == ErrorKind.TIMEOUT:
            return f"{provider} did not answer in time."
        if kind == ErrorKind.UNREADABLE:
            return f"{provider} answered with something unreadable."
        if kind == ErrorKind.INVALID:
            return f"{provider} rejected the request: {gen.error}" if gen.error else f"{provider} rejected the request."
        if kind == ErrorKind.AUTH:
            return f"{provider} refused the studio's API key. The project owner should have the key checked."
        if kind == ErrorKind.CREDIT:
            return f"The {provider} account is out of credit. Top it up at {provider}, then generate again."
        if kind == ErrorKind.DEADLINE:
            return f"{provider} did not finish it in time ({gen.error})."
        if kind in (ErrorKind.DOWNLOAD, ErrorKind.STORAGE):
            return f"The audio could not be saved: {gen.error}."
        if kind == ErrorKind.INTERNAL:
            return "Something went wrong in the studio while handling this job, several times; it was stopped."
        if gen.state == S.FAILED:
            return f"{provider} could not generate this" + (f": {gen.error}" if gen.error else ".")
        return ""

    @property
    def _for_how_long(self) -> str:
        if self.gen.retrying_since and self.gen.finished_at:
            return f" for {format_seconds((self.gen.finished_at - self.gen.retrying_since).total_seconds())}"
        return ""

    @property
    def cost(self) -> str:
        """What the job cost (or will), with its unit: once per job, whatever its number of tracks."""
        return wording.job_cost(self.gen)

    @property
    def can_retry(self) -> bool:
        gen = self.gen
        return gen.state == S.CANCELLED or (gen.state == S.FAILED and gen.error_kind not in NOT_RETRYABLE)


# --- Which cards, with how few queries ----------------------------------------------------


def cards_in(project_id: int):
    """A project's generations with what a card shows but its tracks, newest first."""
    return Generation.objects.filter(project_id=project_id).select_related("created_by").order_by("-created_at", "-pk")


def with_tracks(generations, *, having: set[int] | None = None) -> list[Card]:
    """Cards for the generations, with their tracks in one query (only those in `having`, when
    given: the others are known to have none)."""
    generations = list(generations)
    wanted = [g.pk for g in generations if having is None or g.pk in having]
    tracks: dict[int, list[Track]] = defaultdict(list)
    if wanted:
        for track in Track.objects.filter(generation_id__in=wanted).order_by("generation_id", "position"):
            tracks[track.generation_id].append(track)
    return [Card(g, tracks[g.pk]) for g in generations]


def card(generation_id: int, project_id: int) -> Card:
    return with_tracks(cards_in(project_id).filter(pk=generation_id))[0]


def page_cards(project_id: int) -> list[Card]:
    """The cards the project page opens with: the latest ones, and any older one still pending."""
    generations = list(cards_in(project_id)[:PAGE_CARDS])
    shown = {g.pk for g in generations}
    older_pending = [pk for pk in pending_ids(project_id) if pk not in shown]
    if older_pending:
        generations += cards_in(project_id).filter(pk__in=older_pending)
    return with_tracks(generations)


def pending_ids(project_id: int) -> list[int]:
    return list(
        Generation.objects.filter(project_id=project_id, state__in=Generation.PENDING_STATES).values_list(
            "pk", flat=True
        )[:RECENT_CARDS]
    )


def asked_cards(request: HttpRequest) -> dict[int, str]:
    """The page's pending cards: id → the version it shows ("<id>" alone: always re-rendered)."""
    asked = {}
    for value in request.GET.getlist("ids")[:RECENT_CARDS]:
        pk, _, version = value.partition(":")
        if (parsed := parse_id(pk)) is not None:
            asked[parsed] = version
    return asked


def versions(project_id: int, user, asked: dict[int, str]) -> list:
    """State and version of each asked card, with whether it has audio saved and the user's role:
    the membership check rides on this query (an outsider's filter matches no row)."""
    return list(
        Generation.objects.filter(project_id=project_id, pk__in=asked, project__memberships__user=user)
        .annotate(has_tracks=Exists(Track.objects.filter(generation=OuterRef("pk"))))
        .order_by()  # in no order: no sort to plan or run
        .values_list(
            "pk", "state", "provider_status", "updated_at", "next_check_at", "has_tracks", "project__memberships__role", named=True
        )
    )  # fmt: skip


def changed_cards(project_id: int, rows: list, asked: dict[int, str]) -> list[Card]:
    """The cards whose row changed since the version the page shows, newest first. A card that is
    no longer pending is always sent: missing its end would leave it spinning. Tracks are fetched
    for those that had audio saved, and for any that has just finished (its audio may have been
    saved since the versions were read): a card still pending with none is known to have none."""
    changed = [
        row for row in rows if row.state not in Generation.PENDING_STATES or card_version(row.updated_at) != asked[row.pk]
    ]
    if not changed:
        return []
    generations = list(cards_in(project_id).filter(pk__in=[row.pk for row in changed]))
    had_tracks = {row.pk for row in changed if row.has_tracks}
    return with_tracks(generations, having=had_tracks | {g.pk for g in generations if not g.is_pending})


def next_look_ms(pending: list) -> int | None:
    """When the page should look once more before its next refresh, if at all (milliseconds):
    soon when a job's audio is moments away; else just after the earliest next check of a job
    (a worker's planned status check, or with a callback the model's usual finish)."""
    if any(_finishing(row.state, row.provider_status) for row in pending):
        return settings.CARD_SOON_MS
    now = timezone.now()
    refresh = timedelta(milliseconds=settings.CARD_REFRESH_MS)
    due = [
        row.next_check_at
        for row in pending
        if row.next_check_at and now - CHECK_ALLOWANCE < row.next_check_at < now + refresh
    ]
    if not due:
        return None
    return max(round((min(due) + CHECK_ALLOWANCE - now).total_seconds() * 1000), settings.CARD_SOON_MS // 2)


def _finishing(state: str, provider_status: str) -> bool:
    """Done at the provider, the audio not on the card yet: it will be within moments."""
    return state == S.FETCHING or (state == S.RUNNING and provider_status == ProviderState.SUCCEEDED)
