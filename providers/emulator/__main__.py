"""`python -m providers.emulator`: run the emulator in the foreground until SIGTERM or Ctrl-C."""

from __future__ import annotations

import argparse
import logging
import signal
import threading

from .config import DEFAULTS
from .server import start_emulator


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m providers.emulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to listen on")
    parser.add_argument("--port", type=int, default=8001)
    parser.add_argument("--api-key", default=DEFAULTS["api_key"], help="accept only this key (default: any)")
    parser.add_argument("--queued-seconds", type=float, default=DEFAULTS["queued_seconds"])
    parser.add_argument("--job-seconds", type=float, default=DEFAULTS["job_seconds"])
    parser.add_argument("--music-seconds", type=float, default=DEFAULTS["music_seconds"])
    parser.add_argument("--sync-interval", type=float, default=DEFAULTS["sync_interval"])
    parser.add_argument("--allow-http-webhooks", action="store_true", help="accept http:// webhook URLs")
    parser.add_argument("--duplicate-callbacks", action="store_true", help="send every terminal callback twice")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    config = {key: value for key, value in vars(args).items() if key not in ("host", "port")}
    running = start_emulator(args.host, args.port, **config)

    stopping = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopping.set())
    print(f"Provider emulator on {running.base_url}", flush=True)
    for name in running.emulator.providers:
        print(f"  {name}: {running.url(name)}", flush=True)
    while not stopping.wait(0.5):
        pass
    running.stop()
    print("Provider emulator stopped", flush=True)


if __name__ == "__main__":
    main()
