"""What several browser tests do: sign in, and play a track in the page's one player."""

from __future__ import annotations

PLAYER_READY = """(src) => new Promise((resolve, reject) => {
    const audio = document.querySelector('[data-player-audio]');
    const done = () => resolve(audio.duration);
    const current = () => audio.src.endsWith(src);
    if (current() && audio.readyState >= 1) return done();
    audio.addEventListener('loadedmetadata', () => current() && done());
    audio.addEventListener('error', () => reject(new Error('audio error ' + audio.error?.code)), {once: true});
})"""


def sign_in(page, live_server, username, password):
    page.goto(f"{live_server.url}/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_server.url}/")


def play_in_player(page, track) -> float:
    """Press a track's play control (a locator of its [data-track-play]) and answer the duration
    the page's one player found once it loaded the audio. Muted: tests make no sound."""
    page.evaluate("document.querySelector('[data-player-audio]').muted = true")
    src = track.get_attribute("data-src")
    track.locator("[data-play]").click()
    return page.evaluate(PLAYER_READY, src)


def player(page, expression: str):
    """Evaluate `expression` with `audio` bound to the page's one player."""
    return page.evaluate(f"(() => {{ const audio = document.querySelector('[data-player-audio]'); return {expression}; }})()")
