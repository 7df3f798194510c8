"""Settings, read only from the environment (see the configuration table in README.md).

Every default is the embedded mode: SQLite, an in-process queue, polling only, DEBUG on.
"""

from datetime import timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

from providers import registry
from providers.base import CostUnit

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env")  # optional; a missing file is fine

DEBUG = env.bool("DEBUG", default=True)
# Production must bring its own key: with DEBUG off a missing SECRET_KEY stops the start.
SECRET_KEY = env("SECRET_KEY") if not DEBUG else env(
    "SECRET_KEY", default="embedded-mode-only-insecure-key-change-me-in-production-0123456789"
)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "template_partials",
    "django_dramatiq",
    "dramatiq_crontab",
    "axes",
    "studio",
]

MIDDLEWARE = [
    # First: probes answer before host checks and HTTPS redirects (they call the bare address).
    "studio.ops.health.ProbeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_permissions_policy.PermissionsPolicyMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "studio.error_pages.DebugErrorPages",  # the studio's error pages with DEBUG on too
    "axes.middleware.AxesMiddleware",  # last, as its docs ask
]
CSRF_FAILURE_VIEW = "studio.error_pages.csrf_failure"

ROOT_URLCONF = "studio.urls"
WSGI_APPLICATION = "studio.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "studio.context_processors.studio",
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web requests and worker threads write at once: WAL lets readers go on, IMMEDIATE
    # transactions queue writers instead of failing with "database is locked".
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
    # Tests run a worker in threads beside the test: a file (not shared-cache memory, whose
    # table locks ignore the busy timeout) lets them wait for each other like the real thing.
    DATABASES["default"].setdefault("TEST", {"NAME": str(BASE_DIR / ".test-db.sqlite3")})
else:
    # Persistent connections suit gunicorn's few long-lived threads. The embedded mode (no broker)
    # serves each request on a new thread of runserver's, whose connections would only pile up
    # until the database refuses more: there each request closes its own.
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60 if env("BROKER_URL", default="") else 0))
    DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        # A database that does not answer fails readiness in seconds rather than hanging it.
        DATABASES["default"].setdefault("OPTIONS", {}).setdefault("connect_timeout", env.int("DATABASE_CONNECT_TIMEOUT", default=5))
