"""Throughline settings, driven by environment variables.

Local defaults need nothing but Python: SQLite under var/ and Celery's filesystem broker.
Set DATABASE_URL and REDIS_URL to run on PostgreSQL and Redis; DEBUG=0 switches on the
production hardening.
"""

from __future__ import annotations

import ipaddress
import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("THROUGHLINE_VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {value!r}") from exc


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


DEBUG = env_bool("DEBUG", True)


def env_secret(name: str) -> str:
    value = os.environ.get(name, "")
    if value:
        return value
    if DEBUG:
        # Local development only: production refuses to start without a real secret.
        return "throughline-local-development-only-secret-key-not-for-production"
    raise ImproperlyConfigured(f"{name} must be set when DEBUG=0")


SECRET_KEY = env_secret("SECRET_KEY")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "axes",
    # The layers, lowest first (docs/architecture.md).
    "core",
    "journeys",
    "squads",
    "dependencies",
    "planning",
    "webhooks",
    "api",
    # Who changed what in the co-written parts of a plan (docs/cowriting.md).
    "simple_history",
    # Two-factor sign-in's authenticator apps (core/two_factor.py).
    "django_otp",
    "django_otp.plugins.otp_totp",
    # Django's own form and widget templates, for the renderer below.
    "django.forms",
]

# Forms render through the project's templates, so `{{ form.name.as_field_group }}` draws a
# field with our label, hint and error markup from templates/django/forms/field.html.
FORM_RENDERER = "django.forms.renderers.TemplatesSetting"

MIDDLEWARE = [
    # Operations (README, "Operating Throughline"): each request's id in its log lines; the
    # probes and /metrics answered before the host name check and the HTTPS redirect; each
    # request's time in /metrics (static files not counted).
    "throughline.logs.RequestIdMiddleware",
    "throughline.health.OperationsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "throughline.metrics.RequestMetricsMiddleware",
    # After the static files, around everything else (the 413, 429 and CSRF answers too):
    # whatever is sent to a signed-in person is private and not stored.
    "throughline.middleware.PrivateResponsesMiddleware",
    # Each person's own Remove links in pages drawn for many (core.pagecache.own_marker).
    "throughline.middleware.OwnMarkersMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    # Before anything reads the body: too large a request is refused with 413 unread.
    "throughline.middleware.RequestSizeLimitMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    # Django's, checking a session read from the cache against the database in the same
    # query as the account (throughline/sessions.py).
    "throughline.sessions.AuthenticationMiddleware",
    # Every page needs a sign-in unless its view says @login_not_required (the sign-in and
    # password pages, the calendar feeds, the poll, the API with its own token check).
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    # Signed in with a password but not yet with the second step: only that step (or setting
    # it up, when REQUIRE_TWO_FACTOR asks) and signing out (throughline/two_factor.py).
    "throughline.two_factor.TwoFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Text holding NUL is refused with 400 before a view looks anything up with it.
    "throughline.middleware.RefuseNulMiddleware",
    # Records the signed-in person as the author of each history entry.
    "simple_history.middleware.HistoryRequestMiddleware",
    "throughline.middleware.WriteRateLimitMiddleware",
    # A request for something someone removed: who removed it and when, and the text it
    # carried given back (core/removal.py).
    "throughline.middleware.GoneMiddleware",
    # The board's and the exports' reads from DATABASE_REPLICA_URL; gone without one. After
    # the sign-in: the person and the session are read from the primary.
    "throughline.db_router.ReplicaReadsMiddleware",
    # LOCAL_PASSWORDS=0: the password pages refuse (throughline/oidc.py).
    "throughline.oidc.LocalPasswordsMiddleware",
    # Last, as django-axes asks: turns a refused sign-in into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "throughline.urls"
WSGI_APPLICATION = "throughline.wsgi.application"
ASGI_APPLICATION = "throughline.asgi.application"

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
                "django.template.context_processors.csp",
                "throughline.context_processors.throughline",
                "throughline.oidc.sign_in_options",
            ],
        },
    },
]

