import hashlib
import re
import secrets
import unicodedata
import uuid
from datetime import UTC

from django.conf import settings
from django.db import connections, models, router
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify

from studio.catalog import BY_KEY
from studio.id_urls import id_url


class Project(models.Model):
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="owned_projects")
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    archived_at = models.DateTimeField(null=True, blank=True)
    # Counts every change to the project's tracks (saved, renamed, tagged, moved, copied, deleted):
    # an open page compares it with the one it shows to know when its library is out of date.
    library_version = models.PositiveIntegerField(default=0)
    # The owner's order of gateways for models any gateway may serve: {gateway key: rank}, equal
    # ranks for equally preferred ones (the faster goes first); empty: the deployment's ROUTING_ORDER.
    gateway_ranks = models.JSONField(default=dict, blank=True)
    # Spend (studio/spend/): a monthly budget in the studio's currency, set by the owner (empty: the
    # deployment's SPEND_PROJECT_MONTHLY_BUDGET), and whether viewers may see the usage page.
    monthly_budget = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    usage_for_viewers = models.BooleanField(default=False)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return id_url("project", self.pk)


def library_changed(project_ids) -> None:
    """Tell the open pages of these projects that their library changed: call it in the
    transaction that changes the tracks. Plain SQL: every saved track passes here, and the ORM
    took longer to build the update than the database to run it; the rows are taken in id order,
    so two transactions changing the same projects cannot deadlock."""
    ids = sorted({int(pk) for pk in project_ids})
    if not ids:
        return
    connection = connections[router.db_for_write(Project)]
    table = connection.ops.quote_name(Project._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET library_version = library_version + 1 WHERE id IN ({', '.join(['%s'] * len(ids))})", ids
        )


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    EDITOR = "editor", "Editor"
    VIEWER = "viewer", "Viewer"


# What each role may do, ranked: a role includes the rights of those below it.
ROLE_RANK = {Role.VIEWER: 1, Role.EDITOR: 2, Role.OWNER: 3}


def role_allows(role: str, minimum: str) -> bool:
    """Whether `role` is `minimum` or better (a membership's role, or one read alongside other rows)."""
    return ROLE_RANK[role] >= ROLE_RANK[minimum]


class Membership(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.EDITOR)
    created_at = models.DateTimeField(default=timezone.now)
    # What this member may spend in the project, set by the owner (empty: the deployment's default).
    daily_limit = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    monthly_limit = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    jobs_per_minute = models.PositiveSmallIntegerField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["project", "user"], name="one_membership_per_user")]

    def __str__(self):
        return f"{self.user} in {self.project} ({self.role})"

    def allows(self, role: str) -> bool:
        return role_allows(self.role, role)


class GenerationState(models.TextChoices):
    QUEUED = "queued", "Queued"  # saved, waiting for the submit actor
    SUBMITTING = "submitting", "Submitting"  # claimed by a worker that is calling the provider
    RUNNING = "running", "Generating"  # accepted by the provider
    FETCHING = "fetching", "Saving audio"  # copying the provider's files into our storage
    SUCCEEDED = "succeeded", "Ready"
    FAILED = "failed", "Failed"
    NEEDS_ATTENTION = "needs_attention", "Needs attention"  # outcome unknown: the user decides
    CANCELLED = "cancelled", "Cancelled"


class SpendBasis(models.TextChoices):
    """How the studio knows what a job costs in its currency (studio/spend/ledger.py)."""

    REPORTED = "reported", "Reported"  # the provider's report, converted at the configured rate
    PRICE = "price", "Set price"  # the model's configured price: its provider reports nothing
    ESTIMATE = "estimate", "Estimate"  # learnt from the model's recent jobs, until a report replaces it
    NOT_CHARGED = "not_charged", "Not charged"  # the provider never took the job
    UNKNOWN = "", "Unknown"


def new_callback_token() -> str:
    return secrets.token_urlsafe(32)


def card_version(updated_at) -> str:
    return updated_at.astimezone(UTC).strftime("%Y%m%d%H%M%S%f")


