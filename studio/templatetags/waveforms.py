"""What the pages need to draw a track's waveform and show its length."""

from django import template

from studio.audio.waveform import encoded

register = template.Library()


@register.filter
def waveform(track, width: int = 160) -> str:
    """The track's peaks, reduced to `width` stretches, for a data-peaks attribute ("" if none yet)."""
    return encoded(track.peaks, width=int(width))


@register.filter
def clock(seconds) -> str:
    """83.2 → "1:23"; "" when unknown."""
    if seconds is None or seconds == "":
        return ""
    total = max(0, round(float(seconds)))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
