"""Compare mode and the set page: start a set (prompts × models), watch its grid fill in, pick a
favourite per row, retry the failed, cancel the pending, download the set as a ZIP."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.text import slugify
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from studio.access import get_membership, get_set_for_user
from studio.catalog import available_models
from studio.errors import Refused
from studio.http import HtmxHttpRequest
from studio.jobs import cards
from studio.jobs.views import cards_answer
from studio.library.zips import zip_response
from studio.models import Generation, GenerationSet, Role, Track
from studio.sets import services
from studio.sets.forms import CompareForm, model_fields_forms
from studio.sets.grid import grid
from studio.rules import StartRequest
from studio.sets.planning import NotPlanned, plan_set
from studio.spend.views import estimate_response


@login_required
@require_http_methods(["GET", "POST"])
def set_new(request: HtmxHttpRequest, project_id: int) -> HttpResponse:
    """The compare form; a valid one starts the set and opens its page."""
    project = get_membership(request.user, project_id, Role.EDITOR).project
    problems: list[str] = []
    if request.method == "POST":
        form, own_forms = CompareForm(request.POST, request.FILES), model_fields_forms(request.POST)
        if form.is_valid():
            try:
                models, jobs = _planned(form, own_forms)
                generation_set = services.start_set(project=project, user=request.user, models=models, rows=form.rows, jobs=jobs)
            except NotPlanned as exc:
                problems = exc.messages
            except Refused as exc:
                problems = [exc.message]
            else:
                return redirect(generation_set)
        # Shown again as typed; their mistakes are among the problems, by model and field.
        own_forms = model_fields_forms(initial={f.catalog_model.key: f.raw_values() for f in own_forms})
    else:
        form, own_forms = CompareForm(), model_fields_forms()
    context = {
        "project": project, "form": form, "own_forms": own_forms, "problems": problems, "max_set_jobs": settings.MAX_SET_JOBS,
    }  # fmt: skip
    return render(request, "studio/compare.html", context, status=400 if problems or form.errors else 200)


def _planned(form: CompareForm, own_forms) -> tuple[list, list]:
    """The models picked and one planned job per prompt × model, each checked against its model
    (NotPlanned: every mistake, by row and column)."""
    chosen = set(form.cleaned_data["models"])
    models = [model for model in available_models() if model.key in chosen]
    own = {f.catalog_model.key: f.raw_values() for f in own_forms}
    return models, plan_set(models=models, rows=form.rows, shared=form.shared(), own=own, columns=form.columns)


@login_required
@require_POST
def set_estimate(request: HtmxHttpRequest, project_id: int) -> HttpResponse:
    """What the set the compare form describes would cost, and what is left of the member's
    budgets, asked for again (htmx) as the form changes. Nothing starts; POST because the form may
    carry a CSV file."""
    membership = get_membership(request.user, project_id, Role.EDITOR)
    form, own_forms = CompareForm(request.POST, request.FILES), model_fields_forms(request.POST)
    try:
        if not form.is_valid():
            raise NotPlanned([])
        _, jobs = _planned(form, own_forms)
    except NotPlanned:
        return render(request, "spend/estimate_pending.html")
    return estimate_response(request, membership, [StartRequest(job.model.key, job.params) for job in jobs])


@login_required
@require_GET
def set_detail(request: HtmxHttpRequest, set_id: int) -> HttpResponse:
    generation_set = get_set_for_user(request.user, set_id)
    membership = get_membership(request.user, generation_set.project_id)
    the_grid = grid(generation_set)
    context = {
        "generation_set": generation_set,
        "project": generation_set.project,
        "grid": the_grid,
        "pending_ids": [card.gen.pk for card in the_grid.pending],
        "can_edit": membership.allows(Role.EDITOR),
        "can_generate": False,  # a cell's card carries no buttons: the set's own actions are above the grid
        "in_set": True,
    }
    return render(request, "studio/set.html", context)


@login_required
@require_GET
def set_cards_poll(request: HtmxHttpRequest, set_id: int) -> HttpResponse:
    """The project page's one request per interval, for the set's pending cards (all of them)."""
    project_id = GenerationSet.objects.filter(pk=set_id).values_list("project_id", flat=True).first()
    if project_id is None:
        raise Http404("No such set")
    return cards_answer(request, project_id, cards.asked_cards(request, limit=settings.MAX_SET_JOBS), in_set=True)


@login_required
@require_POST
def set_pick(request: HtmxHttpRequest, set_id: int, generation_id: int) -> HttpResponse:
    generation_set = get_set_for_user(request.user, set_id, Role.EDITOR)
    generation = Generation.objects.filter(pk=generation_id, generation_set=generation_set).first()
    if generation is None:
        raise Http404("No such job in this set")
    try:
        services.pick(generation_set=generation_set, generation=generation, user=request.user)
    except Refused as exc:
        messages.error(request, exc.message)
    if request.htmx:
        row = grid(generation_set).rows[generation.set_row]
        context = {"row": row, "generation_set": generation_set, "project": generation_set.project, "can_edit": True, "in_set": True}
        return render(request, "studio/set.html#row", context)
    return redirect(f"{generation_set.get_absolute_url()}#row-{generation.set_row + 1}")


@login_required
@require_POST
def set_retry_failed(request: HtmxHttpRequest, set_id: int) -> HttpResponse:
    generation_set = get_set_for_user(request.user, set_id, Role.EDITOR)
    try:
        count = services.retry_failed(generation_set=generation_set, user=request.user)
    except Refused as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"{count} failed job{'s' if count != 1 else ''} started again.")
    return redirect(generation_set)


@login_required
@require_POST
def set_cancel_pending(request: HtmxHttpRequest, set_id: int) -> HttpResponse:
    generation_set = get_set_for_user(request.user, set_id, Role.EDITOR)
    count = services.cancel_pending(generation_set=generation_set)
    messages.success(request, f"{count} pending job{'s' if count != 1 else ''} cancelled.")
    return redirect(generation_set)


@login_required
@require_GET
def set_zip(request: HtmxHttpRequest, set_id: int) -> HttpResponse:
    """Every cell's audio, named by row and model, with the manifest."""
    generation_set = get_set_for_user(request.user, set_id)
    latest = services.latest_jobs(generation_set)
    cells = {gen.pk: (row, column) for (row, column), gen in latest.items()}
    tracks = Track.objects.filter(generation_id__in=cells).order_by("generation__set_row", "generation__set_column", "position")
    columns = generation_set.model_keys

    def name_for(track: Track) -> str:
        row, column = cells[track.generation_id]
        label = generation_set.rows[row].get("title") or generation_set.rows[row]["prompt"]
        stem = slugify(label)[:60].strip("-") or "prompt"
        return f"{row + 1:03d}-{stem}--{columns[column]}.{track.extension}"

    return zip_response(tracks.iterator(), archive_name=f"{generation_set.project.name} set {generation_set.pk}", name_for=name_for)