# The statements the studio runs most prepared once per connection (studio/prepared_statements.py); off
# behind a pooler in transaction mode that does not keep prepared statements.
DATABASE_PREPARED_STATEMENTS = env.bool("DATABASE_PREPARED_STATEMENTS", default=True)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # refuses sign-ins while locked out
    "django.contrib.auth.backends.ModelBackend",
]
# Five wrong passwords for one username from one address lock that pair out for 15 minutes;
# fifty from one address, whatever the usernames, lock the address (studio/teams/lockout.py).
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
LOGIN_ADDRESS_FAILURE_LIMIT = env.int("LOGIN_ADDRESS_FAILURE_LIMIT", default=50)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("LOGIN_LOCKOUT_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_HANDLER = "studio.teams.lockout.LockoutHandler"
# A sign-in refused while locked out answers "locked out" (whichever limit locked it) and does not
# count again: the lockout ends LOGIN_LOCKOUT_MINUTES after the last wrong password it counted.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_VERBOSE = False
# The client's address behind TRUSTED_PROXY_COUNT proxies, trusted only from FORWARDED_ALLOW_IPS
# (the variable gunicorn reads for the same proxies): studio/teams/client_address.py.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
FORWARDED_ALLOW_IPS = env.list("FORWARDED_ALLOW_IPS", default=["127.0.0.1"])
AXES_CLIENT_IP_CALLABLE = "studio.teams.client_address.client_address"

# Password reset mails each hour: per account (more are silently not sent) and per address.
PASSWORD_RESETS_PER_ACCOUNT = env.int("PASSWORD_RESETS_PER_ACCOUNT", default=3)
PASSWORD_RESETS_PER_ADDRESS = env.int("PASSWORD_RESETS_PER_ADDRESS", default=10)

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
SIGNUP_OPEN = env.bool("SIGNUP_OPEN", default=False)
EMAIL_BACKEND = env(
    "EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend"
)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="studio@localhost")
# A mail server in one variable, e.g. smtp+tls://user:password@mail.example.com:587 (overrides EMAIL_BACKEND).
if env("EMAIL_URL", default=""):
    globals().update(env.email_url("EMAIL_URL"))
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)  # seconds: a stuck mail server must not hold a request

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / "staticfiles")
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "media")
MEDIA_URL = "/media/"  # never served directly: audio goes through access-checked views
# Audio lives on local disk (MEDIA_ROOT) unless AWS_STORAGE_BUCKET_NAME names a bucket on an
# S3-compatible store; the settings below are django-storages' own, read from the environment.
AWS_STORAGE_BUCKET_NAME = env("AWS_STORAGE_BUCKET_NAME", default="")
STORAGES = {
    "default": {
        "BACKEND": (
            "storages.backends.s3.S3Storage"
            if AWS_STORAGE_BUCKET_NAME
            else "django.core.files.storage.FileSystemStorage"
        )
    },
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

if AWS_STORAGE_BUCKET_NAME:
    from botocore.config import Config as _BotoConfig

    # Credentials: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (or an instance role), read by boto3.
    AWS_S3_ENDPOINT_URL = env("AWS_S3_ENDPOINT_URL", default=None)  # MinIO, R2, moto...; empty: AWS
    AWS_S3_REGION_NAME = env("AWS_S3_REGION_NAME", default=None)
    AWS_LOCATION = env("AWS_LOCATION", default="")  # a key prefix inside the bucket
    AWS_DEFAULT_ACL = None  # objects stay private: the studio checks access before every download
    AWS_S3_FILE_OVERWRITE = False
    AWS_QUERYSTRING_AUTH = True
    AWS_QUERYSTRING_EXPIRE = env.int("AWS_QUERYSTRING_EXPIRE", default=300)  # presigned links, seconds
    # Set explicitly (so django-storages' own addressing/signature settings are folded in here):
    # quick connect timeouts keep readiness and the startup check from hanging on a dead store.
    AWS_S3_CLIENT_CONFIG = _BotoConfig(
        s3={"addressing_style": env("AWS_S3_ADDRESSING_STYLE", default="auto")},
        signature_version="s3v4",
        connect_timeout=5,
        read_timeout=60,
        retries={"max_attempts": 3, "mode": "standard"},
    )
# How the browser gets audio from the store: "stream" (through the web process, any store) or
# "redirect" (to a presigned link valid AWS_QUERYSTRING_EXPIRE seconds, when the store is S3 and
# the browser can reach its endpoint). Access is checked first either way.
AUDIO_DOWNLOADS = env("AUDIO_DOWNLOADS", default="stream")

# --- Production hardening (python manage.py check --deploy is clean with DEBUG off) ---
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if not DEBUG:
    # Behind a TLS-terminating proxy that sets X-Forwarded-Proto.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]  # probes speak plain http inside
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
SESSION_COOKIE_HTTPONLY = True

# The Content-Security-Policy of every page, in one place (django-csp). Scripts and styles come
# from the studio's own static files only: no inline script, handler or style, no eval (htmx is
# told so in base.html: no eval, and its indicator styles live in studio.css). A page that needs
# more changes this setting, never the pages' markup into inline code.
_AUDIO_STORE = (
    [env("AWS_S3_ENDPOINT_URL", default="") or "https:"] if AWS_STORAGE_BUCKET_NAME and AUDIO_DOWNLOADS == "redirect" else []
)  # presigned links take the browser's players to the store itself
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "media-src": ["'self'", *_AUDIO_STORE],
        "connect-src": ["'self'"],
        "font-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}
# Browser features no page uses are off for the studio and anything it could ever frame.
PERMISSIONS_POLICY = {
    "accelerometer": [],
    "camera": [],
    "display-capture": [],
    "geolocation": [],
    "gyroscope": [],
    "magnetometer": [],
    "microphone": [],
    "midi": [],
    "payment": [],
    "usb": [],
    "autoplay": ["self"],
    "clipboard-write": ["self"],
    "fullscreen": ["self"],
}

# --- Jobs: Dramatiq ---------------------------------------------------------------
BROKER_URL = env("BROKER_URL", default="")
if BROKER_URL.startswith("redis"):
    _broker = "dramatiq.brokers.redis.RedisBroker"
elif BROKER_URL.startswith("amqp"):
    _broker = "dramatiq.brokers.rabbitmq.RabbitmqBroker"
else:
    # Embedded mode: messages live in this process; the sweep re-drives jobs after a restart.
    _broker = "dramatiq.brokers.stub.StubBroker"
DRAMATIQ_BROKER = {
    "BROKER": _broker,
    "OPTIONS": {"url": BROKER_URL} if BROKER_URL else {},
    # Set explicitly: django_dramatiq's default list names Prometheus, which Dramatiq 2 dropped.
    "MIDDLEWARE": [
        "dramatiq.middleware.AgeLimit",
        "dramatiq.middleware.TimeLimit",
        "dramatiq.middleware.ShutdownNotifications",
        "dramatiq.middleware.Callbacks",
        "dramatiq.middleware.Retries",
        "django_dramatiq.middleware.DbConnectionsMiddleware",
        "studio.ops.worker_hooks.SweepOnBoot",
        "studio.ops.worker_hooks.QuickPickup",
    ],
}
# How long an idle worker waits between looks at its queues (milliseconds; Dramatiq's default is 1000).
WORKER_IDLE_POLL_MS = env.int("WORKER_IDLE_POLL_MS", default=100)
# Worker metrics for Prometheus (the `prometheus` extra): each `rundramatiq` serves them on
# port 9191 (env dramatiq_prom_port). Off unless asked for.
DRAMATIQ_PROMETHEUS = env.bool("DRAMATIQ_PROMETHEUS", default=False)
if DRAMATIQ_PROMETHEUS:
    DRAMATIQ_BROKER["MIDDLEWARE"].append("dramatiq.middleware.prometheus.Prometheus")
# Workers load every app's `actors` and `tasks`: the studio's, and dramatiq-crontab's `heartbeat`
# actor, which the scheduler sends every minute (unloaded, its messages would go to the dead letters).
DRAMATIQ_AUTODISCOVER_MODULES = ["jobs.actors", "tasks"]
# The sweep's schedule: `python manage.py crontab` runs it, holding a Redis lock so only one
# scheduler fires per interval however many are started. On RabbitMQ the lock still needs a
# Redis (SCHEDULER_REDIS_URL); without one, run exactly one scheduler (a system check says so).
SCHEDULER_REDIS_URL = env("SCHEDULER_REDIS_URL", default=BROKER_URL if BROKER_URL.startswith("redis") else "")
DRAMATIQ_CRONTAB = {
    "REDIS_URL": SCHEDULER_REDIS_URL or None,
    # How long a second scheduler waits for the lock before it gives up and exits.
    "LOCK_BLOCKING_TIMEOUT": env.int("SCHEDULER_LOCK_WAIT_SECONDS", default=15),
}
# In-process worker threads when there is no broker to share (runstudio starts them).
EMBEDDED_WORKER_THREADS = env.int("EMBEDDED_WORKER_THREADS", default=4)

# --- Providers ----------------------------------------------------------------------
# STUDIO_EMULATOR=true points every provider at the local emulator, with dummy keys,
# unless a key or base URL is set explicitly.
STUDIO_EMULATOR = env.bool("STUDIO_EMULATOR", default=False)
EMULATOR_PORT = env.int("EMULATOR_PORT", default=8001)
_EMULATOR_URL = f"http://127.0.0.1:{EMULATOR_PORT}"


def _provider(provider: registry.Provider) -> dict:
    """<KEY>_API_KEY, <KEY>_BASE_URL and <KEY>_TIMEOUT_SECONDS for one entry of providers/registry.py."""
    upper = provider.key.upper()
    default_key = "emulator" if STUDIO_EMULATOR else ""
    default_url = f"{_EMULATOR_URL}/{provider.key}" if STUDIO_EMULATOR else provider.default_base_url
    return {
        "api_key": env(f"{upper}_API_KEY", default=default_key),
        "base_url": env(f"{upper}_BASE_URL", default=default_url).rstrip("/"),
        # How long one request may go unanswered; 0 keeps PROVIDER_TIMEOUT_SECONDS or the adapter's own.
        "timeout": env.float(f"{upper}_TIMEOUT_SECONDS", default=0),
    }


PROVIDERS = {key: _provider(provider) for key, provider in registry.PROVIDERS.items()}

PUBLIC_BASE_URL = env("PUBLIC_BASE_URL", default="").rstrip("/")

# Requests in flight at once per provider (synchronous APIs hold one for the whole render).
PROVIDER_CONCURRENCY_DEFAULT = env.int("PROVIDER_CONCURRENCY_DEFAULT", default=8)
PROVIDER_CONCURRENCY = {
    key: env.int(f"{key.upper()}_CONCURRENCY", default=provider.default_concurrency or PROVIDER_CONCURRENCY_DEFAULT)
    for key, provider in registry.PROVIDERS.items()
}

# How the pipeline waits on providers (seconds).
# How long one request to an asynchronous provider may take; 0 keeps the adapter's own (30 s).
PROVIDER_TIMEOUT_SECONDS = env.float("PROVIDER_TIMEOUT_SECONDS", default=0)
POLL_FIRST_DELAY = env.float("POLL_FIRST_DELAY", default=2.0)
POLL_FIRST_DELAY_WITH_CALLBACK = env.float("POLL_FIRST_DELAY_WITH_CALLBACK", default=30.0)
POLL_MAX_DELAY = env.float("POLL_MAX_DELAY", default=30.0)
SWEEP_QUIET_SECONDS = env.int("SWEEP_QUIET_SECONDS", default=120)
# A worker in a provider call or a download holds the job (and any provider slot) until the call's
# own timeout plus this margin, renewed while it streams; past that, its holder is taken for dead.
LEASE_MARGIN_SECONDS = env.float("LEASE_MARGIN_SECONDS", default=30.0)
DOWNLOAD_READ_TIMEOUT_SECONDS = env.float("DOWNLOAD_READ_TIMEOUT_SECONDS", default=60.0)
# How often the scheduler (`manage.py crontab`) sends the sweep: 60 is "every minute".
SWEEP_EVERY_SECONDS = env.int("SWEEP_EVERY_SECONDS", default=60)
MAX_DOWNLOAD_BYTES = env.int("MAX_DOWNLOAD_BYTES", default=500 * 1024 * 1024)
# The browser refreshes pending cards this often (milliseconds).
CARD_REFRESH_MS = env.int("CARD_REFRESH_MS", default=1500)
# ...and looks once more this soon after an answer saying a job's audio is moments away.
CARD_SOON_MS = env.int("CARD_SOON_MS", default=250)
# With nothing pending the page still looks for teammates' new jobs and library changes, this often;
# a hidden tab (Page Visibility) looks CARD_HIDDEN_SLOWDOWN times less often.
CARD_IDLE_REFRESH_MS = env.int("CARD_IDLE_REFRESH_MS", default=12000)
CARD_HIDDEN_SLOWDOWN = env.int("CARD_HIDDEN_SLOWDOWN", default=4)
# How long a page's watch token lets its unchanged polls skip the session (studio/jobs/poll_token.py);
# renewed by the poll that finds it past half its life.
WATCH_TOKEN_SECONDS = env.int("WATCH_TOKEN_SECONDS", default=120)
# Each web process keeps cards it rendered for polls, per card version, a few seconds (studio/jobs/card_html.py).
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "cards": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "cards", "TIMEOUT": 10,
        "OPTIONS": {"MAX_ENTRIES": 5000},
    },
}  # fmt: skip
# Jobs one user may have in progress at once (pending at the studio or the provider): a whole
# set of MAX_SET_JOBS fits.
MAX_PENDING_PER_USER = env.int("MAX_PENDING_PER_USER", default=200)
# Sets (prompts × models in one submit): the most jobs one set may hold.
MAX_SET_JOBS = env.int("MAX_SET_JOBS", default=200)
# Routed models: the gateways in order of preference, "=" joining equally preferred ones (the
# faster goes first); a project's owner may set the project's own order. Gateways left out are not used.
ROUTING_ORDER = env("ROUTING_ORDER", default="pixazo runware apiframe aimlapi")
# A gateway that refused this many jobs in a row is skipped for CIRCUIT_COOLDOWN_SECONDS; then
# one probe job decides whether it is back.
CIRCUIT_REFUSALS = env.int("CIRCUIT_REFUSALS", default=3)
CIRCUIT_COOLDOWN_SECONDS = env.int("CIRCUIT_COOLDOWN_SECONDS", default=60)