class Generation(models.Model):
    """One job: what was asked, and the facts of how it went. What a card says is composed from
    these facts when it is shown (cards.py), so the wording can change without touching the
    pipeline that records them."""

    State = GenerationState
    PENDING_STATES = (State.QUEUED, State.SUBMITTING, State.RUNNING, State.FETCHING)
    TERMINAL_STATES = (State.SUCCEEDED, State.FAILED, State.CANCELLED)

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="generations")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="generations"
    )
    model_key = models.CharField(max_length=64)
    params = models.JSONField(default=dict)
    state = models.CharField(max_length=20, choices=State.choices, default=State.QUEUED)
    provider_status = models.CharField(max_length=20, blank=True)  # last state the provider reported
    progress = models.PositiveSmallIntegerField(null=True, blank=True)  # the provider's percentage, if it gives one
    external_id = models.CharField(max_length=200, blank=True)
    # Why the job failed, is retrying or needs attention (ErrorKind values), and the technical
    # words (the provider's own), kept for the track page and the admin.
    error_kind = models.CharField(max_length=20, blank=True)
    error = models.TextField(blank=True)
    attempt = models.PositiveSmallIntegerField(default=0)  # times the job was sent to the provider
    waiting_for = models.CharField(max_length=20, blank=True)  # "slot" or "retry" while queued again
    retrying_since = models.DateTimeField(null=True, blank=True)  # the first refusal of a run of retries
    step_failures = models.PositiveSmallIntegerField(default=0)  # unexpected errors in the studio's own steps
    # What the job cost as its provider reported it (an amount in the provider's unit), and in the
    # studio's currency with how that is known (the ledger: studio/spend/ledger.py).
    cost = models.DecimalField(max_digits=18, decimal_places=6, null=True, blank=True)
    cost_unit = models.CharField(max_length=12, blank=True)  # providers.base.CostUnit
    spend = models.DecimalField(max_digits=14, decimal_places=6, null=True, blank=True)
    spend_basis = models.CharField(max_length=12, choices=SpendBasis.choices, blank=True)
    audio_seconds = models.FloatField(default=0)  # what its saved tracks hold
    media = models.JSONField(default=list, blank=True)  # provider URLs of the finished files
    callback_token = models.CharField(max_length=64, default=new_callback_token, editable=False)
    client_ref = models.UUIDField(default=uuid.uuid4, editable=False)  # our id for the job at the provider
    status_checks = models.PositiveIntegerField(default=0)  # also the turn a status-check message must hold
    submit_turn = models.PositiveIntegerField(default=0)  # the turn a submit message must hold
    # A worker thread in a long step (a provider call, a download) holds the job until this time,
    # renewed while it works: a live lease means "busy", an expired one "its holder died".
    lease_holder = models.CharField(max_length=64, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    submitted_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)  # provider reported it running
    finished_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)
    # When the studio next asks the provider (a status check or a retry), or with a callback when
    # the model's jobs usually finish: the page can look again just after it.
    next_check_at = models.DateTimeField(null=True, blank=True)
    # When the model's jobs usually finish, from the durations a worker has seen (poll_timing):
    # the card counts down to it, and says when a job runs later than usual.
    expected_finish_at = models.DateTimeField(null=True, blank=True)
    dismissed_at = models.DateTimeField(null=True, blank=True)  # hidden from the cards, kept on record
    # A copy of another project's track is filed under a generation of its own, pointing back here.
    copied_from = models.ForeignKey("self", on_delete=models.SET_NULL, null=True, blank=True, related_name="copies")
    # A set's grid cell (row: a prompt, column: a model) and whether it is its row's pick.
    generation_set = models.ForeignKey(
        "GenerationSet", on_delete=models.SET_NULL, null=True, blank=True, related_name="generations"
    )
    set_row = models.PositiveSmallIntegerField(null=True, blank=True)
    set_column = models.PositiveSmallIntegerField(null=True, blank=True)
    picked = models.BooleanField(default=False)
    # Routed models (jobs/routing.py): the gateway sending or serving the job and why (a reason
    # code), the gateways that refused or were passed over before it, and the job it tries again.
    gateway = models.CharField(max_length=20, blank=True)
    gateway_reason = models.CharField(max_length=20, blank=True)
    gateways_passed = models.JSONField(default=list, blank=True)
    follows = models.ForeignKey("self", on_delete=models.SET_NULL, null=True, blank=True, related_name="followed_by")

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["project", "-created_at"], name="generation_project_recent"),
            models.Index(fields=["state", "updated_at"], name="generation_state_updated"),
            # A model's recent reported costs: what its estimates are learnt from.
            models.Index(
                fields=["model_key", "-id"], condition=models.Q(spend_basis="reported"), name="generation_reported_cost"
            ),
        ]

    def __str__(self):
        return f"Generation {self.pk} ({self.model_key}, {self.state})"

    @property
    def is_pending(self) -> bool:
        return self.state in self.PENDING_STATES

    @property
    def cancel_url(self) -> str:
        return id_url("generation_cancel", self.pk)

    @property
    def resubmit_url(self) -> str:
        return id_url("generation_resubmit", self.pk)

    @property
    def retry_url(self) -> str:
        return id_url("generation_retry", self.pk)

    @property
    def dismiss_url(self) -> str:
        return id_url("generation_dismiss", self.pk)

    @property
    def card_version(self) -> str:
        """Which version of the card a page shows: the row's last change, to the microsecond."""
        return card_version(self.updated_at)

    @property
    def took(self) -> str:
        """From the click to the final state, e.g. "4 s" or "2 min 5 s"."""
        if not self.finished_at:
            return ""
        seconds = max(0, round((self.finished_at - self.created_at).total_seconds()))
        minutes, seconds = divmod(seconds, 60)
        return f"{minutes} min {seconds} s" if minutes else f"{seconds} s"

    @property
    def provider(self) -> str:
        """The provider serving the job: a routed job's gateway, else its model's ("" if unknown)."""
        if self.gateway:
            return self.gateway
        model = BY_KEY.get(self.model_key)
        return model.provider if model else ""

    @property
    def catalog_model(self):
        return BY_KEY.get(self.model_key)

    @property
    def prompt(self) -> str:
        model = BY_KEY.get(self.model_key)
        name = model.spec.prompt_param if model else "prompt"
        return str(self.params.get(name) or self.params.get("prompt") or self.params.get("text") or "")


