from datetime import timedelta

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import UserCreationForm
from django.db.models import Exists, OuterRef, Prefetch, prefetch_related_objects
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseStopPolling, trigger_client_event
from django_htmx.middleware import HtmxDetails

from providers.base import State as ProviderState

from . import services, stored_files
from .access import (
    get_generation_for_user,
    get_membership,
    get_project_for_user,
    get_track_for_user,
    projects_for_user,
)
from .catalog import available_models, get_model
from .forms import GenerateForm, ProjectForm, initial_from_params
from .library import find, project_overview
from .models import ROLE_RANK, Generation, Project, Role, Track, card_version
from .ranges import file_response

RECENT_CARDS = 50
PAGE_CARDS = 10  # cards the project page opens with
# News arrives a little after it is due (the queue's pickup, the status call, the copy of the
# audio): the page's extra look waits this much longer.
CHECK_ALLOWANCE = timedelta(milliseconds=300)


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


# --- Accounts ---------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def signup(request: HtmxHttpRequest) -> HttpResponse:
    if not settings.SIGNUP_OPEN:
        raise Http404("Sign-up is closed")
    form = UserCreationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        return redirect("home")
    return render(request, "registration/signup.html", {"form": form})


# --- Projects ---------------------------------------------------------------------


@login_required
@require_GET
def home(request: HtmxHttpRequest) -> HttpResponse:
    return render(request, "studio/home.html", {"projects": project_overview(request.user), "form": ProjectForm()})


@login_required
@require_POST
def project_create(request: HtmxHttpRequest) -> HttpResponse:
    form = ProjectForm(request.POST)
    if not form.is_valid():
        context = {"projects": project_overview(request.user), "form": form}
        return render(request, "studio/home.html", context, status=400)
    project = services.create_project(owner=request.user, **form.cleaned_data)
    messages.success(request, f"Project “{project.name}” created.")
    return redirect(project)


@login_required
@require_GET
def project_detail(request: HtmxHttpRequest, project_id: int) -> HttpResponse:
    membership = get_membership(request.user, project_id)
    models = available_models()
    chosen = get_model(request.GET.get("model", "")) or (models[0] if models else None)
    initial, source = _prefill(request, chosen) if chosen else ({}, None)
    form = GenerateForm(catalog_model=chosen, initial=initial) if chosen else None
    return _project_page(request, membership, form, prefilled_from=source)


def _project_page(request, membership, form, *, status: int = 200, prefilled_from=None) -> HttpResponse:
    """The whole project page: generate form, latest cards and one page of the library."""
    project = membership.project
    context = _project_context(membership, form)
    can_edit = membership.allows(Role.EDITOR)
    context.update(find(request.GET, [project.pk], project=project, can_edit=can_edit))
    if can_edit:  # where the bulk "Move" may send tracks
        context["move_targets"] = projects_for_user(request.user, Role.EDITOR).exclude(pk=project.pk).order_by("name")
    context["prefilled_from"] = prefilled_from
    return render(request, "studio/project.html", context, status=status)


def _prefill(request, chosen) -> tuple[dict, Track | None]:
    """"Generate again" (?from=<track>) and "Variation" (&variation=1): the track's model and parameters."""
    track_id = request.GET.get("from", "")
    if not track_id.isdigit():
        return {}, None
    track = get_track_for_user(request.user, int(track_id))
    if track.generation.model_key != chosen.key:
        return {}, None
    variation = request.GET.get("variation") == "1"
    return initial_from_params(chosen, track.generation.params, variation=variation), track


def _tracks_in_order() -> Prefetch:
    return Prefetch("tracks", queryset=Track.objects.order_by("position"))


def _cards_in(project_id: int):
    """A project's generations with what a card shows but its tracks, newest first."""
    return Generation.objects.filter(project_id=project_id).select_related("created_by").order_by("-created_at", "-pk")


def _recent_generations(project: Project):
    return _cards_in(project.pk).prefetch_related(_tracks_in_order())


def _project_context(membership, form: GenerateForm | None) -> dict:
    project = membership.project
    # The library below lists every track: the page shows the latest cards, and any older one still pending.
    generations = list(_recent_generations(project)[:PAGE_CARDS])
    shown = {g.pk for g in generations}
    older_pending = [pk for pk in _pending_ids(project) if pk not in shown]
    if older_pending:
        generations += _recent_generations(project).filter(pk__in=older_pending)
    return {
        "project": project,
        "form": form,
        "generations": generations,
        "pending_ids": [g.pk for g in generations if g.is_pending],
        "can_generate": membership.allows(Role.EDITOR) and project.archived_at is None,
        "membership": membership,
    }


# --- Generating -------------------------------------------------------------------


@login_required
@require_GET
def generate_fields(request: HtmxHttpRequest, project_id: int) -> HttpResponse:
    """The chosen model's own fields, swapped in when the model picker changes."""
    project = get_project_for_user(request.user, project_id, Role.EDITOR)
    chosen = get_model(request.GET.get("model", ""))
    if chosen is None:
        raise Http404("No such model")
    # Keep what the user typed in fields both models share (the prompt, usually).
    fields = chosen.spec.form_fields()
    initial = {k: v for k, v in request.GET.items() if k in fields and v}
    form = GenerateForm(catalog_model=chosen, initial=initial)
    return render(request, "studio/project.html#model-fields", {"form": form, "project": project})