# --- Spend: the ledger, estimates, budgets and limits (studio/spend/; README "Spend") ---------
# The studio's currency. Providers' reports are converted through US dollars: SPEND_PER_USD is
# what one dollar is in it (1 for USD; without it, other currencies leave every figure unknown).
SPEND_CURRENCY = env("SPEND_CURRENCY", default="USD").strip().upper()
# In the emulator mode, demonstration rates and prices (the emulator's own figures) unless set.
_DEMO_RATES = {
    "AIMLAPI_USD_PER_CREDIT": "0.000001",
    "APIFRAME_USD_PER_CREDIT": "0.01",
    "ELEVENLABS_USD_PER_1K_CHARACTERS": "0.30",
    "MODEL_USD_PRICES": "pixazo-eleven-music=0.50,pixazo-eleven-v3-speech=0.05",
}


def _setting(name: str, default: str = "") -> str:
    return env(name, default=_DEMO_RATES.get(name, default) if STUDIO_EMULATOR else default).strip()


def _number(name: str, text: str) -> Decimal | None:
    """A figure of at least 0 (empty: None). Anything else stops the start, naming the setting."""
    if not text.strip():
        return None
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        value = None
    if value is None or not value.is_finite() or value < 0:
        raise ImproperlyConfigured(f"{name} must be a number of at least 0, not {text!r}")
    return value


