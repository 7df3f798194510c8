"""Big files: a 300-second 48 kHz stereo WAV (about 55 MB) fetched from the emulator into
storage (studio/audio/store.py download), then served back with Range requests by gunicorn
(studio/audio/ranges.py), as production runs it (DEBUG off).

    .venv/bin/python bench/bigfile.py [--mode embedded|pg] [--seconds 300] [--ranges 200]

The emulator runs in its own process (it holds the file in memory: it is the provider), so the
memory figures are the studio's alone: Python allocations (tracemalloc) and resident size
sampled every 10 ms while the fetch runs. Serving goes through gunicorn on loopback.
"""

from __future__ import annotations

import os
import random
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from bench import _common as c  # noqa: E402

PORT = c.PORT_BASE + 40
TARGET_GROWTH_MB = 30.0
MUSIC_MODEL = "elevenlabs-music-api-368"  # the Pixazo gateway's id


def provider_media_url(base: str, seconds: float) -> str:
    """Ask the emulator for a long pcm_48000 (WAV, stereo) track and wait for its URL."""
    import httpx

    headers = {"Ocp-Apim-Subscription-Key": "emulator-key"}
    with httpx.Client(base_url=f"{base}/pixazo", headers=headers, timeout=300, trust_env=False) as client:
        submitted = client.post(
            f"/{MUSIC_MODEL}/v1/elevenlabs-music-api-request",
            json={"prompt": f"A {seconds:g}-second ambient score", "output_format": "pcm_48000"},
        ).json()
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            status = client.get(f"/v2/requests/status/{submitted['request_id']}").json()  # renders the audio
            if status["status"] == "COMPLETED":
                return status["output"]["media_url"][0]
            time.sleep(0.2)
    raise TimeoutError("the emulator did not finish the long track")


def run(mode: str, seconds: float, ranges: int) -> list[tuple]:
    import tracemalloc

    import httpx
    from django.test import Client

    from studio.audio.store import download
    from studio.models import Generation, Track

    emulator = c.Process(
        [sys.executable, "-m", "providers.emulator", "--port", str(PORT), "--queued-seconds", "0",
         "--job-seconds", "0.2", "--music-seconds", str(seconds)],
        log_name="bigfile-emulator",
    )  # fmt: skip
    web = None
    try:
        base = f"http://127.0.0.1:{PORT}"
        c.wait_until(lambda: c._port_open(PORT), timeout=20, what="the emulator")
        url = provider_media_url(base, seconds)
        user, project = c.bench_user_and_project(f"bigfile-{mode}")

        tracemalloc.start()
        with c.RssSampler() as rss, c.timed() as took:
            stored = download(url, project_id=project.pk, provider_base_url=f"{base}/pixazo")
        _, traced_peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        size_mb = stored.size / 1e6

        gen = Generation.objects.create(project=project, created_by=user, model_key="pixazo-eleven-music",
                                        params={"prompt": "long"}, state=Generation.State.SUCCEEDED)  # fmt: skip
        track = Track.objects.create(
            generation=gen, project=project, title="long", file=stored.name, content_type=stored.content_type,
            extension=stored.extension, size=stored.size, sha256=stored.sha256, duration_seconds=stored.duration_seconds,
        )  # fmt: skip
        client = Client()
        client.force_login(user)
        cookie = client.cookies["sessionid"].value
        web = c.start_web(PORT + 1, workers=1)
        audio = f"http://127.0.0.1:{PORT + 1}/tracks/{track.pk}/audio/"
        with httpx.Client(cookies={"sessionid": cookie}, timeout=120, trust_env=False) as http:
            assert http.get(audio, headers={"Range": "bytes=0-1"}).status_code == 206  # the worker warmed up
            web_before = c.peak_rss_mb(web.pid)
            start = time.perf_counter()
            with http.stream("GET", audio) as response:
                assert response.status_code == 200, response.status_code
                got = sum(len(block) for block in response.iter_bytes(1 << 20))
            full_mbps = got / 1e6 / (time.perf_counter() - start)
            web_after = c.peak_rss_mb(web.pid)
            rng = random.Random(7)
            start = time.perf_counter()
            total = 0
            for _ in range(ranges):
                first = rng.randrange(0, stored.size - (1 << 20))
                response = http.get(audio, headers={"Range": f"bytes={first}-{first + (1 << 20) - 1}"})
                assert response.status_code == 206, response.status_code
                total += len(response.content)
            range_time = time.perf_counter() - start
            start = time.perf_counter()
            for _ in range(ranges):  # a player seeking: open-ended range, reads the first 64 KB
                first = rng.randrange(0, stored.size)
                with http.stream("GET", audio, headers={"Range": f"bytes={first}-"}) as response:
                    next(response.iter_bytes(65536), b"")
            seek_ms = (time.perf_counter() - start) / ranges * 1000
    finally:
        if web:
            web.stop()
        emulator.stop()
    growth = max(rss.growth_mb, traced_peak / 1e6)
    expected_mb = (44 + seconds * 48_000 * 2 * 2) / 1e6  # a WAV header, then 16-bit stereo samples
    return [
        (
            "file stored",
            f"{size_mb:.1f} MB {stored.extension.upper()}, {stored.duration_seconds or 0:.0f} s",
            f"{expected_mb:.1f} MB WAV, {seconds:g} s",
            abs(size_mb - expected_mb) < 0.1 and stored.extension == "wav" and round(stored.duration_seconds or 0) == round(seconds),
        ),
        ("fetch time", f"{took['seconds']:.2f} s ({size_mb / took['seconds']:.0f} MB/s)", "", None),
        ("fetch: peak Python allocations (tracemalloc)", f"{traced_peak / 1e6:.1f} MB", "", None),
        ("fetch: peak resident growth (RSS)", f"{rss.growth_mb:.1f} MB", "", None),
        ("fetch: peak memory growth", f"{growth:.1f} MB", f"< {TARGET_GROWTH_MB:g} MB", growth < TARGET_GROWTH_MB),
        ("serve: whole file, one GET", f"{full_mbps:.0f} MB/s", "", None),
        ("serve: web worker peak RSS before / after", f"{web_before:.0f} / {web_after:.0f} MB", "", None),
        (f"serve: {ranges} x 1 MB Range requests", f"{total / 1e6 / range_time:.0f} MB/s, {ranges / range_time:.0f} req/s", "", None),
        (f"serve: {ranges} seeks (bytes=N-, first 64 KB)", f"{seek_ms:.1f} ms each", "", None),
    ]


def main() -> None:
    parser = c.arguments(__doc__.splitlines()[0], modes=("embedded", "pg"))
    parser.add_argument("--seconds", type=float, default=300)
    parser.add_argument("--ranges", type=int, default=200)
    args = parser.parse_args()
    mode = "embedded" if args.mode == "all" else args.mode
    c.configure(mode)
    c.setup_django(mode)
    rows = run(mode, args.seconds, args.ranges)
    c.print_table(f"Big files: {args.seconds:g} s of 48 kHz stereo WAV, {mode} ({c.load_note()})", rows)


if __name__ == "__main__":
    main()
