"""Every page, grouped by the part of the studio that serves it."""

from django.contrib import admin
from django.urls import include, path, register_converter

from studio.http import IdConverter
from studio.ops import health
from studio.teams import views as teams

register_converter(IdConverter, "id")  # before the parts' url modules are read below

urlpatterns = [
    path("", teams.home, name="home"),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("accounts/signup/", teams.signup, name="signup"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("admin/", admin.site.urls),
    path("", include("studio.teams.urls")),
    path("", include("studio.jobs.urls")),
    path("", include("studio.library.urls")),
    path("", include("studio.sharing.urls")),
    path("", include("studio.spend.urls")),
]
