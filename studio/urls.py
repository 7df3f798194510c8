"""Every page, grouped by the part of the studio that serves it."""

from django.contrib import admin
from django.contrib.auth.views import LoginView
from django.urls import include, path, register_converter

from studio.http import IdConverter
from studio.ops import health
from studio.teams import password_reset
from studio.teams import views as teams
from studio.teams.forms import SignInForm

register_converter(IdConverter, "id")  # before the parts' url modules are read below

urlpatterns = [
    path("", teams.home, name="home"),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("accounts/signup/", teams.signup, name="signup"),
    path("accounts/password_reset/", password_reset.password_reset, name="password_reset"),  # before auth's own
    path("accounts/login/", LoginView.as_view(authentication_form=SignInForm), name="login"),  # before auth's own
    path("accounts/", include("django.contrib.auth.urls")),
    path("admin/", admin.site.urls),
    path("", include("studio.teams.urls")),
    path("", include("studio.jobs.urls")),
    path("", include("studio.library.urls")),
    path("", include("studio.sharing.urls")),
    path("", include("studio.sets.urls")),
    path("", include("studio.gateways.urls")),
    path("", include("studio.spend.urls")),
]

# The studio's own error pages (studio/error_pages.py: with DEBUG on too).
handler403 = "studio.error_pages.forbidden"
handler404 = "studio.error_pages.not_found"
handler500 = "studio.error_pages.server_error"
