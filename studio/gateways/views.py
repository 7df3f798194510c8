"""The Providers page (staff and project owners): each gateway's circuit and, per model, the last
hour's and day's submissions, acceptances, failures by kind, time to ready and last error; and the
gateway order of each project the user owns. Provider health never makes the studio unready:
/readyz and `manage.py check` do not read any of it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from providers.registry import PROVIDERS
from studio.access import get_membership, projects_for_provider_page
from studio.catalog import BY_KEY, MODELS, provider_configured
from studio.gateways import figures as health
from studio.gateways.charts import Chart, chart
from studio.gateways.forms import GatewayOrderForm
from studio.http import HtmxHttpRequest, parse_id
from studio.jobs import circuit
from studio.jobs.cards import format_seconds
from studio.models import Role

KIND_WORDS = {
    "unavailable": "unavailable",
    "rate_limited": "429",
    "auth": "key refused",
    "credit": "out of credit",
    "timeout": "timeout",
    "unreadable": "unreadable answer",
    "invalid": "request rejected",
    "failed": "failed at the provider",
    "deadline": "never finished",
    "download": "download",
    "storage": "storage",
    "internal": "studio error",
    "interrupted": "interrupted",
}


@dataclass
class WindowLine:
    window: str  # "last hour" | "last day"
    submissions: int
    accepted: int
    failed: str  # "3: unavailable 2, 429 1"
    median: str
    p95: str
    last_error: tuple[datetime, str, str] | None
    chart: Chart


@dataclass
class ModelLines:
    label: str
    windows: list[WindowLine]


@dataclass
class GatewayHealth:
    key: str
    label: str
    configured: bool
    circuit: circuit.State
    lines: list[ModelLines]  # the gateway's totals, then each model it was sent in the last day


def _seconds(value: float | None) -> str:
    return format_seconds(value) if value is not None else "none ready"


def _window_line(figures: health.Figures, window: health.Window) -> WindowLine:
    kinds = ", ".join(f"{KIND_WORDS.get(kind, kind)} {n}" for kind, n in figures.failed.most_common())
    error = figures.last_error
    return WindowLine(
        window=f"last {window.name}",
        submissions=figures.submissions,
        accepted=figures.accepted,
        failed=f"{figures.failed_total}: {kinds}" if kinds else "0",
        median=_seconds(figures.median_seconds),
        p95=_seconds(figures.p95_seconds),
        last_error=(error[0], KIND_WORDS.get(error[1], error[1]), error[2]) if error else None,
        chart=chart(figures, window),
    )


def gateway_health() -> list[GatewayHealth]:
    figures, states = health.gateway_figures(), circuit.states()
    empty = {w.name: health.empty(w) for w in health.WINDOWS}
    gateways = []
    for key, provider in PROVIDERS.items():
        models = [("All models", "")] + [(m.label, m.key) for m in MODELS if m.provider == key and (key, m.key) in figures]
        lines = [
            ModelLines(label, [_window_line(figures.get((key, model_key), empty)[w.name], w) for w in health.WINDOWS])
            for label, model_key in models
        ] if (key, "") in figures else []
        gateways.append(GatewayHealth(key, provider.label, provider_configured(key), states.get(key, circuit.State(key)), lines))
    return gateways


@login_required
@require_GET
def providers(request: HtmxHttpRequest) -> HttpResponse:
    owned = list(projects_for_provider_page(request.user))
    chosen = next((p for p in owned if p.pk == parse_id(request.GET.get("project", ""))), owned[0] if owned else None)
    context = {
        "gateways": gateway_health(),
        "owned": owned,
        "chosen": chosen,
        "order_form": GatewayOrderForm(project=chosen) if chosen else None,
        "routed_models": [m for m in BY_KEY.values() if m.gateway_models],
    }
    return render(request, "studio/providers.html", context)


@login_required
@require_POST
def gateway_order(request: HtmxHttpRequest, project_id: int) -> HttpResponse:
    """A project's own order of gateways (owner only), or back to the deployment's."""
    project = get_membership(request.user, project_id, Role.OWNER).project
    form = GatewayOrderForm(request.POST, project=project)
    if request.POST.get("reset") == "1":
        project.gateway_ranks = {}
        project.save(update_fields=["gateway_ranks"])
        messages.success(request, f"“{project.name}” follows the deployment's order of gateways again.")
    elif form.is_valid():
        project.gateway_ranks = form.ranks()
        project.save(update_fields=["gateway_ranks"])
        messages.success(request, f"Gateway order saved for “{project.name}”.")
    else:
        messages.error(request, " ".join(form.non_field_errors()) or "Choose a place for each gateway: nothing was changed.")
    return redirect(f"{reverse('providers')}?project={project.pk}#order")
