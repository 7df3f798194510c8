# One image for every role (see compose.yaml and the README's "Deploy"):
#   web        gunicorn -c studio/gunicorn.conf.py studio.wsgi   (the default command)
#   worker     python manage.py rundramatiq
#   scheduler  python manage.py crontab
#   migrate    python manage.py migrate   (once per release, before the others start)

FROM python:3.11-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
RUN python -m venv /venv
COPY pyproject.toml README.md ./
# The project itself is plain source (copied below); this installs only its dependencies, with
# S3 storage and worker metrics, in a layer that code changes do not rebuild.
RUN /venv/bin/pip install --upgrade pip && /venv/bin/pip install ".[s3,prometheus]"

FROM python:3.11-slim AS runtime
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PATH=/venv/bin:$PATH \
    DEBUG=false MEDIA_ROOT=/data/media STATIC_ROOT=/app/staticfiles BIND=0.0.0.0:8000 \
    dramatiq_prom_db=/tmp/dramatiq-prometheus
RUN useradd --create-home --uid 10001 studio && mkdir -p /data/media && chown studio /data/media
COPY --from=build /venv /venv
WORKDIR /app
# Owned by root: the running process can read its code but not rewrite it.
COPY . .
# Static files are collected (hashed and compressed for WhiteNoise) at build time; the key only
# has to exist for this step.
RUN SECRET_KEY=collectstatic-only python manage.py collectstatic --noinput
USER studio
VOLUME ["/data/media"]
EXPOSE 8000
# The web role's probe; compose.yaml turns it off for workers and the scheduler, which serve no HTTP.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"
# SIGTERM: gunicorn finishes requests in flight; a Dramatiq worker stops taking messages, lets
# running ones finish and hands the rest back to the broker.
STOPSIGNAL SIGTERM
CMD ["gunicorn", "-c", "studio/gunicorn.conf.py", "studio.wsgi"]
