"""Provider callbacks. Authenticated by the generation's own secret in the URL (compared in
constant time) and, where the provider signs, by its signature. The handler only records and
nudges; downloads happen in the worker. Repeats are harmless."""

import logging

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.crypto import constant_time_compare
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from providers.base import CallbackRejected, ProviderError
from studio.catalog import BY_KEY
from studio.http import MAX_ID, json_depth_within, parse_int
from studio.jobs import actors, pipeline, routing
from studio.jobs.adapters import get_adapter
from studio.jobs.rows import step_row

log = logging.getLogger(__name__)
MAX_CALLBACK_BYTES = 256 * 1024


def _not_found() -> HttpResponse:
    return JsonResponse({"error": "not found"}, status=404)


@csrf_exempt  # providers cannot send our CSRF token; the per-generation secret stands in for it
@require_POST
def provider_callback(request: HttpRequest, provider: str, generation_id: int, token: str) -> HttpResponse:
    gen = step_row(generation_id)  # one plain read: callbacks come as fast as jobs finish
    model = routing.serving_model(gen) if gen and gen.model_key in BY_KEY else None  # a routed job: its gateway's
    if gen is None or model is None or model.provider != provider:
        return _not_found()
    if not constant_time_compare(token, gen.callback_token):
        return _not_found()
    declared = parse_int(request.headers.get("Content-Length") or "0", low=0, high=MAX_ID)
    if declared is None:
        return JsonResponse({"error": "bad Content-Length"}, status=400)
    if declared > MAX_CALLBACK_BYTES:
        return JsonResponse({"error": "body too large"}, status=413)
    body = request.read(MAX_CALLBACK_BYTES + 1)
    if len(body) > MAX_CALLBACK_BYTES:
        return JsonResponse({"error": "body too large"}, status=413)
    if not json_depth_within(body):
        return JsonResponse({"error": "the body nests too deep"}, status=400)
    adapter = get_adapter(provider)
    try:
        job = adapter.parse_callback(request.headers, body)
    except CallbackRejected as exc:
        log.warning("callback for generation %s rejected: %s", gen.pk, exc.message)
        return JsonResponse({"error": exc.message}, status=400)
    except ProviderError as exc:  # readable but not a status we know: answer 2xx, poll decides
        log.warning("callback for generation %s unreadable: %s", gen.pk, exc.message)
        job = None
    # A callback names its job: one that names none, or another, is not this job's news, even
    # when it is signed (the URL's token alone does not say which job the body speaks of).
    if job is not None and (not job.external_id or job.external_id != gen.external_id):
        return JsonResponse({"error": "not this job"}, status=400)
    if job is not None:
        step = pipeline.handle_callback(gen.pk, job, trusted=adapter.signs_callbacks, gen=gen)
        if step is not None:
            actors.send(step)
    return JsonResponse({"ok": True})