@login_required
@require_POST
def generate(request: HtmxHttpRequest, project_id: int) -> HttpResponse:
    project = get_project_for_user(request.user, project_id, Role.EDITOR)
    chosen = get_model(request.POST.get("model", ""))
    if chosen is None:
        models = available_models()
        form = GenerateForm(catalog_model=models[0], data=request.POST) if models else None
        if form is not None:
            form.is_valid()
            form.add_error("model", "Choose one of the models offered.")
        return _form_response(request, project, form)
    form = GenerateForm(request.POST, catalog_model=chosen)
    if form.is_valid():
        try:
            services.check_pending_limit(user=request.user)
        except services.LimitReached as exc:
            form.add_error(None, str(exc))
    if form.is_valid() and project.archived_at is not None:
        form.add_error(None, "This project is archived: the owner can restore it to generate again.")
    if not form.is_valid():
        return _form_response(request, project, form)
    gen = services.start_generation(project=project, user=request.user, model=chosen, params=form.parameters())
    if not request.htmx:
        return redirect(project)
    fresh = GenerateForm(catalog_model=chosen, initial=_sticky_initial(form))
    return _new_card_response(request, project, gen, form=fresh)


def _new_card_response(request, project: Project, gen: Generation, *, form=None) -> HttpResponse:
    """The new card on top of the list and polling restarted; plus the fresh form, if any."""
    context = {
        "project": project,
        "form": form,
        "gen": _recent_generations(project).get(pk=gen.pk),
        "pending_ids": _pending_ids(project),
        "can_generate": True,
    }
    return render(request, "studio/generate_done.html", context)


def _sticky_initial(form: GenerateForm) -> dict:
    """Keep the settings for the next take; the prompt too, so variations are one edit away."""
    return {name: value for name, value in form.cleaned_data.items() if value not in (None, "")}


def _form_response(request, project: Project, form) -> HttpResponse:
    if request.htmx:
        return render(request, "studio/project.html#generate-form", {"project": project, "form": form})
    return _project_page(request, get_membership(request.user, project.pk), form, status=400)


def _pending_ids(project: Project) -> list[int]:
    return list(
        project.generations.filter(state__in=Generation.PENDING_STATES).values_list("pk", flat=True)[:RECENT_CARDS]
    )


@login_required
@require_GET
def cards_poll(request: HtmxHttpRequest, project_id: int) -> HttpResponse:
    """One request per interval for the whole page. Each pending card in the page sends its id and
    the version it shows; only the cards whose row has changed since are re-rendered, out of band.
    At most five queries for one card or fifty. Answers 286 (stop polling) once none of them is
    pending (a new card brings a fresh poller with it), and may ask for one extra look before
    the next refresh when news is due sooner (see _next_look_ms)."""
    asked = _asked_cards(request)
    # The membership check rides on the versions query: an outsider's filter matches no row.
    # So does whether a card has audio saved: only those need the tracks query.
    rows = list(
        Generation.objects.filter(project_id=project_id, pk__in=asked, project__memberships__user=request.user)
        .annotate(has_tracks=Exists(Track.objects.filter(generation=OuterRef("pk"))))
        .order_by()  # in no order: no sort to plan or run
        .values_list(
            "pk", "state", "provider_status", "updated_at", "news_due_at", "has_tracks", "project__memberships__role", named=True
        )
    )  # fmt: skip
    if not rows:
        get_membership(request.user, project_id)  # 404 for anyone outside the project
        return HttpResponseStopPolling()
    pending = [row for row in rows if row.state in Generation.PENDING_STATES]
    # A card that is no longer pending is always sent: missing its end would leave it spinning.
    changed = [
        row for row in rows if row.state not in Generation.PENDING_STATES or card_version(row.updated_at) != asked[row.pk]
    ]
    cards = _changed_cards(project_id, changed)
    role = rows[0].project__memberships__role
    can_generate = ROLE_RANK[role] >= ROLE_RANK[Role.EDITOR]
    response = render(request, "studio/cards_poll.html", {"cards": cards, "can_generate": can_generate})
    if not pending:
        stop = HttpResponseStopPolling(response.content)
        stop["Content-Type"] = response["Content-Type"]
        return stop
    look_in = _next_look_ms(pending)
    if look_in is not None:
        trigger_client_event(response, "cards-look", {"in": look_in})
    return response


def _changed_cards(project_id: int, changed: list) -> list[Generation]:
    """The changed cards to re-render, newest first. Tracks are fetched for those that had audio
    saved, and for any that has just finished (its audio may have been saved since the versions
    were read): a card still pending with none is known to have none yet."""
    if not changed:
        return []
    cards = list(_cards_in(project_id).filter(pk__in=[row.pk for row in changed]))
    had_tracks = {row.pk for row in changed if row.has_tracks}
    with_tracks = [card for card in cards if card.pk in had_tracks or not card.is_pending]
    prefetch_related_objects(with_tracks, _tracks_in_order())
    for card in cards:
        if card not in with_tracks:
            _known_to_have_no_tracks(card)
    return cards