# Database: SQLite under var/ unless DATABASE_URL says otherwise.
DATABASE_URL = os.environ.get("DATABASE_URL", "")
if DATABASE_URL:
    _db = dj_database_url.parse(DATABASE_URL, conn_max_age=0, conn_health_checks=False)
else:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    _db = {"ENGINE": "django.db.backends.sqlite3", "NAME": str(VAR_DIR / "throughline.sqlite3")}

if _db["ENGINE"] == "django.db.backends.postgresql":
    from psycopg_pool import ConnectionPool

    def _check_pooled_connection(conn) -> None:
        """Try a connection as it leaves the pool. When the server dropped it (a restart, a
        failover), it dropped the idle ones beside it too: check them all at once, so the
        request gets a fresh connection after one short pause instead of trying each dead
        one in turn, with the pool's growing back-off, until its timeout."""
        try:
            ConnectionPool.check_connection(conn)
        except Exception:
            pool = getattr(conn, "_pool", None)
            if pool is not None:
                pool.check()
            raise

    # psycopg 3's connection pool replaces persistent connections.
    _db.setdefault("OPTIONS", {})["pool"] = {
        "min_size": env_int("DATABASE_POOL_MIN", 2),
        "max_size": env_int("DATABASE_POOL_MAX", 10),
        "timeout": env_int("DATABASE_POOL_TIMEOUT", 10),
        "check": _check_pooled_connection,
    }
    _db["CONN_MAX_AGE"] = 0
