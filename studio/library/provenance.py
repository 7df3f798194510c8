"""Each track's provenance: what was asked, of which model, through which gateway and why, the
parameters as sent, who started it and when, every state change, the cost with its unit, and
the file's SHA-256 and format. Computed from what the studio stores (the job, its transitions,
the track), except the parameters as sent, which are kept when the gateway accepts the job
(GatewayAttempt.params); for a job from before they were kept, they are computed the same way the
pipeline builds them.

One record per track, as JSON on the track page and in every ZIP (manifest.json, and
manifest.csv with one row per file). A fixed number of queries for any number of tracks.
"""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from collections.abc import Iterable

from providers import registry
from studio.catalog import BY_KEY
from studio.jobs import routing
from studio.jobs.cards import Card
from studio.models import GatewayAttempt, Generation, Track, Transition

BATCH = 500  # tracks whose records are read at once

CSV_COLUMNS = (
    "file", "title", "format", "content_type", "size_bytes", "sha256", "duration_seconds", "prompt", "model",
    "model_label", "gateway", "gateway_label", "routed", "provider_model", "provider_job_id", "started_by",
    "started_at", "finished_at", "cost", "cost_unit", "parameters_sent", "states", "set_id", "set_row",
    "set_column", "picked", "follows", "track_id", "generation_id",
)  # fmt: skip


def _iso(moment) -> str | None:
    return moment.isoformat() if moment else None


def records(tracks: Iterable[Track], *, names: dict[int, str] | None = None, public: bool = False) -> list[dict]:
    """The tracks' records, in their order. `names`: track id → its file name in an archive
    (else its download name); `public`: for a share link, without the member who started it."""
    tracks = list(tracks)
    out = []
    for start in range(0, len(tracks), BATCH):
        out += _batch(tracks[start : start + BATCH], names or {}, public)
    return out


def _batch(tracks: list[Track], names: dict[int, str], public: bool) -> list[dict]:
    ids = {track.generation_id for track in tracks}
    jobs = {gen.pk: gen for gen in Generation.objects.filter(pk__in=ids).select_related("created_by", "project")}
    states = defaultdict(list)
    for change in Transition.objects.filter(generation_id__in=ids).order_by("generation_id", "at", "pk"):
        states[change.generation_id].append(
            {"from": change.from_state, "to": change.to_state, "at": _iso(change.at), "reason": change.reason}
        )
    sent = {}
    accepted = GatewayAttempt.objects.filter(generation_id__in=ids, outcome=GatewayAttempt.Outcome.ACCEPTED)
    for attempt in accepted.order_by("sent_at", "pk"):
        sent[attempt.generation_id] = attempt.params  # the latest accepted: the one that ran
    return [_record(track, jobs[track.generation_id], states, sent, names, public) for track in tracks]


def _record(track: Track, gen: Generation, states: dict, sent: dict, names: dict[int, str], public: bool) -> dict:
    model = BY_KEY.get(gen.model_key)
    serving = routing.serving_model(gen) if model else None
    provider = gen.provider
    card = Card(gen)
    record = {
        "file": {
            "name": names.get(track.pk, track.download_name),
            "title": track.title,
            "format": track.extension,
            "content_type": track.content_type,
            "size_bytes": track.size,
            "sha256": track.sha256,
            "duration_seconds": track.duration_seconds,
        },
        "prompt": gen.prompt,
        "model": {"key": gen.model_key, "label": model.label if model else gen.model_key},
        "gateway": {
            "key": provider,
            "label": registry.label(provider) if provider else "",
            "routed": card.route_note if model and model.gateway_models else "",
            "catalog_model": serving.key if serving else "",
            "provider_model": serving.provider_model if serving else "",
            "provider_job_id": gen.external_id,
        },
        "parameters_sent": sent.get(gen.pk, serving.spec.to_wire(gen.params) if serving and provider else gen.params),
        "parameters_recorded_when_sent": gen.pk in sent,
        "started_by": None if public else (gen.created_by.get_username() if gen.created_by else None),
        "started_at": _iso(gen.created_at),
        "finished_at": _iso(gen.finished_at),
        "states": states.get(gen.pk, []),
        "cost": None if gen.cost is None else {"amount": str(gen.cost), "unit": gen.cost_unit},
        "set": None,
        "follows": gen.follows_id,
        "track_id": track.pk,
        "generation_id": gen.pk,
    }
    if gen.generation_set_id:
        record["set"] = {"id": gen.generation_set_id, "row": gen.set_row + 1, "column": gen.set_column + 1, "picked": gen.picked}
    if public:
        del record["started_by"]
    return record


def as_json(items: list[dict]) -> bytes:
    return json.dumps(items, indent=2, ensure_ascii=False).encode()


def as_csv(items: list[dict]) -> bytes:
    """One row per file; nested values (the parameters, the states) as JSON in their cell."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for item in items:
        file, gateway, cost, in_set = item["file"], item["gateway"], item["cost"] or {}, item["set"] or {}
        row = {
            **{key: file[key] for key in ("title", "format", "content_type", "size_bytes", "sha256", "duration_seconds")},
            "file": file["name"],
            "prompt": item["prompt"],
            "model": item["model"]["key"],
            "model_label": item["model"]["label"],
            "gateway": gateway["key"],
            "gateway_label": gateway["label"],
            "routed": gateway["routed"],
            "provider_model": gateway["provider_model"],
            "provider_job_id": gateway["provider_job_id"],
            "started_by": item.get("started_by") or "",
            "started_at": item["started_at"],
            "finished_at": item["finished_at"] or "",
            "cost": cost.get("amount", ""),
            "cost_unit": cost.get("unit", ""),
            "parameters_sent": json.dumps(item["parameters_sent"], ensure_ascii=False, sort_keys=True),
            "states": json.dumps([[s["to"], s["at"]] for s in item["states"]]),
            "set_id": in_set.get("id", ""),
            "set_row": in_set.get("row", ""),
            "set_column": in_set.get("column", ""),
            "picked": in_set.get("picked", ""),
            "follows": item["follows"] or "",
            "track_id": item["track_id"],
            "generation_id": item["generation_id"],
        }
        writer.writerow(["" if row[column] is None else row[column] for column in CSV_COLUMNS])
    return buffer.getvalue().encode()