class Transition(models.Model):
    """Every change of a generation's state, with when and why."""

    generation = models.ForeignKey(Generation, on_delete=models.CASCADE, related_name="transitions")
    from_state = models.CharField(max_length=20)
    to_state = models.CharField(max_length=20)
    reason = models.CharField(max_length=300, blank=True)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["at", "pk"]

    def __str__(self):
        return f"{self.from_state} → {self.to_state}"


# Reserved on Windows, macOS or Linux, and control characters: dropped from download names.
UNSAFE_IN_FILE_NAMES = re.compile(r'[<>:"/\\|?*\x00-\x1f\x7f]')


def track_upload_to(track, filename):
    # Stored names are ours alone: provider-supplied names never reach the filesystem.
    return f"tracks/{track.project_id}/{secrets.token_hex(16)}{filename[filename.rfind('.'):]}"


class Tag(models.Model):
    """A word a project's members sort tracks by; names are unique within a project."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="tags")
    name = models.CharField(max_length=40)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["project", "name"], name="one_tag_name_per_project")]

    def __str__(self):
        return self.name


def search_words(text: str) -> str:
    """Searchable form of text: case-folded, whitespace collapsed. Queries are folded the same way."""
    return " ".join(text.casefold().split())


def sort_key(text: str) -> str:
    """How a title sorts: case and accents ignored ("Élan" beside "elan", before "Zebra")."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c)).strip()


class Track(models.Model):
    generation = models.ForeignKey(Generation, on_delete=models.CASCADE, related_name="tracks")
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="tracks")
    position = models.PositiveSmallIntegerField(default=0)  # order within its generation
    title = models.CharField(max_length=200)
    file = models.FileField(upload_to=track_upload_to, max_length=300)
    content_type = models.CharField(max_length=100)
    extension = models.CharField(max_length=10)
    size = models.PositiveBigIntegerField(default=0)
    sha256 = models.CharField(max_length=64)
    duration_seconds = models.FloatField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    favorite = models.BooleanField(default=False)  # the team's star, shared by every member
    tags = models.ManyToManyField(Tag, blank=True, related_name="tracks")
    # Title and prompt, case-folded, in one column: one (trigram) index serves the search.
    search_text = models.TextField(blank=True, default="", editable=False)
    sort_title = models.CharField(max_length=200, blank=True, default="", editable=False)  # sort_key(title)
    # The waveform: min and max of each of up to WAVEFORM_BUCKETS stretches, as whole numbers from
    # -127 to 127, flat ([min, max, min, max, ...]); [] when the audio could not be decoded,
    # None until computed (studio/audio/waveform.py).
    peaks = models.JSONField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["generation", "position"]
        constraints = [
            models.UniqueConstraint(fields=["generation", "position"], name="one_track_per_position")
        ]
        indexes = [
            models.Index(fields=["project", "-created_at", "-id"], name="track_project_recent"),
            models.Index(fields=["-created_at", "-id"], name="track_recent"),  # search across projects
            models.Index(fields=["project", "sort_title", "id"], name="track_project_sort_title"),
            models.Index(fields=["project", "duration_seconds"], name="track_project_duration"),
        ]

    def __str__(self):
        return self.title

    def save(self, *args, **kwargs):
        fields = kwargs.get("update_fields")
        if fields is None or "title" in fields:
            self.search_text = self.searchable_text()
            self.sort_title = sort_key(self.title)[:200]
            if fields is not None:
                kwargs["update_fields"] = {*fields, "search_text", "sort_title"}
        super().save(*args, **kwargs)

    def searchable_text(self) -> str:
        return search_words(f"{self.title}\n{self.generation.prompt}")

    def get_absolute_url(self):
        return id_url("track_detail", self.pk)

    @property
    def audio_url(self) -> str:
        return id_url("track_audio", self.pk)

    @property
    def favorite_url(self) -> str:
        return id_url("track_favorite", self.pk)

    @property
    def download_name(self) -> str:
        """The title as typed, less what no file system accepts in a name (sent as `filename*`)."""
        stem = " ".join(UNSAFE_IN_FILE_NAMES.sub("", self.title).split())[:120].strip(" .") or f"track-{self.pk}"
        return f"{stem}.{self.extension}"

    @property
    def ascii_download_name(self) -> str:
        """The fallback for clients that ignore `filename*`: the title as an ASCII slug."""
        stem = slugify(self.title)[:80].strip("-") or f"track-{self.pk}"
        return f"{stem}.{self.extension}"