elif _db["ENGINE"] == "django.db.backends.sqlite3":
    # The web server and the Celery worker write to the same file: wait for the lock and
    # take it at the start of a write transaction instead of failing half way.
    _db.setdefault("OPTIONS", {}).update(
        {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
DATABASES = {"default": _db}

# Behind PgBouncer in transaction pooling mode (docs/performance.md, "Past one machine"): a
# connection to the server is only this process's for one transaction, so no server-side
# cursors (QuerySet.iterator() then fetches its rows at once) and no prepared statements.
DATABASE_TRANSACTION_POOLER = env_bool("DATABASE_TRANSACTION_POOLER", False)
if DATABASE_TRANSACTION_POOLER and _db["ENGINE"] == "django.db.backends.postgresql":
    _db["DISABLE_SERVER_SIDE_CURSORS"] = True
    _db["OPTIONS"]["prepare_threshold"] = None

# A read replica for the board and its exports (throughline/db_router.py): PostgreSQL only,
# with the same pool settings; tests point it at the primary's test database.
DATABASE_REPLICA_URL = os.environ.get("DATABASE_REPLICA_URL", "")
REPLICA_READ_VIEWS = ["board:board", "board:graph", "board:export_csv", "board:export_xlsx"]
if DATABASE_REPLICA_URL:
    if _db["ENGINE"] != "django.db.backends.postgresql":
        raise ImproperlyConfigured("DATABASE_REPLICA_URL needs DATABASE_URL to be PostgreSQL")
    _replica = dj_database_url.parse(DATABASE_REPLICA_URL, conn_max_age=0, conn_health_checks=False)
    if _replica["ENGINE"] != "django.db.backends.postgresql":
        raise ImproperlyConfigured("DATABASE_REPLICA_URL must be a PostgreSQL URL")
    _replica["OPTIONS"] = {**_replica.get("OPTIONS", {}), **_db["OPTIONS"]}
    _replica["OPTIONS"]["pool"] = dict(_db["OPTIONS"]["pool"])
    _replica["CONN_MAX_AGE"] = 0
    _replica["DISABLE_SERVER_SIDE_CURSORS"] = _db.get("DISABLE_SERVER_SIDE_CURSORS", False)
    _replica["TEST"] = {"MIRROR": "default"}
    DATABASES["replica"] = _replica
    DATABASE_ROUTERS = ["throughline.db_router.ReplicaRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# django-axes first: it refuses sign-ins that are locked out before the password is checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", BASE_DIR / "staticfiles"))
STATICFILES_DIRS = [BASE_DIR / "static"]
# Files browsers ask for at the site's root (/favicon.ico), served by WhiteNoise as they are.
WHITENOISE_ROOT = BASE_DIR / "static" / "root"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

_email_backend = os.environ.get(
    "EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
_email_options: dict[str, object] = {}
if _email_backend.endswith("smtp.EmailBackend"):
    _email_options = {
        "host": os.environ.get("EMAIL_HOST", "localhost"),
        "port": env_int("EMAIL_PORT", 25),
        "username": os.environ.get("EMAIL_HOST_USER", ""),
        "password": os.environ.get("EMAIL_HOST_PASSWORD", ""),
        "use_tls": env_bool("EMAIL_USE_TLS", False),
        "timeout": env_int("EMAIL_TIMEOUT", 10),
    }
MAILERS = {"default": {"BACKEND": _email_backend, "OPTIONS": _email_options}}
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Throughline <throughline@localhost>")
# Where people reach the app: links in emails start with it.
THROUGHLINE_URL = os.environ.get("THROUGHLINE_URL", "http://127.0.0.1:8000").rstrip("/")
# The daily digest goes out at this hour (TIME_ZONE) to everyone who wants it.
DIGEST_HOUR = env_int("DIGEST_HOUR", 7)

# Celery: Redis when REDIS_URL (or CELERY_BROKER_URL) is set, otherwise the filesystem
# transport, which needs no server and lets the local worker and beat run beside runserver.
REDIS_URL = os.environ.get("REDIS_URL", "")
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", REDIS_URL)
if not CELERY_BROKER_URL:
    _broker_dir = VAR_DIR / "broker"
    for _sub in ("out", "processed", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "out"),
        "data_folder_out": str(_broker_dir / "out"),
        "data_folder_processed": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
    }
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": 3600,
        # Sending a task (a save asking for a review) tries the broker for half a second at
        # most, then gives up and the periodic review catches up: with Redis down, saves
        # stay quick instead of each waiting seconds for it.
        "max_retries": 2,
        "interval_start": 0,
        "interval_step": 0.2,
        "interval_max": 0.5,
        "socket_connect_timeout": 2,
    }
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("CELERY_QUEUE", "throughline")
# The worker outlives its broker: it waits for Redis however long it is away, at start and
# later, and takes up the tasks it held once Redis is back (throughline/celery.py). A review
# running meanwhile needs only the database, so it finishes rather than being cancelled.
CELERY_BROKER_CONNECTION_RETRY = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = False
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# The review: every open cycle every REVIEW_INTERVAL_SECONDS, and once, this many seconds
# after a burst of changes to a cycle's plans (see planning.tasks.review_enqueue).
REVIEW_INTERVAL_SECONDS = env_int("REVIEW_INTERVAL_SECONDS", 15 * 60)
REVIEW_COALESCE_SECONDS = env_int("REVIEW_COALESCE_SECONDS", 30)
# A running review renews its lease every quarter of this; once a run's lease has gone this
# long unrenewed, its worker is gone: the run is marked failed and the review can run again.
REVIEW_LEASE_SECONDS = env_int("REVIEW_LEASE_SECONDS", 60)
if REVIEW_LEASE_SECONDS < 2:
    raise ImproperlyConfigured("REVIEW_LEASE_SECONDS must be at least 2 (seconds)")
# For fault-tolerance tests only, 0 otherwise: a review waits this long before it commits,
# so a test can kill the worker in the middle of it (planning.services.review_run).
REVIEW_PAUSE_SECONDS = env_int("REVIEW_PAUSE_SECONDS", 0)
# What people remove can be restored for this many days (a week at least); after that a
# nightly task deletes it for good (planning.tasks.purge_removals, planning/removals.py).
REMOVAL_KEEP_DAYS = env_int("REMOVAL_KEEP_DAYS", 14)
if REMOVAL_KEEP_DAYS < 7:
    raise ImproperlyConfigured("REMOVAL_KEEP_DAYS must be at least 7 (days): undo lasts a week")
