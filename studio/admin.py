from django.contrib import admin

from .models import Generation, Membership, Project, Track, Transition


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


@admin.register(Generation)
class GenerationAdmin(admin.ModelAdmin):
    # The callback token is a secret: never listed, never shown.
    list_display = ["pk", "project", "model_key", "state", "provider_status", "created_by", "created_at", "finished_at"]
    list_filter = ["state", "model_key"]
    search_fields = ["external_id", "project__name"]
    exclude = ["callback_token"]
    readonly_fields = ["external_id", "status_checks", "media", "created_at", "submitted_at", "started_at", "finished_at", "updated_at"]
    raw_id_fields = ["project", "created_by"]
    inlines = [TrackInline, TransitionInline]


@admin.register(Track)
class TrackAdmin(admin.ModelAdmin):
    list_display = ["title", "project", "content_type", "size", "duration_seconds", "created_at"]
    search_fields = ["title"]
    raw_id_fields = ["generation", "project"]