def _known_to_have_no_tracks(gen: Generation) -> None:
    """Fill the card's tracks cache with an empty, already evaluated result, as a prefetch that
    found nothing would (prefetch_related_objects fills it the same way): no query, and no SQL
    compiled for it either."""
    empty = Track.objects.none()
    empty._result_cache, empty._prefetch_done = [], True
    gen._prefetched_objects_cache = {"tracks": empty}


def _next_look_ms(pending: list) -> int | None:
    """When the page should look once more before its next refresh, if at all (milliseconds):
    soon when a job's audio is moments away; else just after the earliest moment news of a job
    is due (a worker's planned status check, or with a callback the model's usual finish)."""
    if any(_finishing(row.state, row.provider_status) for row in pending):
        return settings.CARD_SOON_MS
    now = timezone.now()
    refresh = timedelta(milliseconds=settings.CARD_REFRESH_MS)
    due = [row.news_due_at for row in pending if row.news_due_at and now - CHECK_ALLOWANCE < row.news_due_at < now + refresh]
    if not due:
        return None
    return max(round((min(due) + CHECK_ALLOWANCE - now).total_seconds() * 1000), settings.CARD_SOON_MS // 2)


def _asked_cards(request: HttpRequest) -> dict[int, str]:
    """The page's pending cards: id → the version it shows ("<id>" alone: always re-rendered)."""
    asked = {}
    for value in request.GET.getlist("ids")[:RECENT_CARDS]:
        pk, _, version = value.partition(":")
        if pk.isdigit():
            asked[int(pk)] = version
    return asked


def _finishing(state: str, provider_status: str) -> bool:
    """Done at the provider, the audio not on the card yet: it will be within moments."""
    S = Generation.State
    return state == S.FETCHING or (state == S.RUNNING and provider_status == ProviderState.SUCCEEDED)


@login_required
@require_GET
def generation_card(request: HtmxHttpRequest, generation_id: int) -> HttpResponse:
    gen = get_generation_for_user(request.user, generation_id)
    membership = get_membership(request.user, gen.project_id)
    gen = _recent_generations(gen.project).get(pk=gen.pk)
    context = {"gen": gen, "project": gen.project, "can_generate": membership.allows(Role.EDITOR)}
    return render(request, "studio/project.html#card", context)


@login_required
@require_POST
def generation_cancel(request: HtmxHttpRequest, generation_id: int) -> HttpResponse:
    gen = get_generation_for_user(request.user, generation_id, Role.EDITOR)
    services.cancel_generation(generation=gen)
    return _card_or_redirect(request, gen)


@login_required
@require_POST
def generation_resubmit(request: HtmxHttpRequest, generation_id: int) -> HttpResponse:
    gen = get_generation_for_user(request.user, generation_id, Role.EDITOR)
    services.resubmit_generation(generation=gen)
    if not request.htmx:
        return redirect(gen.project)
    return _new_card_response(request, gen.project, gen)


@login_required
@require_POST
def generation_retry(request: HtmxHttpRequest, generation_id: int) -> HttpResponse:
    gen = get_generation_for_user(request.user, generation_id, Role.EDITOR)
    try:
        new = services.retry_generation(generation=gen, user=request.user)
    except services.LimitReached as exc:
        messages.error(request, str(exc))
        return _card_or_redirect(request, gen, error=str(exc))
    if not request.htmx:
        return redirect(gen.project)
    return _new_card_response(request, gen.project, new)


def _card_or_redirect(request, gen: Generation, *, error: str = "") -> HttpResponse:
    if not request.htmx:
        return redirect(gen.project)
    gen = _recent_generations(gen.project).get(pk=gen.pk)
    context = {"gen": gen, "project": gen.project, "can_generate": True, "card_error": error}
    return render(request, "studio/project.html#card", context)


# --- Files ------------------------------------------------------------------------


@login_required
@require_GET
def track_audio(request: HtmxHttpRequest, track_id: int) -> HttpResponse:
    track = get_track_for_user(request.user, track_id)
    return audio_response(request, track, as_attachment=request.GET.get("download") == "1")


def audio_response(request, track: Track, *, as_attachment: bool) -> HttpResponse:
    """A track's audio, to members and share links alike: a store link, or the bytes with Range."""
    link = stored_files.presigned_url(
        track.file.name, filename=track.download_name, content_type=track.content_type, as_attachment=as_attachment
    )
    if link:
        return redirect(link)
    try:
        fh = stored_files.open_for_download(track.file.name)
    except FileNotFoundError:
        raise Http404("The audio file is missing") from None
    return file_response(
        request,
        fh,
        size=track.size,
        content_type=track.content_type,
        filename=track.download_name,
        as_attachment=as_attachment,
        etag=track.sha256,
    )
