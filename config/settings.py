"""Settings read from the environment, with safe local defaults.

Local development needs no variables at all (SQLite file, Redis on localhost,
DEBUG on). Production sets ``DJANGO_SETTINGS_MODULE=config.settings_production``,
which refuses to start without a real ``SECRET_KEY`` and turns on every HTTPS
protection that ``manage.py check --deploy`` asks for.
"""

import os
from pathlib import Path

import dj_database_url
import django_stubs_ext
from django.core.exceptions import ImproperlyConfigured

# Lets admin and generic views be subscripted (ModelAdmin[Team]) at run time, as the type stubs expect.
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    """Read a boolean variable; "1", "true", "yes" and "on" mean true."""
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    """Read a comma-separated list variable."""
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


#: The key local development runs with; anything that is not a developer's machine must set its own.
DEVELOPMENT_SECRET_KEY = "insecure-local-development-key-change-me"  # noqa: S105 - refused below unless DEBUG
SECRET_KEY = os.environ.get("SECRET_KEY", DEVELOPMENT_SECRET_KEY)
DEBUG = env_bool("DEBUG", True)
if not DEBUG and SECRET_KEY == DEVELOPMENT_SECRET_KEY:
    # Sessions, password reset links and sealed secrets would all rest on a key printed in the source.
    raise ImproperlyConfigured("DEBUG is off: set SECRET_KEY to a random value (the built-in key is for development).")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",
    "csp",
    "portal",
    "hypervisors",
    "containers",
    "overview",
    "portal.api",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "csp.middleware.CSPMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
# Pages and console websockets share one origin: the ASGI application routes both (config/asgi.py).
ASGI_APPLICATION = "config.asgi.application"

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
                "portal.notifications.context_processors.unread_notifications",
            ],
        },
    },
]

_database_url = os.environ.get("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}")
# A PostgreSQL server forks a backend per connection: opening one per request or task costs
# milliseconds each time. The web server is ASGI (uvicorn), where Django's persistent connections
# are not reused safely (each request's sync code may run in another thread), so on PostgreSQL
# connections come from psycopg's pool, which serves web threads and Celery workers alike.
# DATABASE_POOL=0 turns it off (then DATABASE_CONN_MAX_AGE may keep connections instead).
DATABASES = {
    "default": dj_database_url.parse(
        _database_url,
        conn_max_age=int(os.environ.get("DATABASE_CONN_MAX_AGE", "0")),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and env_bool("DATABASE_POOL", True):
    DATABASES["default"]["CONN_MAX_AGE"] = 0  # a pooled connection goes back to the pool, not kept by the thread
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": int(os.environ.get("DATABASE_POOL_MIN", "1")),
        "max_size": int(os.environ.get("DATABASE_POOL_MAX", "10")),
        "timeout": 10,
    }
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # SQLite has no row locks: IMMEDIATE transactions serialize writers, so the
    # quota checks stay exact, and the timeout lets the web and a worker share the file.
    DATABASES["default"]["OPTIONS"] = {"transaction_mode": "IMMEDIATE", "timeout": 20}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# django-axes counts failed logins (portal and admin alike) before Django's own backend runs.
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
# Third-party front-end code is installed by npm (package.json), never committed.
STATICFILES_DIRS = [
    BASE_DIR / "static",
    ("vendor/htmx", BASE_DIR / "node_modules" / "htmx.org" / "dist"),
    ("vendor/xterm/lib", BASE_DIR / "node_modules" / "@xterm" / "xterm" / "lib"),
    ("vendor/xterm/css", BASE_DIR / "node_modules" / "@xterm" / "xterm" / "css"),
    ("vendor/xterm-addon-fit", BASE_DIR / "node_modules" / "@xterm" / "addon-fit" / "lib"),
    ("vendor/uplot", BASE_DIR / "node_modules" / "uplot" / "dist"),
    # noVNC ships ES modules that import each other by relative path: its core/ and vendor/ keep their places.
    ("vendor/novnc/core", BASE_DIR / "node_modules" / "@novnc" / "novnc" / "core"),
    ("vendor/novnc/vendor", BASE_DIR / "node_modules" / "@novnc" / "novnc" / "vendor"),
]

# E-mail: SMTP from the environment in production; the console backend prints mails locally.
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = int(os.environ.get("EMAIL_TIMEOUT", "10"))
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "portal@localhost")
# The portal's public address, for links in e-mails.
PORTAL_BASE_URL = os.environ.get("PORTAL_BASE_URL", "http://127.0.0.1:8000")

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")

CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", REDIS_URL)
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_TIMEZONE = TIME_ZONE
# Tasks are idempotent, so a task whose worker died is delivered again.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = int(os.environ.get("CELERY_TASK_SOFT_TIME_LIMIT", "600"))
CELERY_TASK_TIME_LIMIT = CELERY_TASK_SOFT_TIME_LIMIT + 60
# Redis redelivers an unacknowledged task after this many seconds; it must be
# longer than the longest task.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": int(os.environ.get("CELERY_VISIBILITY_TIMEOUT", CELERY_TASK_TIME_LIMIT + 60))
}
# Following container logs holds a worker for minutes: those tasks get workers of their own.
CELERY_TASK_ROUTES = {"containers.tasks.container_logs_follow": {"queue": "logs"}}
# Seconds between two reconciles of every host and engine (rows corrected, load sampled).
PORTAL_RECONCILE_INTERVAL = float(os.environ.get("PORTAL_RECONCILE_INTERVAL", "60"))
CELERY_BEAT_SCHEDULE: dict[str, dict[str, object]] = {
    "hosts-probe": {"task": "hypervisors.tasks.hosts_probe", "schedule": 300.0},
    "docker-hosts-probe": {"task": "containers.tasks.docker_hosts_probe", "schedule": 300.0},
    "docker-hosts-reconcile": {
        "task": "containers.tasks.docker_hosts_reconcile",
        "schedule": PORTAL_RECONCILE_INTERVAL,
    },
    "history-compact": {"task": "portal.tasks.history_compact", "schedule": 300.0},
    "comparison-refresh": {"task": "overview.tasks.comparison_refresh", "schedule": 900.0},
    "hosts-reconcile": {
        "task": "hypervisors.tasks.hosts_reconcile",
        "schedule": PORTAL_RECONCILE_INTERVAL,
    },
    "leases-scan": {
        "task": "portal.tasks.leases_scan",
        "schedule": float(os.environ.get("PORTAL_LEASE_SCAN_INTERVAL", "300")),
    },
}
# Leases: days before a lease ends at which the owner and team admins are reminded (each once).
PORTAL_LEASE_REMINDER_DAYS = [int(days) for days in os.environ.get("PORTAL_LEASE_REMINDER_DAYS", "7,1").split(",")]

# The "KVM or Docker?" page looks at the builds of this many days.
PORTAL_COMPARISON_DAYS = int(os.environ.get("PORTAL_COMPARISON_DAYS", "30"))

# Where the demo and the provisioning code find the locally built guest image.
PORTAL_GUEST_IMAGE_DIR = Path(os.environ.get("PORTAL_GUEST_IMAGE_DIR", "/var/lib/libvirt/images/portal-guest"))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
}

# Placement: how far a host's CPUs and memory may be promised beyond what it has.
PORTAL_CPU_OVERCOMMIT = float(os.environ.get("PORTAL_CPU_OVERCOMMIT", "4.0"))
PORTAL_MEMORY_OVERCOMMIT = float(os.environ.get("PORTAL_MEMORY_OVERCOMMIT", "1.0"))
# Placement refuses a host whose VM pool would be fuller than this with the new disk at its full size;
# host and storage pages warn above PORTAL_POOL_FILL_WARN (shares of the pool's capacity).
PORTAL_POOL_FILL_LIMIT = float(os.environ.get("PORTAL_POOL_FILL_LIMIT", "0.90"))
PORTAL_POOL_FILL_WARN = float(os.environ.get("PORTAL_POOL_FILL_WARN", "0.80"))

# Scale-out: send each host's jobs to the queue "host.<name>" (see hypervisors/queues.py).
PORTAL_HOST_QUEUES = env_bool("PORTAL_HOST_QUEUES", False)
# Seconds a guest has to power off after an ACPI shutdown before the job gives up
# (and the page offers to force it off).
PORTAL_SHUTDOWN_TIMEOUT = int(os.environ.get("PORTAL_SHUTDOWN_TIMEOUT", "60"))
# Load history (portal.history): every reading for this many minutes, then minute averages for this
# many days, then hour averages for this many days, then nothing.
PORTAL_HISTORY_RAW_MINUTES = int(os.environ.get("PORTAL_HISTORY_RAW_MINUTES", "60"))
PORTAL_HISTORY_MINUTE_DAYS = int(os.environ.get("PORTAL_HISTORY_MINUTE_DAYS", "7"))
PORTAL_HISTORY_HOUR_DAYS = int(os.environ.get("PORTAL_HISTORY_HOUR_DAYS", "90"))
# A host that does not answer: retry its job this many times, waiting this many
# seconds before the first retry and twice as long before each next one.
PORTAL_RETRY_LIMIT = int(os.environ.get("PORTAL_RETRY_LIMIT", "5"))
PORTAL_RETRY_BASE_SECONDS = float(os.environ.get("PORTAL_RETRY_BASE_SECONDS", "10"))
# Key (Fernet, urlsafe base64 of 32 bytes) that encrypts stored secrets such as
# TLS client keys of remote Docker engines; derived from SECRET_KEY when unset.
PORTAL_SECRETS_KEY = os.environ.get("PORTAL_SECRETS_KEY", "")
# Browser consoles: a ticket must be used within this many seconds; a console without input closes
# after PORTAL_CONSOLE_IDLE_SECONDS; every PORTAL_CONSOLE_CHECK_SECONDS an open console checks that its
# resource still runs and its user still holds the role.
PORTAL_CONSOLE_TICKET_SECONDS = int(os.environ.get("PORTAL_CONSOLE_TICKET_SECONDS", "30"))
PORTAL_CONSOLE_IDLE_SECONDS = int(os.environ.get("PORTAL_CONSOLE_IDLE_SECONDS", "900"))
PORTAL_CONSOLE_CHECK_SECONDS = float(os.environ.get("PORTAL_CONSOLE_CHECK_SECONDS", "5"))
# Top pages: while someone watches a host, its statistics are read in bulk every this many seconds.
PORTAL_TOP_INTERVAL_SECONDS = float(os.environ.get("PORTAL_TOP_INTERVAL_SECONDS", "2"))
# Prometheus scrapes /metrics with this bearer token; unset, the endpoint answers 404 (off).
PORTAL_METRICS_TOKEN = os.environ.get("PORTAL_METRICS_TOKEN", "")
MEDIA_ROOT = Path(os.environ.get("PORTAL_MEDIA_ROOT", BASE_DIR / ".state" / "media"))
# Uploaded image tars can be large; Django streams them to disk past this size.
FILE_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024

