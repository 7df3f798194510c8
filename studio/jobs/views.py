"""The project page and its jobs: the generate form, the cards and their one poll, and the card
actions (cancel, retry, resubmit)."""

from dataclasses import dataclass
from types import SimpleNamespace

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import F
from django.http import Http404, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import trigger_client_event

from studio import rules
from studio.access import (
    get_generation_for_user,
    get_membership,
    get_project_for_user,
    get_track_for_user,
    projects_for_user,
)
from studio.catalog import available_models, get_model
from studio.errors import Refused
from studio.http import MAX_ID, HtmxHttpRequest, parse_id, parse_int
from studio.jobs import card_html, cards, poll_token, services
from studio.jobs.forms import GenerateForm, initial_from_params
from studio.library.find import find
from studio.library.services import dismiss_generation
from studio.models import Generation, Membership, Project, Role, Track, role_allows


@login_required
@require_GET
def project_detail(request: HtmxHttpRequest, project_id: int) -> HttpResponse:
    membership = get_membership(request.user, project_id)
    models = available_models()
    chosen = get_model(request.GET.get("model", "")) or (models[0] if models else None)
    initial, source = _prefill(request, chosen) if chosen else ({}, None)
    form = GenerateForm(catalog_model=chosen, initial=initial) if chosen else None
    response = _project_page(request, membership, form, prefilled_from=source)
    poll_token.give(response, request)  # the page's polls need not read the session
    return response


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
    return {
        **_cards_context(membership, cards.page_cards(project.pk)),
        "form": form,
        "library_version": project.library_version,  # read before the library: a change in between shows next time
        "can_see_usage": rules.may_see_usage(membership),
    }


