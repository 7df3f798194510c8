"""The job card: which cards a page shows, what each one says, and when the page should look again.

The pipeline records facts on the job (state, the provider's status, attempt, error kind, next
check); this module turns them into words when a card is rendered, so the wording can change
without touching the pipeline, and one card partial (templates/studio/project.html#card) shows it.
"""

from __future__ import annotations

import re
from collections import defaultdict, namedtuple
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cached_property

from django.conf import settings
from django.db import connection
from django.db.models import Count, Exists, F, OuterRef, Q, Subquery, Window
from django.db.models.functions import Coalesce
from django.http import HttpRequest
from django.utils import timezone

from providers import registry
from providers.base import State as ProviderState
from studio.catalog import BY_KEY
from studio.errors import ErrorKind
from studio.http import parse_id
from studio.id_urls import id_url
from studio.jobs import routing
from studio.models import Generation, Track, card_version
from studio.prepared_statements import prepared_cursor
from studio.spend import wording

S = Generation.State
RECENT_CARDS = 50  # pending cards a page follows at once
PAGE_CARDS = 10  # cards the project page opens with
# News arrives a little after it is due (the queue's pickup, the status call, the copy of the
# audio): the page's extra look waits this much longer.
CHECK_ALLOWANCE = timedelta(milliseconds=300)
# Kinds of failure a retry cannot mend: someone must fix the key or the account first.
NOT_RETRYABLE = (ErrorKind.AUTH, ErrorKind.CREDIT)
# A job counts as slower than usual past this multiple of the model's usual duration (and at
# least SLOW_MARGIN after its usual finish).
SLOW_FACTOR = 1.5
SLOW_MARGIN = timedelta(seconds=5)


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
        if model and model.gateway_models:  # routed: the gateway that has it, once one is chosen
            return registry.label(self.gen.gateway) if self.gen.gateway else "a gateway"
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
            if gen.waiting_for == "gateway":
                return "Waiting for a gateway to take it"
            if gen.waiting_for == "retry" and gen.error_kind:
                return f"{self.problem} Attempt {gen.attempt} did not go through; trying again"  # "in N s": the page
            return "Waiting to be sent"
        if gen.state == S.SUBMITTING:
            if gen.provider_status == ProviderState.RUNNING:
                return f"Generating at {provider}"
            return f"Sending to {provider}"
        if gen.state == S.RUNNING:
            if gen.error_kind == ErrorKind.DOWNLOAD:
                return "Retrying the download"
            if gen.error_kind:
                return f"{self.problem} Checking again"  # "in N s": the page counts down to next_check_at
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
        """When the studio tries again: a job waiting to retry, or a status check after an error."""
        gen = self.gen
        if gen.state == S.QUEUED and gen.waiting_for:
            return gen.next_check_at
        if gen.state == S.RUNNING and gen.error_kind:
            return gen.next_check_at
        return None

    @property
    def expected_finish_at(self):
        """When the model's jobs usually finish, for a job at the provider (learnt by the workers)."""
        gen = self.gen
        return gen.expected_finish_at if gen.state == S.RUNNING and not gen.error_kind else None

    @property
    def slow_after(self):
        """From when this job counts as slower than usual: half as long again as the usual duration."""
        finish, submitted = self.expected_finish_at, self.gen.submitted_at
        if finish is None or submitted is None:
            return None
        return finish + max((finish - submitted) * (SLOW_FACTOR - 1), SLOW_MARGIN)

    @property
    def is_slow(self) -> bool:
        return self.slow_after is not None and timezone.now() > self.slow_after

    # What the page shows first; static/live_time.js keeps these true while it stays open.

    @property
    def elapsed(self) -> str:
        return format_seconds((timezone.now() - self.gen.created_at).total_seconds())

    @property
    def refused_for(self) -> str:
        since = self.gen.retrying_since
        return format_seconds((timezone.now() - since).total_seconds()) if since else ""

    @property
    def next_try_in(self) -> str:
        at = self.next_try_at
        if at is None:
            return ""
        seconds = (at - timezone.now()).total_seconds()
        return f"in {format_seconds(seconds)}" if seconds >= 0.5 else "now"

    @property
    def usual(self) -> str:
        """How long the model's jobs usually take, e.g. "20 s"."""
        finish, submitted = self.expected_finish_at, self.gen.submitted_at
        return format_seconds((finish - submitted).total_seconds()) if finish and submitted else ""

    @property
    def eta(self) -> str:
        """"about 8 s left", "any moment now", or "slower than usual (usually 20 s)"."""
        finish = self.expected_finish_at
        if finish is None:
            return ""
        left = (finish - timezone.now()).total_seconds()
        if left >= 1:
            return f"about {format_seconds(left)} left"
        if not self.is_slow:
            return "any moment now"
        return f"slower than usual (usually {self.usual})"

    @property
    def owner_fix(self) -> str:
        return self.what_to_do(is_owner=True)

    @property
    def member_fix(self) -> str:
        return self.what_to_do(is_owner=False)

    @property
    def provider_words(self) -> str:
        """The provider's own words about what went wrong, when the card says it otherwise."""
        gen = self.gen
        if not gen.error or gen.state not in (S.FAILED, S.NEEDS_ATTENTION, S.QUEUED, S.RUNNING):
            return ""
        return gen.error if gen.error not in self.problem else ""

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
            if plain := plain_words(gen.error, provider):
                return plain
            return f"{provider} rejected the request: {gen.error}" if gen.error else f"{provider} rejected the request."
        if kind == ErrorKind.AUTH:
            return f"{provider} refused the studio's API key, so trying again will not help."
        if kind == ErrorKind.CREDIT:
            return f"The {provider} account is out of credit, so trying again will not help."
        if kind == ErrorKind.DEADLINE:
            return f"{provider} did not finish it in time ({gen.error})."
        if kind in (ErrorKind.DOWNLOAD, ErrorKind.STORAGE):
            return f"The audio could not be saved: {gen.error}."
        if kind == ErrorKind.INTERNAL:
            return "Something went wrong in the studio while handling this job, several times; it was stopped."
        if gen.state == S.FAILED:
            if plain := plain_words(gen.error, provider):
                return plain
            return f"{provider} could not generate this" + (f": {gen.error}" if gen.error else ".")
        return ""

    def what_to_do(self, *, is_owner: bool) -> str:
        """For a failure a retry cannot mend: who can mend it, and how."""
        provider, kind = self.provider, self.gen.error_kind
        if self.gen.state != S.FAILED or kind not in NOT_RETRYABLE:
            return ""
        if kind == ErrorKind.AUTH:
            if is_owner:
                return (
                    f"Have the studio's operator check its {provider} API key (it may be mistyped, revoked, "
                    "or without access to this model), then generate again."
                )
            return f"The project owner can have the {provider} API key checked."
        if is_owner:
            return f"Top up credits at {provider} (the studio's {provider} account), then generate again."
        return f"Ask the project owner to have credits topped up at {provider}."

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

    @property
    def route_note(self) -> str:
        """Which gateway a routed job went to and why, e.g. "Pixazo was unavailable; sent to Runware"."""
        gen = self.gen
        if not gen.gateway:
            return ""
        passed = [
            f"{registry.label(p['gateway'])} {PASSED_WORDS.get(p['why'], 'did not take it')}" for p in gen.gateways_passed
        ]
        sent = f"sent to {registry.label(gen.gateway)}"
        if passed:
            return f"{', '.join(passed)}; {sent}"
        reason = {
            routing.PREFERRED: ", the preferred gateway",
            routing.FASTER: ", the faster of the equally preferred gateways",
            routing.ASKED: " as asked",
        }
        return f"{sent[0].upper()}{sent[1:]}{reason.get(gen.gateway_reason, '')}"

    @cached_property
    def try_next(self) -> tuple[str, str] | None:
        """("Runware", url) when the gateway accepted a routed job and then failed it."""
        gateway = routing.next_gateway(self.gen)
        return (registry.label(gateway), id_url("generation_try_next", self.gen.pk)) if gateway else None