# Segments' milestone feeds (journeys/milestone_feed.py): pulled every this many seconds;
# an address inside a private network is refused unless MILESTONE_FEED_ALLOW_PRIVATE is on.
MILESTONE_FEED_INTERVAL_SECONDS = env_int("MILESTONE_FEED_INTERVAL_SECONDS", 60 * 60)
MILESTONE_FEED_ALLOW_PRIVATE = env_bool("MILESTONE_FEED_ALLOW_PRIVATE", False)
# Outgoing webhooks (docs/webhooks.md): a failed delivery is tried again after this many
# seconds, then 4, 16, 64 times that, WEBHOOK_ATTEMPTS tries in all; a receiver inside a
# private network (or on this machine) is refused unless WEBHOOKS_ALLOW_PRIVATE is on.
WEBHOOK_RETRY_SECONDS = env_int("WEBHOOK_RETRY_SECONDS", 30)
WEBHOOK_ATTEMPTS = env_int("WEBHOOK_ATTEMPTS", 5)
WEBHOOKS_ALLOW_PRIVATE = env_bool("WEBHOOKS_ALLOW_PRIVATE", False)
CELERY_BEAT_SCHEDULE = {
    "webhooks-overdue": {
        "task": "webhooks.tasks.deliver_overdue",
        "schedule": 5 * 60,
        "options": {"expires": 5 * 60},
    },
    "pull-milestone-feeds": {
        "task": "journeys.tasks.pull_milestone_feeds",
        "schedule": MILESTONE_FEED_INTERVAL_SECONDS,
        "options": {"expires": MILESTONE_FEED_INTERVAL_SECONDS},
    },
    "review-open-cycles": {
        "task": "planning.tasks.review_open_cycles",
        "schedule": REVIEW_INTERVAL_SECONDS,
        # A sweep nobody ran before the next one is due is only a duplicate of it.
        "options": {"expires": REVIEW_INTERVAL_SECONDS},
    },
    "daily-digest": {
        "task": "planning.tasks.send_daily_digests",
        "schedule": crontab(hour=DIGEST_HOUR, minute=0),
        "options": {"expires": 6 * 60 * 60},
    },
    "purge-removals": {
        "task": "planning.tasks.purge_removals",
        "schedule": crontab(hour=3, minute=30),
        "options": {"expires": 6 * 60 * 60},
    },
}

if REDIS_URL:
    CACHES = {
        "default": {
            # django-redis (throughline/redis_cache.py adds a one-round-trip counter).
            "BACKEND": "throughline.redis_cache.RedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {
                # Every use of the cache copes with it failing (a miss, the database, or
                # the write let through), each in its own way, so errors reach the caller:
                # django-redis's IGNORE_EXCEPTIONS would turn a failed add() into "already
                # there" and no review would be queued while Redis is down.
                "IGNORE_EXCEPTIONS": False,
                # An unreachable Redis fails fast.
                "SOCKET_CONNECT_TIMEOUT": 2,
                "SOCKET_TIMEOUT": 2,
                # Page bodies are mostly markup: a tenth of the memory in Redis.
                "COMPRESSOR": "throughline.redis_cache.ZlibCompressor",
            },
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Co-writing (docs/cowriting.md): how long a poll may trust the cached "plan changed" stamp,
# and whether the cache is shared by every web worker (Redis) and may answer polls alone.
# With a per-process cache the stamp comes from the database: one indexed query a poll.
COWRITING_SHARED_CACHE = env_bool("COWRITING_SHARED_CACHE", bool(REDIS_URL))
COWRITING_STAMP_SECONDS = env_int("COWRITING_STAMP_SECONDS", 2)
COWRITING_PRESENCE_SECONDS = env_int("COWRITING_PRESENCE_SECONDS", 30)

# The board's and the plan page's bodies are cached under the revision of the data they show
# (core/pagecache.py; exact on PostgreSQL, off elsewhere), for at most this long.
PAGE_CACHE = env_bool("PAGE_CACHE", True)
PAGE_CACHE_SECONDS = env_int("PAGE_CACHE_SECONDS", 3600)

# The search page (docs/search.md): on PostgreSQL each of its statements is cancelled past
# this many milliseconds (0: no limit), and the page asks for fewer or more specific words.
SEARCH_TIME_LIMIT_MS = env_int("SEARCH_TIME_LIMIT_MS", 2000)

# Production hardening.
if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 60 * 60 * 24 * 365)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
    if not SECURE_HSTS_PRELOAD:
        # Preloading commits the whole registered domain to HTTPS in browsers for months, so
        # it is the operator's choice (SECURE_HSTS_PRELOAD=1), not a default to be nagged into.
        SILENCED_SYSTEM_CHECKS = ["security.W021"]
