from django.conf import settings


def studio(request):
    return {
        "signup_open": settings.SIGNUP_OPEN,
        "card_refresh_ms": settings.CARD_REFRESH_MS,
        "card_look_gap_ms": settings.CARD_REFRESH_MS // 2,  # extra looks: see static/cards.js
        "card_idle_refresh_ms": settings.CARD_IDLE_REFRESH_MS,
        "card_hidden_slowdown": settings.CARD_HIDDEN_SLOWDOWN,
    }