# Why a gateway was passed over, after its name (gateways_passed[].why).
PASSED_WORDS = {
    ErrorKind.UNAVAILABLE: "was unavailable",
    ErrorKind.RATE_LIMITED: "was limiting requests (429)",
    ErrorKind.AUTH: "refused the studio's API key",
    ErrorKind.CREDIT: "was out of credit",
    ErrorKind.TIMEOUT: "could not be reached",
    routing.CIRCUIT_OPEN: "was skipped after refusing several jobs in a row",
    routing.BUSY: "was being tried by other jobs",
}


# Provider messages a musician should not have to decode: pattern → plain words.
PLAIN_WORDS = (
    (
        re.compile(r"model\W+[\w.:@/-]+\W+not found or (is )?disabled|unknown model|invalid (enum value|model)", re.I),
        "{provider} does not offer this model right now (it may have been retired, or switched off for the "
        "studio's account). Choose another model.",
    ),
    (
        re.compile(r"(must be|at most) (\w+ )*\d[\d,]* char", re.I),
        "{provider} rejected the request: the text is longer than this model takes at once. Shorten it or split it.",
    ),
    (
        re.compile(r"(content|prompt).{0,40}(policy|moderat|flagged|inappropriate)", re.I),
        "{provider} turned the prompt down under its content rules. Rephrase it and try again.",
    ),
    (
        re.compile(r"(voice).{0,30}(not found|does not exist|invalid)", re.I),
        "{provider} rejected the request: that voice is not available to the studio's account. Pick another voice.",
    ),
)


