"""What every fault run must show, read from the database, the storage and the emulator's counters:
nothing lost, nothing failed, "Needs attention" only where the studio could not know whether a
provider took the job, nothing paid twice, every stored file what the emulator served."""

from __future__ import annotations

import hashlib
from collections import Counter

from django.core.files.storage import default_storage

from providers.registry import PROVIDERS
from studio.errors import ErrorKind
from studio.models import Generation

S = Generation.State


def audit(jobs: dict[int, str], emulator, kill_times: list) -> dict:
    """`jobs`: generation id → the prompt it was started with (each one unique in the run)."""
    stats = emulator.stats()
    ambiguous = stats["ambiguous_answers"]["by_request_body"]
    renders = stats["renders"]["by_text"]
    made = emulator.jobs()
    # What the emulator made or rendered for each prompt: every one of them would be billed.
    paid = {prompt: sum(1 for job in made if prompt in str(job.params)) + renders.get(prompt, 0) for prompt in jobs.values()}
    served = {job.request_id: job for job in made}
    gens = list(Generation.objects.filter(pk__in=jobs).prefetch_related("tracks", "transitions"))
    result = {
        "jobs": len(gens),
        "states": dict(Counter(g.state for g in gens)),
        "lost": [g.pk for g in gens if g.state in Generation.PENDING_STATES],
        "failed": [(g.pk, g.model_key, g.error_kind, g.error) for g in gens if g.state == S.FAILED],
        "paid_twice": [(g.pk, paid[jobs[g.pk]]) for g in gens if paid[jobs[g.pk]] > 1],
        "bad_files": [],
        "attention_explained": Counter(),
        "attention_unexplained": [],
        "unfinished": [
            (g.pk, g.model_key, g.state, g.error_kind, [t.reason for t in g.transitions.all()][-4:])
            for g in gens
            if g.state in Generation.PENDING_STATES
        ][:10],
    }
    for gen in gens:
        if gen.state == S.SUCCEEDED:
            tracks = list(gen.tracks.all())
            if not tracks or paid[jobs[gen.pk]] != 1:
                result["bad_files"].append(gen.pk)
            for track in tracks:
                with default_storage.open(track.file.name, "rb") as fh:
                    stored = hashlib.sha256(fh.read()).hexdigest()
                job = served.get(gen.external_id)  # synchronous renders have no job to compare with
                if stored != track.sha256 or (job is not None and track.position == 0 and job.media_sha256() != stored):
                    result["bad_files"].append(gen.pk)
        if gen.state == S.NEEDS_ATTENTION:
            reason = why_attention(gen, jobs[gen.pk], ambiguous, kill_times)
            if reason:
                result["attention_explained"][reason] += 1
            else:
                result["attention_unexplained"].append((gen.pk, gen.model_key, gen.error_kind, gen.error))
    result["attention_explained"] = dict(result["attention_explained"])
    return result


def why_attention(gen: Generation, prompt: str, ambiguous: dict, kill_times: list) -> str:
    """Why the studio could not know whether the provider took this job, or "" if nothing explains it."""
    if PROVIDERS[gen.catalog_model.provider].client_names_job:
        return ""  # a job the studio names is resent under its own id, never handed to the user
    transitions = list(gen.transitions.all())
    sent = [t.at for t in transitions if t.to_state == S.SUBMITTING]
    asked = [t.at for t in transitions if t.to_state == S.NEEDS_ATTENTION]
    if gen.error_kind == ErrorKind.INTERRUPTED:
        if any(start <= kill <= end for start in sent for kill in kill_times for end in asked):
            return "a kill inside its submit"
    if gen.error_kind in (ErrorKind.TIMEOUT, ErrorKind.UNREADABLE) and any(prompt in body for body in ambiguous):
        return "an answer held or cut short after the provider did the work"
    return ""


def check(result: dict) -> None:
    assert result["lost"] == [], result
    assert result["failed"] == [], result
    assert result["attention_unexplained"] == [], result
    assert result["paid_twice"] == [], result
    assert result["bad_files"] == [], result
