"""The project page and its jobs: the generate form, the cards and their one poll, and the card
actions (cancel, retry, resubmit)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseStopPolling, trigger_client_event

from studio.access import (
    get_generation_for_user,
    get_membership,
    get_project_for_user,
    get_track_for_user,
    projects_for_user,
)
from studio.catalog import available_models, get_model
from studio.errors import Refused
from studio.http import HtmxHttpRequest, parse_id
from studio.jobs import cards, services
from studio.jobs.forms import GenerateForm, initial_from_params
from studio.library.find import find
from studio.models import ROLE_RANK, Generation, Project, Role, Track


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
    track_id = parse_id(request.GET.get("from", ""))
    if track_id is None:
        return {}, None
    track = get_track_for_user(request.user, track_id)
    if track.generation.model_key != chosen.key:
        return {}, None
    variation = request.GET.get("variation") == "1"
    return initial_from_params(chosen, track.generation.params, variation=variation), track


def _project_context(membership, form: GenerateForm | None) -> dict:
    project = membership.project
    page_cards = cards.page_cards(project.pk)
    return {
        "project": project,
        "form": form,
        "cards": page_cards,
        "pending_ids": [c.gen.pk for c in page_cards if c.gen.is_pending],
        "can_generate": membership.allows(Role.EDITOR) and project.archived_at is None,
        "membership": membership,
    }


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
    if not form.is_valid():
        return _form_response(request, project, form)
    try:
        gen = services.start_generation(project=project, user=request.user, model=chosen, params=form.parameters())
    except Refused as exc:
        form.add_error(None, exc.message)
        return _form_response(request, project, form)
    if not request.htmx:
        return redirect(project)
    fresh = GenerateForm(catalog_model=chosen, initial=_sticky_initial(form))
    return _new_card_response(request, project, gen, form=fresh)


def _new_card_response(request, project: Project, gen: Generation, *, form=None) -> HttpResponse:
    """The new card on top of the list and polling restarted; plus the fresh form, if any."""
    context = {
        "project": project,
        "form": form,
        "card": cards.card(gen.pk, project.pk),
        "pending_ids": cards.pending_ids(project.pk),
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


@login_required
@require_GET
def cards_poll(request: HtmxHttpRequest, project_id: int) -> HttpResponse:
    """One request per interval for the whole page. Each pending card in the page sends its id and
    the version it shows; only the cards whose row has changed since are re-rendered, out of band.
    At most five queries for one card or fifty. Answers 286 (stop polling) once none of them is
    pending (a new card brings a fresh poller with it), and may ask for one extra look before
    the next refresh when news is due sooner (see _next_look_ms)."""
    return cards_answer(request, project_id, cards.asked_cards(request))


def cards_answer(request, project_id: int, asked: dict[int, str], *, in_set: bool = False) -> HttpResponse:
    """The changed cards among those asked, out of band; 286 once none is pending. `in_set`: the
    cards are shown in their set's grid (no buttons there: the set has its own actions)."""
    rows = cards.versions(project_id, request.user, asked)
    if not rows:
        get_membership(request.user, project_id)  # 404 for anyone outside the project
        return HttpResponseStopPolling()
    pending = [row for row in rows if row.state in Generation.PENDING_STATES]
    can_generate = not in_set and ROLE_RANK[rows[0].project__memberships__role] >= ROLE_RANK[Role.EDITOR]
    context = {"cards": cards.changed_cards(project_id, rows, asked), "can_generate": can_generate, "in_set": in_set}
    response = render(request, "studio/cards_poll.html", context)
    if not pending:
        stop = HttpResponseStopPolling(response.content)
        stop["Content-Type"] = response["Content-Type"]
        return stop
    look_in = cards.next_look_ms(pending)
    if look_in is not None:
        trigger_client_event(response, "cards-look", {"in": look_in})
    return response


@login_required
@require_GET
def generation_card(request: HtmxHttpRequest, generation_id: int) -> HttpResponse:
    gen = get_generation_for_user(request.user, generation_id)
    membership = get_membership(request.user, gen.project_id)
    context = {"card": cards.card(gen.pk, gen.project_id), "project": gen.project, "can_generate": membership.allows(Role.EDITOR)}
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
    try:
        services.resubmit_generation(generation=gen, user=request.user)
    except Refused as exc:
        messages.error(request, exc.message)
        return _card_or_redirect(request, gen, error=exc.message)
    if not request.htmx:
        return redirect(gen.project)
    return _new_card_response(request, gen.project, gen)


@login_required
@require_POST
def generation_retry(request: HtmxHttpRequest, generation_id: int) -> HttpResponse:
    return _start_another(request, generation_id, services.retry_generation)


@login_required
@require_POST
def generation_try_next(request: HtmxHttpRequest, generation_id: int) -> HttpResponse:
    """"Try on <next gateway>": a routed job its gateway accepted and then failed."""
    return _start_another(request, generation_id, services.try_next_gateway)


def _start_another(request, generation_id: int, start) -> HttpResponse:
    """A new job in place of one that ended (`start`: a service taking the generation and user)."""
    gen = get_generation_for_user(request.user, generation_id, Role.EDITOR)
    try:
        new = start(generation=gen, user=request.user)
    except Refused as exc:
        messages.error(request, exc.message)
        return _card_or_redirect(request, gen, error=exc.message, oob=True)  # the retry button swaps nothing itself
    if not request.htmx:
        return redirect(gen.project)
    return _new_card_response(request, gen.project, new)


def _card_or_redirect(request, gen: Generation, *, error: str = "", oob: bool = False) -> HttpResponse:
    if not request.htmx:
        return redirect(gen.project)
    context = {
        "card": cards.card(gen.pk, gen.project_id), "project": gen.project, "can_generate": True, "card_error": error, "oob": oob,
    }  # fmt: skip
    return render(request, "studio/project.html#card", context)