# Sessions are read from the cache and written through to the database (throughline/sessions.py).
SESSION_ENGINE = "throughline.sessions"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"

# Content-Security-Policy, on every response: scripts only from this site and only with the
# request's nonce ({{ csp_nonce }} via the csp context processor), no inline style attributes,
# no plugins, no framing. htmx is configured not to eval or inject styles (base.html).
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    # The nonce lets the admin's one nonce-carrying <style> through; style="" stays refused.
    "style-src": [CSP.SELF, CSP.NONCE],
    "img-src": [CSP.SELF, "data:"],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF],
}

# Sign-in brute-force protection (django-axes): AXES_FAILURE_LIMIT failures for one username
# from one address lock that pair out for AXES_COOLOFF_MINUTES; other addresses are unaffected.
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("AXES_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "throughline.security.lockout_response"
AXES_CLIENT_IP_CALLABLE = "throughline.security.client_ip"
# Reverse proxies in front of the app that append to X-Forwarded-For (0: use REMOTE_ADDR).
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0)

# Single sign-on with the company's OpenID Connect provider (throughline/oidc.py, README
# "Single sign-on"): on when OIDC_ISSUER and OIDC_CLIENT_ID are set.
OIDC_ISSUER = os.environ.get("OIDC_ISSUER", "").rstrip("/")
OIDC_DISCOVERY_URL = os.environ.get("OIDC_DISCOVERY_URL", "") or (
    f"{OIDC_ISSUER}/.well-known/openid-configuration" if OIDC_ISSUER else ""
)
OIDC_RP_CLIENT_ID = os.environ.get("OIDC_CLIENT_ID", "")
OIDC_RP_CLIENT_SECRET = os.environ.get("OIDC_CLIENT_SECRET", "")
OIDC_RP_SCOPES = os.environ.get("OIDC_SCOPES") or "openid email profile"
OIDC_RP_SIGN_ALGO = os.environ.get("OIDC_SIGN_ALGO") or "RS256"
OIDC_TOKEN_USE_BASIC_AUTH = os.environ.get("OIDC_TOKEN_AUTH", "basic").strip() != "post"
OIDC_BUTTON_LABEL = os.environ.get("OIDC_BUTTON_LABEL") or "Sign in with your company account"
OIDC_CREATE_USERS = env_bool("OIDC_CREATE_USERS", False)
OIDC_GROUPS_CLAIM = os.environ.get("OIDC_GROUPS_CLAIM", "")
OIDC_LEADERSHIP_GROUPS = env_list("OIDC_LEADERSHIP_GROUPS", [])
OIDC_OPERATIONS_GROUPS = env_list("OIDC_OPERATIONS_GROUPS", [])
OIDC_TIMEOUT = env_int("OIDC_TIMEOUT", 10)
OIDC_USE_PKCE = True
# Signing out of Throughline after a company sign-in also ends the sign-in at the provider,
# when it offers that (RP-initiated logout), so the next person at a shared computer is asked
# for their own account. The ID token the provider wants back is kept in the session for it.
OIDC_SIGN_OUT_AT_PROVIDER = env_bool("OIDC_SIGN_OUT_AT_PROVIDER", True)
# Off: the password form, password reset and password change refuse; everyone signs in with
# the company account, and administrators through `manage.py signin_link`.
LOCAL_PASSWORDS = env_bool("LOCAL_PASSWORDS", True)
if not LOCAL_PASSWORDS and not (OIDC_ISSUER and OIDC_RP_CLIENT_ID):
    raise ImproperlyConfigured("LOCAL_PASSWORDS=0 needs OIDC_ISSUER and OIDC_CLIENT_ID")