def plain_words(error: str, provider: str) -> str:
    """A provider's message as a sentence anyone can act on, when it is one the studio
    recognises; else "" (the card then quotes the provider's words as they are)."""
    for pattern, words in PLAIN_WORDS:
        if error and pattern.search(error):
            return words.format(provider=provider)
    return ""


# --- Which cards, with how few queries ----------------------------------------------------


def cards_in(project_id: int):
    """A project's generations with what a card shows but its tracks, newest first."""
    return Generation.objects.filter(project_id=project_id).select_related("created_by", "project").order_by("-created_at", "-pk")


def listed(generations):
    """The generations a project's cards list: not hidden by a member, and not the records that
    file copies of other projects' tracks (nothing was generated here)."""
    return generations.filter(dismissed_at__isnull=True, copied_from__isnull=True)


def with_tracks(generations, *, having: set[int] | None = None) -> list[Card]:
    """Cards for the generations, with their tracks in one query (only those in `having`, when
    given: the others are known to have none)."""
    generations = list(generations)
    wanted = [g.pk for g in generations if having is None or g.pk in having]
    tracks: dict[int, list[Track]] = defaultdict(list)
    if wanted:
        # A track moved to another project stays out of its old project's cards.
        of_their_project = Track.objects.filter(generation_id__in=wanted, project_id=F("generation__project_id"))
        for track in of_their_project.order_by("generation_id", "position"):
            tracks[track.generation_id].append(track)
    return [Card(g, tracks[g.pk]) for g in generations]


def card(generation_id: int, project_id: int) -> Card:
    return with_tracks(cards_in(project_id).filter(pk=generation_id))[0]


@dataclass
class CardPage:
    """Cards of a project, newest first, and where the next older ones start (if any)."""

    cards: list[Card]
    older_than: int | None = None  # the id of the last card of the page, when older ones exist
    more_pending: int = 0  # pending cards past the RECENT_CARDS the page follows: counted, not shown


def page_cards(project_id: int) -> CardPage:
    """The cards the project page opens with: the latest ones, and any older one still pending."""
    generations = list(listed(cards_in(project_id))[: PAGE_CARDS + 1])
    more = len(generations) > PAGE_CARDS
    generations = generations[:PAGE_CARDS]
    shown = {g.pk for g in generations}
    followed, total = pending_ids(project_id)
    older_pending = [pk for pk in followed if pk not in shown]
    if older_pending:
        generations += cards_in(project_id).filter(pk__in=older_pending)
    older_than = generations[PAGE_CARDS - 1].pk if more else None
    return CardPage(with_tracks(generations), older_than, more_pending=total - len(followed))


def older_cards(project_id: int, before: Generation) -> CardPage:
    """The PAGE_CARDS cards listed after `before` (in the cards' order: newest first)."""
    older = listed(cards_in(project_id)).filter(
        Q(created_at__lt=before.created_at) | Q(created_at=before.created_at, pk__lt=before.pk)
    )
    generations = list(older[: PAGE_CARDS + 1])
    more = len(generations) > PAGE_CARDS
    generations = generations[:PAGE_CARDS]
    return CardPage(with_tracks(generations), generations[-1].pk if more else None)


