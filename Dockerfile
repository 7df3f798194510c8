# One image for the web (gunicorn) and the workers (python manage.py rundramatiq).

FROM python:3.11-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
RUN python -m venv /venv
COPY pyproject.toml README.md ./
# The project itself is plain source (copied below); this installs only its dependencies,
# in a layer that code changes do not rebuild.
RUN /venv/bin/pip install --upgrade pip && /venv/bin/pip install .

FROM python:3.11-slim AS runtime
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PATH=/venv/bin:$PATH \
    DEBUG=false MEDIA_ROOT=/data/media STATIC_ROOT=/app/staticfiles
RUN useradd --create-home --uid 10001 studio && mkdir -p /data/media && chown studio /data/media
COPY --from=build /venv /venv
WORKDIR /app
COPY --chown=studio . .
# Static files are collected at build time; the key only has to exist for this step.
RUN SECRET_KEY=collectstatic-only python manage.py collectstatic --noinput
USER studio
VOLUME ["/data/media"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s CMD python -c "import urllib.request;urllib.request.urlopen('http://127.0.0.1:8000/healthz')"
CMD ["gunicorn", "-c", "studio/gunicorn.conf.py", "studio.wsgi"]