# Two-factor sign-in (core/two_factor.py): a code from an authenticator app after the
# password, for sign-ins through TWO_FACTOR_BACKENDS only (another backend, such as the
# company's identity provider, has its own second factor). REQUIRE_TWO_FACTOR=1 sends everyone
# with a password to set it up before anything else. Codes tried per person and window, in
# seconds; django-otp's own growing delays are off in favour of that clear limit.
REQUIRE_TWO_FACTOR = env_bool("REQUIRE_TWO_FACTOR", False)
TWO_FACTOR_BACKENDS = ["django.contrib.auth.backends.ModelBackend"]
TWO_FACTOR_ATTEMPT_LIMIT = env_int("TWO_FACTOR_ATTEMPT_LIMIT", 5)
TWO_FACTOR_ATTEMPT_WINDOW = env_int("TWO_FACTOR_ATTEMPT_WINDOW", 5 * 60)
OTP_TOTP_ISSUER = "Throughline"
OTP_TOTP_THROTTLE_FACTOR = 0

# Limits (throughline/middleware.py): the largest request body in bytes, the largest file upload
# request (the spreadsheet import, which refuses files over 5 MB itself), and each signed-in
# person's writes per window of seconds (0 switches it off).
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DATA_UPLOAD_MAX_MEMORY_SIZE", 2_621_440)
UPLOAD_MAX_REQUEST_SIZE = env_int("UPLOAD_MAX_REQUEST_SIZE", 10 * 1024 * 1024)
# The spreadsheet import (planning/spreadsheet_import.py) refuses a file past any of these
# before it builds anything from it: the upload's size; for an Excel workbook each part's
# size once unpacked, all parts together, and how much a part may grow when unpacked (a
# ratio); rows with values, rows in all (empty ones too), columns, characters in a cell, and
# seconds spent reading. A checked file waits IMPORT_STAGE_MINUTES for its confirmation.
IMPORT_MAX_FILE_BYTES = env_int("IMPORT_MAX_FILE_BYTES", 5 * 1024 * 1024)
IMPORT_MAX_PART_BYTES = env_int("IMPORT_MAX_PART_BYTES", 40 * 1024 * 1024)
IMPORT_MAX_UNPACKED_BYTES = env_int("IMPORT_MAX_UNPACKED_BYTES", 60 * 1024 * 1024)
IMPORT_MAX_RATIO = env_int("IMPORT_MAX_RATIO", 100)
IMPORT_MAX_ROWS = env_int("IMPORT_MAX_ROWS", 5000)
IMPORT_MAX_SHEET_ROWS = env_int("IMPORT_MAX_SHEET_ROWS", 20_000)
IMPORT_MAX_COLUMNS = env_int("IMPORT_MAX_COLUMNS", 50)
IMPORT_MAX_CELL_CHARS = env_int("IMPORT_MAX_CELL_CHARS", 32_767)
IMPORT_MAX_SECONDS = env_int("IMPORT_MAX_SECONDS", 10)
IMPORT_STAGE_MINUTES = env_int("IMPORT_STAGE_MINUTES", 60)
IMPORT_STAGES_PER_PERSON = env_int("IMPORT_STAGES_PER_PERSON", 3)
WRITE_RATE_LIMIT = env_int("WRITE_RATE_LIMIT", 120)
WRITE_RATE_LIMIT_WINDOW = env_int("WRITE_RATE_LIMIT_WINDOW", 60)
WRITE_RATE_LIMIT_KEY_PREFIX = "throughline:writes"
# Invitations (/people/) email someone outside the app: each person may send this many per
# window (sending one again counts too).
INVITATION_RATE_LIMIT = env_int("INVITATION_RATE_LIMIT", 20)
INVITATION_RATE_LIMIT_WINDOW = env_int("INVITATION_RATE_LIMIT_WINDOW", 60 * 60)
# How long a sign-up link in an invitation works.
INVITATION_DAYS = env_int("INVITATION_DAYS", 7)