def new_share_token() -> str:
    return secrets.token_urlsafe(24)  # 192 random bits


class ShareLink(models.Model):
    """A public link to one track or to a whole project, until it expires or is revoked."""

    token = models.CharField(max_length=64, unique=True, default=new_share_token, editable=False)
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="share_links")
    track = models.ForeignKey(Track, on_delete=models.CASCADE, null=True, blank=True, related_name="share_links")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="share_links"
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)
    allow_download = models.BooleanField(default=False)
    revoked_at = models.DateTimeField(null=True, blank=True)
    plays = models.PositiveIntegerField(default=0)
    downloads = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self):
        return f"Share link to {self.track or self.project}"

    def get_absolute_url(self):
        return reverse("share", args=[self.token])

    def is_live(self, now=None) -> bool:
        now = now or timezone.now()
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)


INVITATION_DAYS = 7
INVITED_ROLES = [(Role.EDITOR, "Editor"), (Role.VIEWER, "Viewer")]  # a project has one owner


def new_invitation_token() -> str:
    return secrets.token_urlsafe(24)  # 192 random bits


def invitation_token_hash(token: str) -> str:
    # Only the hash is stored: a copy of the database holds no working link.
    return hashlib.sha256(token.encode()).hexdigest()


class Invitation(models.Model):
    """An e-mail address asked to join a project, until it is accepted, revoked or expires."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField()  # lower case
    role = models.CharField(max_length=10, choices=INVITED_ROLES, default=Role.VIEWER)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="invitations_sent"
    )
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(default=timezone.now)  # the latest e-mail: a resend moves it
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="invitations_accepted"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-sent_at", "-pk"]
        constraints = [
            # Inviting an address again refreshes its open invitation instead of adding a second one.
            models.UniqueConstraint(
                fields=["project", "email"],
                condition=models.Q(accepted_at__isnull=True, revoked_at__isnull=True),
                name="one_open_invitation_per_address",
            ),
            models.CheckConstraint(condition=models.Q(role__in=[Role.EDITOR, Role.VIEWER]), name="invited_as_editor_or_viewer"),
        ]

    def __str__(self):
        return f"Invitation of {self.email} to {self.project}"

    def is_live(self, now=None) -> bool:
        now = now or timezone.now()
        return self.accepted_at is None and self.revoked_at is None and self.expires_at > now


class PasswordResetRequest(models.Model):
    """One request for a password reset link, kept for an hour to limit them per address and
    per account (studio/teams/password_reset.py)."""

    email = models.EmailField()  # lower case, as asked: whether an account has it is not recorded
    client_address = models.GenericIPAddressField(null=True, blank=True)
    requested_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(fields=["email", "requested_at"], name="reset_request_email"),
            models.Index(fields=["client_address", "requested_at"], name="reset_request_address"),
        ]

    def __str__(self):
        return f"Password reset for {self.email}"


class GenerationSet(models.Model):
    """Prompts × models started in one submit: a grid whose cells are generations (their
    set_row and set_column); a retried cell shows its latest generation."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="generation_sets")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="generation_sets"
    )
    created_at = models.DateTimeField(default=timezone.now)
    model_keys = models.JSONField(default=list)  # the columns: catalog model keys, in order
    rows = models.JSONField(default=list)  # the rows: {"prompt": ..., "title": ...}, in order

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self):
        return f"Set {self.pk}: {len(self.rows)} prompts × {len(self.model_keys)} models"

    def get_absolute_url(self):
        return id_url("set_detail", self.pk)


