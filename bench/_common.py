"""What every benchmark shares: the two deployment modes, Django set up against a bench-only
database as production runs it (DEBUG off, static files collected), the provider emulator in its
own process on loopback, real worker and web processes, CPU and memory readings, and the little
table each benchmark prints (figure, value, target, met; the load average in its title).

Import this module before anything that imports Django: `configure()` sets the environment
that studio.settings reads.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# Defaults keep the benchmarks to this machine and to their own database and Redis number.
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/studio_bench"
DEFAULT_BROKER_URL = "redis://127.0.0.1:6379/2"
PORT_BASE = int(os.environ.get("BENCH_PORT_BASE", "18000"))  # each benchmark adds its own offset


def arguments(description: str, *, modes=("pg", "embedded")) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument(
        "--mode",
        choices=(*modes, "all") if len(modes) > 1 else modes,
        default="all" if len(modes) > 1 else modes[0],
        help="pg: PostgreSQL + Redis + a separate worker process; embedded: SQLite + in-process worker",
    )
    return parser


def configure(mode: str, *, media_root: str | None = None, **extra_env: str) -> dict:
    """Point studio.settings at the bench database and broker for `mode`, as production runs
    (DEBUG off: with it on, Django keeps the text of every query in every thread; hashed static
    files); answer the env used. Processes the benchmark starts inherit it."""
    env = {
        "DJANGO_SETTINGS_MODULE": "studio.settings",
        "DEBUG": "false",
        "SECRET_KEY": "bench-only-" + "k" * 50,
        "SECURE_SSL_REDIRECT": "false",  # loopback http, as behind a TLS proxy
        "STATIC_ROOT": tempfile.mkdtemp(prefix="studio-bench-static-"),
        "LOG_LEVEL": "WARNING",
        "MEDIA_ROOT": media_root or tempfile.mkdtemp(prefix="studio-bench-media-"),
        "DJANGO_ALLOW_ASYNC_UNSAFE": "true",  # Playwright's sync API runs an event loop in this thread
    }
    if mode == "pg":
        env["DATABASE_URL"] = os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL)
        env["BROKER_URL"] = os.environ.get("BENCH_BROKER_URL", DEFAULT_BROKER_URL)
    else:
        env["DATABASE_URL"] = f"sqlite:///{tempfile.mkdtemp(prefix='studio-bench-db-')}/bench.sqlite3"
        env["BROKER_URL"] = ""
    env.update(extra_env)
    os.environ.update(env)
    return env


def setup_django(mode: str) -> None:
    """django.setup(), a fresh schema (bench databases only ever hold bench data) and an empty queue."""
    import django

    if mode == "pg":
        create_pg_database(os.environ["DATABASE_URL"])
    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    call_command("collectstatic", interactive=False, verbosity=0)  # DEBUG off serves hashed names
    if mode == "pg":
        call_command("flush", verbosity=0, interactive=False)
        import redis

        redis.Redis.from_url(os.environ["BROKER_URL"]).flushdb()  # our own Redis number only


def create_pg_database(url: str) -> None:
    from urllib.parse import urlsplit

    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = parts._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("select 1 from pg_database where datname = %s", (name,)).fetchone():
            conn.execute(f'create database "{name}"')


def bench_user_and_project(username: str = "bench"):
    from django.contrib.auth import get_user_model

    from studio.teams.services import create_project

    user = get_user_model().objects.create_user(username=username, password="bench-" + username)
    return user, create_project(owner=user, name=f"{username} project")


def point_providers_at(base_url: str) -> None:
    """Every provider at the emulator (in this process's settings and, via env, in workers we start)."""
    from django.conf import settings

    for name in settings.PROVIDERS:
        os.environ[f"{name.upper()}_BASE_URL"] = f"{base_url}/{name}"
        os.environ[f"{name.upper()}_API_KEY"] = "emulator-key"
        settings.PROVIDERS[name] = {"api_key": "emulator-key", "base_url": f"{base_url}/{name}"}


# --- processes -------------------------------------------------------------------------


class Process:
    """A child process in its own process group, stopped (group and all) on exit."""

    def __init__(self, args: list[str], *, log_name: str, env: dict | None = None):
        self.log_path = Path(tempfile.gettempdir()) / f"studio-bench-{log_name}.log"
        self._log = open(self.log_path, "wb")
        self.popen = subprocess.Popen(
            args, cwd=ROOT, env={**os.environ, **(env or {})}, stdout=self._log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def pid(self) -> int:
        return self.popen.pid

    def stop(self, timeout: float = 15.0) -> None:
        if self.popen.poll() is None:
            try:
                os.killpg(self.popen.pid, signal.SIGTERM)
                self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait(timeout=5)
            except ProcessLookupError:
                pass
        self._log.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


# The processes a benchmark starts log as a deployment does (every move of a job is a line);
# the benchmark's own process keeps its terminal for the table.
PRODUCTION_LOGGING = {"LOG_LEVEL": "INFO"}


def start_worker(*, processes: int = 1, threads: int = 8) -> Process:
    """`manage.py rundramatiq --processes P --threads N`, as a deployment runs it."""
    args = [
        sys.executable, "manage.py", "rundramatiq", "--processes", str(processes), "--threads", str(threads),
    ]  # fmt: skip
    return Process(args, log_name="worker", env=PRODUCTION_LOGGING)


@contextmanager
def running_worker(mode: str, *, threads: int = 8):
    """A worker for the mode, stopped on exit: `pg`, `manage.py rundramatiq` in its own process
    (given a few seconds to boot); `embedded`, threads on this process's in-process broker."""
    if mode == "pg":
        with start_worker(threads=threads) as process:
            time.sleep(3)  # let it boot (and run its boot sweep)
            yield process
        return
    import dramatiq

    import studio.jobs.actors  # noqa: F401  (declares the actors' queue before the worker starts)

    worker = dramatiq.Worker(dramatiq.get_broker(), worker_threads=threads)
    worker.start()
    try:
        yield None
    finally:
        worker.stop()


def worker_processes(worker: Process, expected: int, *, timeout: float = 30.0) -> list[int]:
    """The pids of the worker processes that run steps (rundramatiq's children), once all are up."""

    def found():
        pids = [pid for pid in process_tree(worker.pid) if pid != worker.pid and _is_dramatiq_worker(pid)]
        return pids if len(pids) >= expected else None

    return wait_until(found, timeout=timeout, what=f"{expected} worker processes")


def _is_dramatiq_worker(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return b"dramatiq" in fh.read()
    except OSError:
        return False


def start_web(port: int, *, workers: int = 3) -> Process:
    """gunicorn with the deployment's own settings (studio/gunicorn.conf.py: sync workers),
    access log off (it would only measure the terminal)."""
    args = [
        sys.executable, "-m", "gunicorn", "-c", "studio/gunicorn.conf.py", "studio.wsgi",
        "--bind", f"127.0.0.1:{port}", "--workers", str(workers), "--access-logfile", "/dev/null",
    ]  # fmt: skip
    proc = Process(args, log_name=f"web-{port}", env=PRODUCTION_LOGGING)
    wait_until(lambda: _port_open(port), timeout=20, what=f"the web server on port {port}")
    return proc


class EmulatorProcess:
    """The provider emulator in its own process, as a provider is on another machine: its CPU
    and its lock are not the studio's. Counters come over its admin API; the moments its jobs
    finished over a pipe."""

    def __init__(self, port: int, **config):
        context = multiprocessing.get_context("spawn")  # a fresh interpreter: no Django, no copied threads
        self._conn, child = context.Pipe()
        self.process = context.Process(target=_serve_emulator, args=(child, port, config), daemon=True)
        self.process.start()
        self.base_url = self._conn.recv()
        self._lock = threading.Lock()  # one question at a time on the pipe, whichever thread asks

    def _ask(self, question: str):
        with self._lock:
            self._conn.send(question)
            return self._conn.recv()

    def stats(self) -> dict:
        return self._ask("stats")

    def finishes(self) -> dict[str, float]:
        """request id → the wall-clock moment the job finished at the provider."""
        return self._ask("finishes")

    def status_document(self, provider: str, request_id: str) -> dict:
        """What the provider's status endpoint says about a job (a callback's body)."""
        return json.loads(self._ask(f"status {provider} {request_id}"))

    def cpu_seconds(self) -> float:
        return cpu_seconds(self.process.pid)

    def stop(self) -> None:
        if self.process.is_alive():
            try:
                self._ask("stop")
            except (EOFError, OSError):
                pass
            self.process.join(timeout=10)
            if self.process.is_alive():
                self.process.kill()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def _serve_emulator(conn, port: int, config: dict) -> None:
    from providers.emulator import start_emulator

    running = start_emulator(port=port, **config)
    conn.send(running.base_url)
    while True:
        question = conn.recv()
        if question == "stats":
            conn.send(running.emulator.stats())
        elif question == "finishes":
            conn.send({job.request_id: job.done_wall() for job in running.emulator.jobs()})
        elif question.startswith("status "):
            _, provider, request_id = question.split(" ", 2)
            api = running.emulator.providers[provider]
            conn.send(json.dumps(api.status_document(running.emulator.job(request_id), running.url(provider))))
        elif question == "stop":
            running.stop()
            conn.send("stopped")
            return


def _port_open(port: int) -> bool:
    import socket

    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


def wait_until(predicate, *, timeout: float, interval: float = 0.1, what: str = "the condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise TimeoutError(f"{what} not met within {timeout:.0f} s")


# --- CPU and memory --------------------------------------------------------------------

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(*pids: int) -> float:
    """User + system CPU time used so far by these processes and their descendants (from
    /proc: CPU time, not wall time, so other load on the machine does not inflate it)."""
    total = 0
    for pid in {p for root in pids for p in process_tree(root)}:
        try:
            with open(f"/proc/{pid}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return total / CLOCK_TICKS


def postgres_cpu_seconds() -> float:
    """CPU time of the local PostgreSQL server so far: its postmaster with its live backends,
    and the backends that ended (counted into the postmaster's children's time when reaped)."""
    for pid in _pids():
        if _comm(pid) != "postgres":
            continue
        try:
            with open(f"/proc/{pid}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if _comm(int(fields[1])) != "postgres":  # its parent is not PostgreSQL: the postmaster
            postmaster = pid
            break
    else:
        return 0.0
    reaped = (int(fields[13]) + int(fields[14])) / CLOCK_TICKS  # cutime, cstime
    return cpu_seconds(postmaster) + reaped


def _pids() -> list[int]:
    return [int(name) for name in os.listdir("/proc") if name.isdigit()]


def _comm(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/comm") as fh:
            return fh.read().strip()
    except OSError:
        return ""


def _children(pid: int) -> list[int]:
    kids = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as fh:
                kids += [int(k) for k in fh.read().split()]
    except OSError:
        pass
    return kids


def process_tree(pid: int) -> list[int]:
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo += _children(current)
    return tree


def status_kb(pid: int, field: str) -> int:
    """A /proc/<pid>/status figure in kB (VmRSS: resident now, VmHWM: the peak so far)."""
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def peak_rss_mb(pid: int) -> float:
    """The largest peak resident size among a process and its descendants (the worker process)."""
    return max((status_kb(p, "VmHWM") for p in process_tree(pid)), default=0) / 1024


class RssSampler:
    """Samples this process's resident size in a thread, for the growth during a step."""

    def __init__(self, pid: int | None = None, interval: float = 0.01):
        self.pid = pid or os.getpid()
        self.interval = interval
        self.baseline = self.peak = 0
        self._stop = threading.Event()

    def __enter__(self):
        self.baseline = self.peak = status_kb(self.pid, "VmRSS")
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self):
        while not self._stop.wait(self.interval):
            self.peak = max(self.peak, status_kb(self.pid, "VmRSS"))

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, status_kb(self.pid, "VmRSS"))

    @property
    def growth_mb(self) -> float:
        return (self.peak - self.baseline) / 1024


# --- figures ----------------------------------------------------------------------------


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = (len(ordered) - 1) * p / 100
    low = int(k)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (k - low)


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def load_note() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.1f} / {five:.1f} on {os.cpu_count()} cores (shared machine)"


def print_table(title: str, rows: list[tuple], headers: tuple = ("figure", "value", "target", "ok")) -> None:
    cells = [tuple(str(c) for c in headers)] + [tuple(_cell(c) for c in row) for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    print(f"\n{title}")
    for n, row in enumerate(cells):
        print("  " + "  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip())
        if n == 0:
            print("  " + "  ".join("-" * w for w in widths))
    sys.stdout.flush()


def _cell(value) -> str:
    if isinstance(value, bool):
        return "yes" if value else "NO"
    if isinstance(value, float):
        return f"{value:.2f}" if abs(value) < 100 else f"{value:.0f}"
    return "" if value is None else str(value)


@contextmanager
def timed():
    box = {}
    start = time.perf_counter()
    yield box
    box["seconds"] = time.perf_counter() - start