# --- Security ---
# libvirt's in-process test driver (test:///) as a host URI: for the test suite only.
PORTAL_ALLOW_TEST_URIS = env_bool("PORTAL_ALLOW_TEST_URIS", False)
# Largest image tar an admin may upload (bytes); 2 GiB by default.
PORTAL_IMAGE_UPLOAD_MAX_BYTES = int(os.environ.get("PORTAL_IMAGE_UPLOAD_MAX_BYTES", str(2 * 1024**3)))
# Bounds on following container output: how many containers one team may follow at once
# (each holds a logs worker), the longest line kept, and the most bytes one follow copies.
PORTAL_LOG_FOLLOWS_PER_TEAM = int(os.environ.get("PORTAL_LOG_FOLLOWS_PER_TEAM", "2"))
PORTAL_LOG_LINE_MAX_BYTES = int(os.environ.get("PORTAL_LOG_LINE_MAX_BYTES", "4096"))
PORTAL_LOG_FOLLOW_MAX_BYTES = int(os.environ.get("PORTAL_LOG_FOLLOW_MAX_BYTES", str(1024**2)))

# Login lockout (django-axes): this many failures for one username from one address locks that pair out
# until an admin removes the lock in admin ("Access attempts"), or, if set, the cool-off has passed.
AXES_FAILURE_LIMIT = int(os.environ.get("PORTAL_LOGIN_FAILURE_LIMIT", "5"))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_COOLOFF_TIME = (
    float(os.environ["PORTAL_LOGIN_COOLOFF_HOURS"]) if os.environ.get("PORTAL_LOGIN_COOLOFF_HOURS") else None
)
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"

# Content-Security-Policy (django-csp): scripts only from our own static files, no inline script or handler.
# Styles allow inline attributes: the quota bars and SVG graphs size themselves with them, and a style cannot run.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        # 'self' covers the console websockets (ws:/wss: to the same host and port) in current browsers.
        "connect-src": ["'self'"],
        "font-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CONTENT_TYPE_NOSNIFF = True

# --- REST API (/api/v1/) ---
# Throttle counts live in a cache every web process shares; Django's own Redis backend.
PORTAL_API_THROTTLE_CACHE = "api"
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    PORTAL_API_THROTTLE_CACHE: {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": os.environ.get("PORTAL_API_CACHE_URL", REDIS_URL),
        "KEY_PREFIX": "api",
    },
}
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "portal.api.authentication.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": [
        "rest_framework.permissions.IsAuthenticated",
        "portal.api.authentication.TokenAllows",
    ],
    "DEFAULT_THROTTLE_CLASSES": [
        "portal.api.authentication.PerTokenThrottle",
        "portal.api.authentication.PerUserThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "token": os.environ.get("PORTAL_API_RATE_TOKEN", "600/min"),
        "user": os.environ.get("PORTAL_API_RATE_USER", "1200/min"),
    },
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "portal.api.pagination.NumberedPage",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "portal.api.errors.api_exception_handler",
    "NON_FIELD_ERRORS_KEY": "non_field_errors",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Virtualization portal API",
    "DESCRIPTION": (
        "Ask for VMs, containers and networks, act on them and follow their jobs. "
        "Authenticate with `Authorization: Bearer <token>` (make one on /profile/). "
        'Errors read `{"detail": ..., "errors": {field: [...]}}`. Writes accept an `Idempotency-Key` header.'
    ),
    "VERSION": "1",
    "OAS_VERSION": "3.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "ENUM_NAME_OVERRIDES": {
        "RequestStateEnum": "portal.choices.RequestState",
        "JobStateEnum": "portal.choices.JobState",
        "VMStateEnum": "hypervisors.choices.VMState",
        "VMNetworkStateEnum": "hypervisors.choices.NetworkState",
        "ContainerStateEnum": "containers.choices.ContainerState",
        "ContainerNetworkStateEnum": "containers.choices.DockerNetworkState",
    },
}