def pending_in(project_id: int):
    """A project's pending generations."""
    return Generation.objects.filter(project_id=project_id, state__in=Generation.PENDING_STATES)


def pending_ids(project_id: int) -> tuple[list[int], int]:
    """The newest RECENT_CARDS pending cards' ids, and how many are pending in all (one query)."""
    rows = list(
        pending_in(project_id)
        .annotate(total=Window(Count("pk")))
        .order_by("-pk")
        .values_list("pk", "total")[:RECENT_CARDS]
    )
    return [pk for pk, _ in rows], (rows[0][1] if rows else 0)


@dataclass
class Backlog:
    """Pending cards a page does not follow: the oldest ones, when more than RECENT_CARDS are
    pending. As followed ones finish, the next come into view (`joining`); the rest are counted."""

    joining: list[int]
    more: int


def backlog(project_id: int, rows: list, asked: dict[int, str], *, after: int | None, pending_total: int) -> Backlog:
    """What a poll adds below the page's cards: the pending cards it does not follow yet, up to
    RECENT_CARDS followed in all (one query, only when some are due to join), and the count of
    the rest. `rows` are the poll's versions: the asked cards and the new ones."""
    followed = sum(1 for row in rows if row.state in Generation.PENDING_STATES)
    room = RECENT_CARDS - followed
    joining = []
    if room > 0 and pending_total > followed:
        hidden = pending_in(project_id)
        if after is not None:
            hidden = hidden.filter(pk__lte=after)
        joining = list(hidden.exclude(pk__in=[row.pk for row in rows]).order_by("-pk").values_list("pk", flat=True)[:room])
    return Backlog(joining, max(0, pending_total - followed - len(joining)))


def asked_cards(request: HttpRequest, *, limit: int = 2 * RECENT_CARDS) -> dict[int, str]:
    """The page's pending cards: id → the version it shows ("<id>" alone: always re-rendered).
    The page sends them as one comma-separated `ids` (one parameter to decode, not fifty); a
    repeated `ids` is read too."""
    asked = {}
    for value in request.GET.getlist("ids")[:limit]:
        for item in value.split(",", limit)[:limit]:
            pk, _, version = item.partition(":")
            if (parsed := parse_id(pk)) is not None:
                asked[parsed] = version
            if len(asked) >= limit:
                return asked
    return asked


def pending_count(project_id: int) -> Coalesce:
    """How many of the project's cards are pending, as a subquery (read alongside other rows)."""
    return Coalesce(Subquery(pending_in(project_id).order_by().values("project_id").annotate(n=Count("pk")).values("n")[:1]), 0)


VersionRow = namedtuple(
    "VersionRow",
    "pk state provider_status version next_check created_by_id has_tracks role library_version archived_at"
    " password_hash"  # the viewer's, which a watch token is checked against (poll_token.py)
    " pending_total",  # the project's pending cards, all of them (see backlog)
)
# `version`: the card's version (Generation.card_version); `next_check`: the job's next check, in
# seconds since the epoch (None: none planned).

# The versions query on PostgreSQL, written once: polls are the studio's most frequent request, and
# building this query through the ORM cost more than the database took to answer it. The card's
# version and next check come as text and a number: turning every row's timestamps into Python
# datetimes (Django's loader for them is pure Python) was a fifth of an unchanged poll.
_VERSIONS_SQL = """
SELECT g.id, g.state, g.provider_status, to_char(g.updated_at AT TIME ZONE 'UTC', 'YYYYMMDDHH24MISSUS'),
       extract(epoch FROM g.next_check_at)::float8, g.created_by_id,
       EXISTS (SELECT 1 FROM studio_track t WHERE t.generation_id = g.id),
       m.role, p.library_version, p.archived_at, u.password,
       (SELECT COUNT(*) FROM studio_generation q WHERE q.project_id = %(project)s AND q.state = ANY(%(pending)s))
FROM studio_generation g
JOIN studio_project p ON p.id = g.project_id
JOIN studio_membership m ON m.project_id = g.project_id AND m.user_id = %(user)s
JOIN auth_user u ON u.id = m.user_id AND u.is_active
WHERE g.project_id = %(project)s
  AND (g.id = ANY(%(asked)s::bigint[])
       OR (%(after)s::bigint IS NOT NULL AND g.id > %(after)s::bigint
           AND g.dismissed_at IS NULL AND g.copied_from_id IS NULL))
ORDER BY g.id DESC
LIMIT %(limit)s
"""


