"""Dinghuo settings. Everything comes from the environment, with defaults that
work on one machine with nothing but Python installed.

Environment variables
---------------------
DATABASE_URL          PostgreSQL URL. Unset: the embedded PostgreSQL in the data folder.
DINGHUO_DATA_DIR      data folder (embedded PostgreSQL, Celery's file broker, media). ./var
SECRET_KEY            signing key; a development key is derived when unset (never in production).
DEBUG                 "1" to turn on debug pages and GraphiQL. Off by default.
ALLOWED_HOSTS         comma separated; tenants are routed by host name.
BASE_DOMAIN           the domain tenants get subdomains of ("localhost" in development).
CELERY_BROKER_URL     redis://… or amqp://…; unset: a file-system broker in the data folder.
CELERY_DIR            where the file-system broker keeps its messages. <data folder>/celery
CELERY_TASK_ALWAYS_EAGER  "1" runs tasks in-process (tests of pure logic only).
REDIS_URL             use Redis for the cache; unset: the database cache.
SEARCH_BACKEND        "postgres" (default) or "elasticsearch".
ELASTICSEARCH_URL     the Elasticsearch endpoint for the elasticsearch backend.
STRIPE_SECRET_KEY, STRIPE_WEBHOOK_SECRET  Stripe billing; unset: trial plans only.
STRIPE_API_BASE       another Stripe API address (tests); BILLING_GRACE_PERIOD_DAYS (7) past due -> suspended.
PLATFORM_URL          the portal's address, for links in e-mails. http://localhost:8000
EMAIL_BACKEND         Django e-mail backend; the console backend by default.
AUTH_TOKEN_TTL_SECONDS    lifetime of API login tokens. 86400.
DB_POOL_MAX           connections in each process's pool (0: no pool, a connection per request). 20
GRAPHIQL              "1" to serve GraphiQL at /graphql/ in a browser (defaults to DEBUG).
CSRF_TRUSTED_ORIGINS  comma separated origins for the console and portal forms.
CELERY_RESULT_BACKEND where task results go; unset: files in CELERY_DIR (no-server default).
TIME_ZONE             Asia/Shanghai.  LOG_LEVEL: INFO.
TENANT_BASE_SCHEMA    the template schema new tenants are cloned from. tenant_template
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent


def env(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


DATA_DIR = Path(env("DINGHUO_DATA_DIR", str(BASE_DIR / "var"))).resolve()
DEBUG = env_bool("DEBUG")
SECRET_KEY = env("SECRET_KEY") or (
    "dev-insecure-" + hashlib.sha256(str(BASE_DIR).encode()).hexdigest()
)
BASE_DOMAIN = env("BASE_DOMAIN", "localhost")
ALLOWED_HOSTS = [
    h.strip()
    for h in env("ALLOWED_HOSTS", f".{BASE_DOMAIN},{BASE_DOMAIN},127.0.0.1,[::1]").split(",")
    if h.strip()
]
CSRF_TRUSTED_ORIGINS = [
    o.strip()
    for o in env(
        "CSRF_TRUSTED_ORIGINS", f"http://*.{BASE_DOMAIN}:8000,http://{BASE_DOMAIN}:8000"
    ).split(",")
    if o.strip()
]

# --- Apps: the public schema (shared) and every tenant schema (tenant) -------
SHARED_APPS = [
    "tenants",  # Tenant, Domain, Plan, provisioning, signup portal (before django_tenants: its commands win)
    "django_tenants",
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.admin",
    "django.contrib.staticfiles",
    "graphene_django",
    "core.accounts",  # users exist in both: platform operators in public, tenant users in each tenant
    "plugins",  # per-tenant plugin settings (which plugins a tenant enabled is Tenant.modules)
]
TENANT_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.admin",
    "core.accounts",
    "core.catalog",
    "core.inventory",
    "core.pricing",
    "core.imports",  # spreadsheet import/export jobs (products, dealers, prices, order sheets)
    "core.orders",
    "core.events",
    "search",  # the PostgreSQL search index and the index-lag record
]
# Plugins' own Django apps (entry-point group "dinghuo.plugins": the built-ins in
# pyproject.toml and vendors' installed packages) live in tenant schemas.
# Discovery imports the plugin modules but no Django model.
from plugins.manager import plugin_django_apps  # noqa: E402

TENANT_APPS += [a for a in plugin_django_apps() if a not in TENANT_APPS]
INSTALLED_APPS = list(SHARED_APPS) + [a for a in TENANT_APPS if a not in SHARED_APPS]

TENANT_MODEL = "tenants.Tenant"
TENANT_DOMAIN_MODEL = "tenants.Domain"
PUBLIC_SCHEMA_NAME = "public"
# New tenants are cloned from this migrated template schema instead of running
# every migration (see tenants.services.provision_tenant).
TENANT_BASE_SCHEMA = env("TENANT_BASE_SCHEMA", "tenant_template")
TENANT_CREATION_FAKES_MIGRATIONS = True
SHOW_PUBLIC_IF_NO_TENANT_FOUND = False
# Set search_path once per request instead of before every statement; the
# backend resets it whenever the tenant changes (set_tenant / schema_context).
TENANT_LIMIT_SET_CALLS = True
PUBLIC_SCHEMA_URLCONF = "config.urls_public"
ROOT_URLCONF = "config.urls_tenant"

MIDDLEWARE = [
    # django-tenants' routing with the domain lookup and SET search_path in one
    # statement (tenants/middleware.py).
    "tenants.middleware.TenantRoutingMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last on purpose: a synchronous-only middleware innermost lets Django run the
    # whole chain in one thread under ASGI instead of hopping between threads
    # around each middleware (measured: about twice the requests/s).
    "tenants.middleware.TenantStatusMiddleware",
]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "config" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
            ],
        },
    },
]

WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"


# --- Database ------------------------------------------------------------
def _database_from_url(url: str) -> dict:
    parts = urlparse(url)
    query = parse_qs(parts.query)
    return {
        "NAME": unquote(parts.path.lstrip("/")) or "postgres",
        "USER": unquote(parts.username or ""),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": query.get("host", [parts.hostname or ""])[0],
        "PORT": str(parts.port or ""),
    }


if env("DATABASE_URL"):
    _db = _database_from_url(env("DATABASE_URL"))
else:
    from config import embedded_pg

    _db = embedded_pg.ensure_running()

# Under ASGI every request runs in a fresh thread, so persistent connections
# (CONN_MAX_AGE) keep nothing: a connection pool (psycopg_pool, built into
# Django 5.1+) hands connections back instead. django-tenants sets search_path
# afresh on each checkout, so pooled connections never leak a tenant's schema.
DB_POOL_MAX = int(env("DB_POOL_MAX", "20"))
DATABASES = {
    "default": {
        "ENGINE": "django_tenants.postgresql_backend",
        **_db,
        "CONN_MAX_AGE": 0,
        "CONN_HEALTH_CHECKS": False,
        "OPTIONS": {"pool": {"min_size": 1, "max_size": DB_POOL_MAX, "timeout": 30}}
        if DB_POOL_MAX
        else {},
        "TEST": {"NAME": env("TEST_DATABASE_NAME", f"test_{_db['NAME']}")},
    }
}
DATABASE_ROUTERS = ("django_tenants.routers.TenantSyncRouter",)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache: tenant-aware keys whichever backend -------------------------------
if env("REDIS_URL"):
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": env("REDIS_URL"),
            "KEY_FUNCTION": "django_tenants.cache.make_key",
            "REVERSE_KEY_FUNCTION": "django_tenants.cache.reverse_key",
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "dinghuo_cache",
            "KEY_FUNCTION": "django_tenants.cache.make_key",
            "REVERSE_KEY_FUNCTION": "django_tenants.cache.reverse_key",
        }
    }

# --- Auth -------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTH_TOKEN_TTL_SECONDS = int(env("AUTH_TOKEN_TTL_SECONDS", "86400"))
# Failed logins allowed per account (and per client address) in the window before refusal.
LOGIN_THROTTLE_ATTEMPTS = int(env("LOGIN_THROTTLE_ATTEMPTS", "5"))
LOGIN_THROTTLE_WINDOW_SECONDS = int(env("LOGIN_THROTTLE_WINDOW_SECONDS", "900"))
SESSION_COOKIE_NAME = "dinghuo_session"  # host-only cookie: never shared between tenant hosts

# --- GraphQL -----------------------------------------------------------------
GRAPHENE = {
    "SCHEMA": "config.schema.schema",
    "RELAY_CONNECTION_MAX_LIMIT": 100,
    "RELAY_CONNECTION_ENFORCE_FIRST_OR_LAST": False,
    "ATOMIC_MUTATIONS": True,
}
GRAPHQL_MAX_DEPTH = int(env("GRAPHQL_MAX_DEPTH", "12"))
GRAPHQL_MAX_COST = int(env("GRAPHQL_MAX_COST", "50000"))
GRAPHQL_MAX_ALIASES = int(env("GRAPHQL_MAX_ALIASES", "30"))
GRAPHQL_MAX_BATCH = int(env("GRAPHQL_MAX_BATCH", "10"))
GRAPHQL_MAX_QUERY_BYTES = int(env("GRAPHQL_MAX_QUERY_BYTES", "100000"))
GRAPHIQL = env_bool("GRAPHIQL", DEBUG)
# After the first GraphQL request, freeze what the process holds for good (schema,
# caches, modules) out of the garbage collector's reach and collect young objects
# less often, so a collection scans a request's objects, not the whole process
# (core/api/view.py: settle_heap). 0 keeps Python's defaults.
GRAPHQL_GC_GEN0_THRESHOLD = int(env("GRAPHQL_GC_GEN0_THRESHOLD", "20000"))

# --- Celery -------------------------------------------------------------------
CELERY_DIR = Path(env("CELERY_DIR", str(DATA_DIR / "celery")))
CELERY_BROKER_URL = env("CELERY_BROKER_URL", "filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    # The no-server default: messages are files in the data folder, shared by
    # the web process and a real worker process on the same machine.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_DIR / "queue"),
        "data_folder_out": str(CELERY_DIR / "queue"),
        "processed_folder": str(CELERY_DIR / "processed"),
        "control_folder": str(CELERY_DIR / "control"),  # broadcasts; Kombu's default is ./control
        "store_processed": False,
        "polling_interval": 0.1,
    }
    CELERY_RESULT_BACKEND = env("CELERY_RESULT_BACKEND", f"file://{CELERY_DIR / 'results'}")
else:
    CELERY_RESULT_BACKEND = env("CELERY_RESULT_BACKEND", "") or None
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER")
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

# --- I18n -----------------------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env("TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

# --- Static and media ----------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
MEDIA_ROOT = DATA_DIR / "media"
MEDIA_URL = "media/"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

# --- Search, billing ------------------------------------------------------
SEARCH_BACKEND = env("SEARCH_BACKEND", "postgres")
ELASTICSEARCH_URL = env("ELASTICSEARCH_URL", "")
# Elasticsearch index names start with this (then the tenant's schema): one cluster, many deployments.
SEARCH_INDEX_PREFIX = env("SEARCH_INDEX_PREFIX", "dinghuo")
STRIPE_SECRET_KEY = env("STRIPE_SECRET_KEY", "")
STRIPE_WEBHOOK_SECRET = env("STRIPE_WEBHOOK_SECRET", "")
STRIPE_API_BASE = env("STRIPE_API_BASE", "")  # another Stripe API address (the tests' fake server)
STRIPE_WEBHOOK_TOLERANCE = int(
    env("STRIPE_WEBHOOK_TOLERANCE", "300")
)  # seconds a signature stays valid
# Past due (failed payment, ended trial or subscription) for longer than this: suspended.
BILLING_GRACE_PERIOD_SECONDS = int(float(env("BILLING_GRACE_PERIOD_DAYS", "7")) * 86400)
BILLING_TRIAL_NOTICE_DAYS = int(env("BILLING_TRIAL_NOTICE_DAYS", "3"))
SIGNUP_HANDOFF_MAX_AGE = int(
    env("SIGNUP_HANDOFF_MAX_AGE", "60")
)  # seconds, portal -> tenant host login
PLATFORM_URL = env("PLATFORM_URL", f"http://{BASE_DOMAIN}:8000")  # for links in e-mails
CELERY_BEAT_SCHEDULE = {
    "billing-grace-periods": {"task": "tenants.enforce_billing_grace_periods", "schedule": 3600.0},
}
CELERY_BEAT_SCHEDULE.update(
    {
        # The outbox relay is sent after every commit that writes events; this is the safety net.
        "events-relay-outbox": {"task": "events.relay_all_tenants", "schedule": 10.0},
        # Pricing: fan out over tenants; each run is idempotent.
        "pricing-accrue-rebates": {
            "task": "pricing.accrue_rebates_all_tenants",
            "schedule": 6 * 3600.0,
        },
        "pricing-expire-quotes": {"task": "pricing.expire_quotes_all_tenants", "schedule": 900.0},
    }
)
EMAIL_BACKEND = env("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", f"Dinghuo <billing@{BASE_DOMAIN}>")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