def _decimal(name: str, default: str = "") -> Decimal | None:
    return _number(name, _setting(name, default))


# What the unit each provider reports in is worth in US dollars, from <KEY>_USD_PER_CREDIT or
# <KEY>_USD_PER_1K_CHARACTERS (its adapter's cost_unit says which); None: not configured.
_RATE_NAMES = {CostUnit.CREDITS: ("USD_PER_CREDIT", 1), CostUnit.CHARACTERS: ("USD_PER_1K_CHARACTERS", 1000)}


def _usd_per_unit(provider: registry.Provider) -> Decimal | None:
    if provider.cost_unit is None:
        return None
    if provider.cost_unit is CostUnit.USD:
        return Decimal(1)
    suffix, per = _RATE_NAMES[provider.cost_unit]
    rate = _decimal(f"{provider.key.upper()}_{suffix}")
    return None if rate is None else rate / per


def _prices(name: str) -> dict[str, Decimal]:
    """"model-key=0.50,other-key=0.05" → {model key: price}."""
    prices = {}
    for item in filter(None, (part.strip() for part in _setting(name).split(","))):
        key, _, price = item.partition("=")
        if (value := _number(name, price)) is not None:
            prices[key.strip()] = value
    return prices


SPEND_PER_USD = _decimal("SPEND_PER_USD", default="1" if SPEND_CURRENCY == "USD" else "")
SPEND_USD_PER_UNIT = {key: _usd_per_unit(provider) for key, provider in registry.PROVIDERS.items()}
# A price per job, in US dollars, for models whose provider reports no cost (a report wins).
SPEND_MODEL_USD_PRICES = _prices("MODEL_USD_PRICES")
# Budgets and limits in SPEND_CURRENCY, unless a project's owner sets its own; empty: none.
SPEND_PROJECT_MONTHLY_BUDGET = _decimal("SPEND_PROJECT_MONTHLY_BUDGET")
SPEND_MEMBER_DAILY_LIMIT = _decimal("SPEND_MEMBER_DAILY_LIMIT")
SPEND_MEMBER_MONTHLY_LIMIT = _decimal("SPEND_MEMBER_MONTHLY_LIMIT")
SPEND_MEMBER_JOBS_PER_MINUTE = env.int("SPEND_MEMBER_JOBS_PER_MINUTE", default=0) or None

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "filters": {"redact_secrets": {"()": "studio.ops.log_filters.RedactSecrets"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["redact_secrets"]}
    },
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {
        "httpx": {"level": "WARNING"},
        "dramatiq": {"level": "WARNING"},
        "axes": {"level": "WARNING"},
        # Access logs carry request paths, and callback paths carry a secret.
        "django.server": {"handlers": ["console"], "level": "INFO", "propagate": False},
        # Django's own logger prints through its own unfiltered handler when DEBUG is on (request
        # paths with their tokens): one redacting handler in every mode instead.
        "django": {"handlers": ["console"], "level": "INFO", "propagate": False},
    },
}
