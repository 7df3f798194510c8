"""Counters that tests read to assert how the studio used an API (no double submits, no runaway polling)."""

from __future__ import annotations

import threading
from collections import Counter

# name -> how its per-key breakdown is labelled in the snapshot
TALLIES = {
    "submissions": "by_request_id",
    "rejected_submissions": "by_status",
    "status_calls": "by_request_id",
    "callbacks_sent": "by_request_id",  # delivered: the receiver answered 2xx
    "callback_attempts": "by_request_id",  # every POST, retries included
    "callback_failures": "by_request_id",  # gave up after the retries
    "callbacks_skipped": "by_request_id",  # not posted because the URL is off this machine
    "media_fetches": "by_request_id",
    "faults_injected": "by_kind",  # faults.py
    # Requests whose answer was held past the client's timeout or cut short after the work was
    # done (faults.py), by their body: which job may have been accepted without the client knowing.
    "ambiguous_answers": "by_request_body",
    "renders": "by_text",  # synchronous renders (ElevenLabs), each one paid
}


class Stats:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts = {name: Counter() for name in TALLIES}

    def count(self, name: str, key: str | int) -> None:
        with self._lock:
            self._counts[name][str(key)] += 1

    def total(self, name: str) -> int:
        with self._lock:
            return sum(self._counts[name].values())

    def snapshot(self) -> dict:
        with self._lock:
            return {
                name: {"total": sum(counts.values()), TALLIES[name]: dict(counts)}
                for name, counts in self._counts.items()
            }