def _cards_context(membership, page: cards.CardPage) -> dict:
    """What the card partials need: the cards, where older ones start, and what the user may do."""
    project = membership.project
    return {
        "project": project,
        "cards": page.cards,
        "older_than": page.older_than,
        "more_pending": page.more_pending,
        "can_generate": membership.allows(Role.EDITOR) and project.archived_at is None,
        "is_owner": membership.role == Role.OWNER,
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
    """The new card on top of the list (the page brings it into view and announces it); plus the
    fresh form, if any."""
    context = {"project": project, "form": form, "card": cards.card(gen.pk, project.pk), "can_generate": True}
    response = render(request, "studio/generate_done.html", context)
    trigger_client_event(response, "card-started", {"id": gen.pk})
    return response


def _sticky_initial(form: GenerateForm) -> dict:
    """Keep the settings for the next take; the prompt too, so variations are one edit away."""
    return {name: value for name, value in form.cleaned_data.items() if value not in (None, "")}


def _form_response(request, project: Project, form) -> HttpResponse:
    if request.htmx:
        return render(request, "studio/project.html#generate-form", {"project": project, "form": form})
    return _project_page(request, get_membership(request.user, project.pk), form, status=400)


@require_GET
def cards_poll(request: HtmxHttpRequest, project_id: int) -> HttpResponse:
    """One request per interval for the whole page, whoever is generating in the project.

    The page sends each pending card's id and the version it shows (only the cards whose row
    changed since are re-rendered), the newest card it shows (`after`: cards made since, by
    anyone, in any tab, are sent to go on top) and the library version it shows with the
    search, filters and page the library is showing (`library`, `library_query`: a changed
    library is sent again as the user sees it). The same few queries for one card or fifty, and
    for any number of tracks or members. The page paces its requests itself (static/cards.js:
    quicker while a card is pending, slower when idle or hidden), and may be asked for one
    extra look before the next refresh when news is due sooner (see next_look_ms).

    With a valid watch token (poll_token.py) the poll is answered without the session: one
    query when nothing changed on a page following pending cards (two on a page following none:
    the membership is then read apart)."""
    asked = cards.asked_cards(request)
    shown = Shown(
        after=parse_int(request.GET.get("after", ""), low=0, high=MAX_ID),
        library=parse_int(request.GET.get("library", ""), low=0, high=MAX_ID),
        more_pending=parse_int(request.GET.get("more", ""), low=0, high=MAX_ID) or 0,
    )
    token = poll_token.read(request)
    if token is not None and not token.renew:
        answer = _answer_on_token(request, project_id, token, asked, shown)
        if answer is not None:
            return answer
    return _cards_poll_signed_in(request, project_id, asked, shown, token=token)


@dataclass(frozen=True)
class Shown:
    """What a polling page shows besides its pending cards' versions: its newest card, its
    library's version and how many pending cards it counts below its cards."""

    after: int | None = None
    library: int | None = None
    more_pending: int = 0


@login_required
def _cards_poll_signed_in(request, project_id, asked, shown: Shown, *, token) -> HttpResponse:
    response = cards_answer(request, project_id, asked, shown=shown)
    if token is None or token.renew or token.user_id != request.user.pk:
        poll_token.give(response, request)
    return response


def _answer_on_token(request, project_id: int, token, asked: dict[int, str], shown: Shown) -> HttpResponse | None:
    """The answer on the token's word, its user checked in the same query (an active member
    whose password is the token's); None when the session must answer: no such member, or the
    library changed (sent again as the user searched it, through the session)."""
    rows = cards.versions(project_id, token.user_id, asked, newer_than=shown.after)
    if rows:
        facts = rows[0]
    else:
        facts = (
            Membership.objects.filter(project_id=project_id, user_id=token.user_id, user__is_active=True)
            .annotate(pending_total=cards.pending_count(project_id))
            .values("role", "pending_total", password_hash=F("user__password"),
                    library_version=F("project__library_version"), archived_at=F("project__archived_at"))
            .first()
        )  # fmt: skip
        if facts is None:
            return None  # not (or no longer) a member: the session's answer says so
        facts = SimpleNamespace(**facts)
    if not token.vouches_for(facts.password_hash) or (shown.library is not None and shown.library != facts.library_version):
        return None
    context = _news(request, project_id, token.user_id, rows, asked, shown, facts)
    response = HttpResponse(render_to_string("studio/cards_poll.html", context) if context else b"")
    response["Cache-Control"] = "private, no-store"
    return _with_look(response, rows)


def _news(request, project_id: int, user_id: int, rows: list, asked: dict[int, str], shown: Shown, facts, *,
          in_set: bool = False) -> dict:  # fmt: skip
    """What a poll sends, as the context of studio/cards_poll.html (empty: nothing changed): the
    changed cards, the new ones, and below the cards the backlog's cards coming into view and
    the count of the rest. `facts`: the viewer's role, the project's archive date and pending
    total (a versions row carries them)."""
    can_generate = not in_set and role_allows(facts.role, Role.EDITOR) and facts.archived_at is None
    is_owner = facts.role == Role.OWNER
    in_place, on_top = card_html.changed_and_new(
        request, project_id, user_id, rows, asked, can_generate=can_generate, is_owner=is_owner, in_set=in_set
    )
    news = {"changed_cards": in_place, "new_cards": on_top} if in_place or on_top else {}
    if not in_set:
        waiting = cards.backlog(project_id, rows, asked, after=shown.after, pending_total=facts.pending_total)
        if waiting.joining:
            news["joining_cards"] = card_html.joining(
                request, project_id, user_id, waiting.joining, can_generate=can_generate, is_owner=is_owner
            )
        if waiting.more != shown.more_pending:
            news["more_pending"] = waiting.more
    return news


def _with_look(response: HttpResponse, rows: list) -> HttpResponse:
    """Ask the page for one extra look before its next refresh when news is due sooner."""
    pending = [row for row in rows if row.state in Generation.PENDING_STATES]
    look_in = cards.next_look_ms(pending) if pending else None
    if look_in is not None:
        trigger_client_event(response, "cards-look", {"in": look_in})
    return response


def cards_answer(request, project_id: int, asked: dict[int, str], *, shown: Shown = Shown(), in_set: bool = False) -> HttpResponse:
    """The poll's answer through the session: the changed cards among those asked (and the cards
    made since `shown.after`, the backlog below), out of band; the library again when the page
    shows another version of it. `in_set`: the cards are shown in their set's grid (no buttons
    there: the set has its own actions)."""
    rows = cards.versions(project_id, request.user, asked, newer_than=shown.after)
    # The user's role and the project's library version ride on the rows (an outsider's match none);
    # with no row to carry them, the membership says them, or answers 404.
    membership = None if rows else _membership_with_pending(request.user, project_id)
    facts = rows[0] if rows else SimpleNamespace(
        role=membership.role, library_version=membership.project.library_version,
        archived_at=membership.project.archived_at, pending_total=membership.pending_total,
    )  # fmt: skip
    context = _news(request, project_id, request.user.pk, rows, asked, shown, facts, in_set=in_set)
    if shown.library is not None and shown.library != facts.library_version:
        project = (membership or get_membership(request.user, project_id)).project
        query = QueryDict(request.GET.get("library_query", "")[:2000])
        can_edit = role_allows(facts.role, Role.EDITOR)
        context.update(find(query, [project.pk], project=project, can_edit=can_edit), library_version=facts.library_version)
    return _with_look(render(request, "studio/cards_poll.html", context), rows)


def _membership_with_pending(user, project_id: int) -> Membership:
    """The user's membership of the project (or 404), with the project's pending total."""
    membership = (
        Membership.objects.select_related("project").annotate(pending_total=cards.pending_count(project_id))
        .filter(project_id=project_id, user=user).first()
    )  # fmt: skip
    if membership is None:
        raise Http404("No such project")
    return membership


@login_required
@require_GET
def older_cards(request: HtmxHttpRequest, project_id: int) -> HttpResponse:
    """The next page of older cards ("Older"): in place on the project page, or as a page."""
    membership = get_membership(request.user, project_id)
    project = membership.project
    before = get_object_or_404(Generation, pk=parse_id(request.GET.get("before", "")) or 0, project=project)
    context = _cards_context(membership, cards.older_cards(project.pk, before))
    template = "studio/project.html#older-cards" if request.htmx else "studio/generations.html"
    return render(request, template, context)


@login_required
@require_GET
def generation_card(request: HtmxHttpRequest, generation_id: int) -> HttpResponse:
    gen = get_generation_for_user(request.user, generation_id)
    membership = get_membership(request.user, gen.project_id)
    context = {
        "card": cards.card(gen.pk, gen.project_id), "project": gen.project,
        "can_generate": membership.allows(Role.EDITOR), "is_owner": membership.role == Role.OWNER,
    }  # fmt: skip
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


@login_required
@require_POST
def generation_dismiss(request: HtmxHttpRequest, generation_id: int) -> HttpResponse:
    """Hide a failed or cancelled card; the job stays on record."""
    gen = get_generation_for_user(request.user, generation_id, Role.EDITOR)
    try:
        dismiss_generation(user=request.user, generation=gen)
    except Refused as exc:
        messages.error(request, exc.message)
        return _card_or_redirect(request, gen, error=exc.message)
    if not request.htmx:
        return redirect(gen.project)
    return HttpResponse("")  # the card is swapped for nothing


def _card_or_redirect(request, gen: Generation, *, error: str = "", oob: bool = False) -> HttpResponse:
    if not request.htmx:
        return redirect(gen.project)
    context = {
        "card": cards.card(gen.pk, gen.project_id), "project": gen.project, "can_generate": True, "card_error": error, "oob": oob,
    }  # fmt: skip
    return render(request, "studio/project.html#card", context)
