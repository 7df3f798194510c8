from datetime import timedelta

from django.conf import settings
from django.contrib import admin, messages
from django.utils import timezone

from studio.jobs.actors import send_all
from studio.jobs.pipeline import redrive as redrive_jobs
from studio.models import (
    Generation,
    Invitation,
    Membership,
    Project,
    ShareLink,
    Tag,
    Track,
    Transition,
)


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    raw_id_fields = ["user"]


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ["name", "owner", "created_at", "archived_at"]
    search_fields = ["name", "owner__username"]
    raw_id_fields = ["owner"]
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["project", "user", "role", "created_at"]
    list_filter = ["role"]
    raw_id_fields = ["project", "user"]


class TransitionInline(admin.TabularInline):
    model = Transition
    extra = 0
    readonly_fields = ["from_state", "to_state", "reason", "at"]
    can_delete = False


class TrackInline(admin.TabularInline):
    model = Track
    extra = 0
    fields = ["position", "title", "content_type", "size", "duration_seconds"]
    readonly_fields = fields


class StuckFilter(admin.SimpleListFilter):
    """Pending jobs nothing has touched for longer than the sweep waits (SWEEP_QUIET_SECONDS)."""

    title = "stuck"
    parameter_name = "stuck"

    def lookups(self, request, model_admin):
        return [("yes", "Pending and quiet")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            quiet_since = timezone.now() - timedelta(seconds=settings.SWEEP_QUIET_SECONDS)
            return queryset.filter(state__in=Generation.PENDING_STATES, updated_at__lt=quiet_since)
        return queryset


@admin.action(description="Re-drive selected pending jobs (send each the step its state needs)")
def redrive(modeladmin, request, queryset):
    sent = send_all(redrive_jobs(queryset))
    skipped = queryset.count() - sent
    modeladmin.message_user(request, f"Re-drove {sent} pending job(s).", messages.SUCCESS)
    if skipped:
        modeladmin.message_user(request, f"Skipped {skipped} job(s) that are not pending.", messages.WARNING)


@admin.register(Generation)
class GenerationAdmin(admin.ModelAdmin):
    # The callback token is a secret: never listed, never shown.
    list_display = [
        "pk", "project", "model_key", "state", "provider_status", "error_kind", "external_id", "created_by", "created_at", "updated_at", "finished_at",
    ]  # fmt: skip
    list_filter = ["state", StuckFilter, "model_key"]
    date_hierarchy = "created_at"
    actions = [redrive]
    search_fields = ["external_id", "project__name"]
    exclude = ["callback_token"]
    readonly_fields = ["external_id", "status_checks", "submit_turn", "lease_holder", "lease_expires_at", "media", "created_at", "submitted_at", "started_at", "finished_at", "updated_at"]
    raw_id_fields = ["project", "created_by"]
    inlines = [TrackInline, TransitionInline]


@admin.register(Track)
class TrackAdmin(admin.ModelAdmin):
    list_display = ["title", "project", "content_type", "size", "duration_seconds", "created_at"]
    search_fields = ["title"]
    raw_id_fields = ["generation", "project"]


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    list_display = ["name", "project"]
    search_fields = ["name"]
    raw_id_fields = ["project"]


@admin.register(ShareLink)
class ShareLinkAdmin(admin.ModelAdmin):
    list_display = ["project", "track", "created_by", "created_at", "expires_at", "revoked_at", "plays", "downloads"]
    raw_id_fields = ["project", "track", "created_by"]
    exclude = ["token"]  # a token shown is a link handed out


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = ["email", "project", "role", "invited_by", "created_at", "sent_at", "expires_at", "accepted_at", "revoked_at"]
    list_filter = ["role"]
    search_fields = ["email", "project__name"]
    exclude = ["token_hash"]  # no link, but no one's business either
    readonly_fields = [
        "project", "email", "role", "invited_by", "created_at", "sent_at", "expires_at", "accepted_at", "accepted_by", "revoked_at",
    ]  # fmt: skip

    def has_add_permission(self, request):
        return False  # made from a project's settings, where the e-mail goes out

    def has_change_permission(self, request, obj=None):
        return False  # a record of what was sent; revoke from the project's settings