# Operations (README, "Operating Throughline"): log lines as text or one JSON object each;
# who may read /metrics (a bearer token, or addresses and networks; neither: nobody); how long
# /ready/ and the scrape-time metric queries may take; Sentry, when SENTRY_DSN is set.
LOG_FORMAT = os.environ.get("LOG_FORMAT", "text").strip().lower()
if LOG_FORMAT not in {"text", "json"}:
    raise ImproperlyConfigured(f"LOG_FORMAT must be text or json, not {LOG_FORMAT!r}")
METRICS_TOKEN = os.environ.get("METRICS_TOKEN", "")
METRICS_ALLOWED_IPS = env_list("METRICS_ALLOWED_IPS", [])
for _network in METRICS_ALLOWED_IPS:
    try:
        ipaddress.ip_network(_network, strict=False)
    except ValueError as exc:
        raise ImproperlyConfigured(f"METRICS_ALLOWED_IPS: {_network!r} is no address") from exc
METRICS_QUERY_TIMEOUT_MS = env_int("METRICS_QUERY_TIMEOUT_MS", 1000)
READY_TIMEOUT_MS = env_int("READY_TIMEOUT_MS", 2000)
SENTRY_DSN = os.environ.get("SENTRY_DSN", "")
if SENTRY_DSN:
    from throughline import sentry

    sentry.init(
        dsn=SENTRY_DSN,
        environment=os.environ.get("SENTRY_ENVIRONMENT", "development" if DEBUG else "production"),
        release=os.environ.get("SENTRY_RELEASE") or None,
        # Performance tracing only when asked for (a fraction of requests, 0 to 1).
        traces_sample_rate=sentry.sample_rate(os.environ.get("SENTRY_TRACES_SAMPLE_RATE", "")),
    )

# Every handler leaves secrets out (throughline/logs.py): a calendar feed's address, API tokens,
# Authorization headers, passwords, session ids. With LOG_FORMAT=json each line is a JSON object
# with the request's id. Django's own loggers print through these handlers only,
# not through Django's default ones, which have no such filter.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "redact_secrets": {"()": "throughline.logs.RedactSecrets"},
        "request_context": {"()": "throughline.logs.RequestContext"},
    },
    "formatters": {
        "django.server": {
            "()": "django.utils.log.ServerFormatter",
            "format": "[{server_time}] {message}",
            "style": "{",
        },
        "json": {"()": "throughline.logs.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["redact_secrets", "request_context"],
            **({"formatter": "json"} if LOG_FORMAT == "json" else {}),
        },
        # runserver's access log.
        "django.server": {
            "class": "logging.StreamHandler",
            "formatter": "json" if LOG_FORMAT == "json" else "django.server",
            "filters": ["redact_secrets"],
        },
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        # Not Django's default handlers (unfiltered): to the root's console.
        "django": {"handlers": [], "level": "INFO"},
        "django.server": {"handlers": ["django.server"], "level": "INFO", "propagate": False},
        "django.db.backends": {"level": "WARNING"},
        # django-axes logs every sign-in at INFO; failures and lockouts are its warnings.
        "axes": {"level": os.environ.get("AXES_LOG_LEVEL", "WARNING")},
    },
}