def versions(project_id: int, user, asked: dict[int, str], *, newer_than: int | None) -> list[VersionRow]:
    """State and version of each asked card and of every card listed since the page's newest
    (`newer_than`, an id: made by anyone, in any tab), with whether it has audio saved; and, on
    every row, the user's role and the project's library version and archive date. The
    membership check rides on this query (an outsider's or an inactive account's filter matches
    no row). One query, whatever the number of cards; None for `newer_than` asks for no new ones.
    `user`: a user or a user's id (a watch token's)."""
    user_id = getattr(user, "pk", user)
    limit = RECENT_CARDS + len(asked)
    if connection.vendor == "postgresql":
        with prepared_cursor(connection) as cursor:
            params = {
                "user": user_id, "project": project_id, "asked": list(asked), "after": newer_than, "limit": limit,
                "pending": list(Generation.PENDING_STATES),
            }  # fmt: skip
            cursor.execute(_VERSIONS_SQL, params)
            return [VersionRow._make(row) for row in cursor.fetchall()]
    wanted = Q(pk__in=asked)
    if newer_than is not None:
        wanted |= Q(pk__gt=newer_than, dismissed_at__isnull=True, copied_from__isnull=True)
    rows = (
        Generation.objects.filter(
            wanted, project_id=project_id, project__memberships__user=user_id, project__memberships__user__is_active=True
        )
        .annotate(
            has_tracks=Exists(Track.objects.filter(generation=OuterRef("pk"))),
            role=F("project__memberships__role"),
            library_version=F("project__library_version"),
            archived_at=F("project__archived_at"),
            password_hash=F("project__memberships__user__password"),
            pending_total=pending_count(project_id),
        )
        .order_by("-pk")[:limit]
        .values_list("pk", "state", "provider_status", "updated_at", "next_check_at", *VersionRow._fields[5:])
    )
    return [
        VersionRow(pk, state, status, card_version(updated_at), next_check and next_check.timestamp(), *rest)
        for pk, state, status, updated_at, next_check, *rest in rows
    ]


def changed_cards(project_id: int, rows: list, asked: dict[int, str]) -> tuple[list[Card], list[Card]]:
    """The cards whose row changed since the version the page shows, and the cards the page does
    not show yet, newest first. A card that is no longer pending is always sent: missing its end
    would leave it spinning. Tracks are fetched for those that had audio saved, and for any that
    has just finished (its audio may have been saved since the versions were read): a card still
    pending with none is known to have none."""
    changed = [row for row in rows if to_send(row, asked)]
    if not changed:
        return [], []
    generations = list(cards_in(project_id).filter(pk__in=[row.pk for row in changed]))
    had_tracks = {row.pk for row in changed if row.has_tracks}
    cards = with_tracks(generations, having=had_tracks | {g.pk for g in generations if not g.is_pending})
    return [c for c in cards if c.gen.pk in asked], [c for c in cards if c.gen.pk not in asked]


def to_send(row, asked: dict[int, str]) -> bool:
    """Whether a page showing the `asked` cards must be sent this row's card."""
    return (
        row.pk not in asked
        or row.state not in Generation.PENDING_STATES
        or row.version != asked[row.pk]
    )


def next_look_ms(pending: list) -> int | None:
    """When the page should look once more before its next refresh, if at all (milliseconds):
    soon when a job's audio is moments away; else just after the earliest next check of a job
    (a worker's planned status check, or with a callback the model's usual finish)."""
    if any(_finishing(row.state, row.provider_status) for row in pending):
        return settings.CARD_SOON_MS
    now = timezone.now().timestamp()
    allowance, refresh = CHECK_ALLOWANCE.total_seconds(), settings.CARD_REFRESH_MS / 1000
    due = [row.next_check for row in pending if row.next_check and now - allowance < row.next_check < now + refresh]
    if not due:
        return None
    return max(round((min(due) + allowance - now) * 1000), settings.CARD_SOON_MS // 2)


def _finishing(state: str, provider_status: str) -> bool:
    """Done at the provider, the audio not on the card yet: it will be within moments."""
    return state == S.FETCHING or (state == S.RUNNING and provider_status == ProviderState.SUCCEEDED)