class GatewayCircuit(models.Model):
    """One gateway's circuit breaker, shared by every worker (jobs/circuit.py)."""

    gateway = models.CharField(max_length=20, unique=True)
    refusals = models.PositiveIntegerField(default=0)  # in a row, since it last accepted a job
    proven = models.BooleanField(default=False)  # it accepted a job since its last refusal
    opened_at = models.DateTimeField(null=True, blank=True)  # skipped for a cool-down from here
    trials = models.JSONField(default=dict, blank=True)  # job id → expiry (epoch seconds) of a trial in flight
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self):
        return f"{self.gateway}: {self.refusals} refusals"


class GatewayAttempt(models.Model):
    """One submission of a job to a gateway and its answer: the provider health figures and
    each track's provenance (the parameters as sent) read these."""

    class Outcome(models.TextChoices):
        ACCEPTED = "accepted", "Accepted"
        REFUSED = "refused", "Refused"  # the gateway did not take it (down, 429, key, credit)
        REJECTED = "rejected", "Rejected"  # the request itself was refused (400/422)
        UNKNOWN = "unknown", "No clear answer"  # it may have been accepted

    generation = models.ForeignKey(Generation, on_delete=models.CASCADE, related_name="attempts")
    gateway = models.CharField(max_length=20)
    model_key = models.CharField(max_length=64)  # the catalog entry sent: a gateway's own for routed jobs
    sent_at = models.DateTimeField(default=timezone.now)
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    error_kind = models.CharField(max_length=20, blank=True)
    error = models.CharField(max_length=300, blank=True)
    params = models.JSONField(default=dict, blank=True)  # the parameters as sent, when accepted

    class Meta:
        ordering = ["sent_at", "pk"]
        indexes = [models.Index(fields=["sent_at"], name="gateway_attempt_recent")]

    def __str__(self):
        return f"{self.gateway} {self.outcome} generation {self.generation_id}"


class DailySpend(models.Model):
    """A project's jobs of one day, by member and model: summed as they start, end, report their
    cost and save their audio (studio/spend/ledger.py), so the usage page and the budget check
    read a few rows however many jobs there were. Days are in TIME_ZONE (UTC by default)."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="daily_spend")
    day = models.DateField()
    # Kept when the account is deleted (the money was spent): no database constraint to cascade.
    member = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.DO_NOTHING, db_constraint=False, null=True, related_name="+"
    )
    model_key = models.CharField(max_length=64)
    jobs = models.IntegerField(default=0)
    failed = models.IntegerField(default=0)
    unknown = models.IntegerField(default=0)  # jobs whose cost is unknown
    reported = models.DecimalField(max_digits=18, decimal_places=6, default=0)  # reported, set prices, nothing charged
    estimated = models.DecimalField(max_digits=18, decimal_places=6, default=0)
    failed_spend = models.DecimalField(max_digits=18, decimal_places=6, default=0)  # what the failed jobs cost
    audio_seconds = models.FloatField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "day", "member", "model_key"], name="one_daily_spend_row")
        ]
        indexes = [models.Index(fields=["day"], name="daily_spend_day")]  # every project's, for staff

    def __str__(self):
        return f"{self.project} on {self.day}: {self.reported + self.estimated}"


class BudgetNotice(models.Model):
    """A project reached a share of its monthly budget: its owner is told once per threshold per
    month, in the studio and by e-mail."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="budget_notices")
    month = models.DateField()  # its first day
    percent = models.PositiveSmallIntegerField()  # 80 or 100
    spent = models.DecimalField(max_digits=18, decimal_places=6)  # with pending jobs' estimates, when reached
    budget = models.DecimalField(max_digits=12, decimal_places=2)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-month", "-percent"]
        constraints = [
            models.UniqueConstraint(fields=["project", "month", "percent"], name="one_notice_per_threshold_and_month")
        ]

    def __str__(self):
        return f"{self.project} at {self.percent} % of its budget in {self.month:%B %Y}"
