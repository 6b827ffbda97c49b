"""Settings for the back-office, read from the environment (django-environ).

Development defaults exist only when DEBUG is on; with DEBUG off (production) every secret must come
from the environment and a missing one stops start-up with a message naming it.
"""

from __future__ import annotations

import os
import re
import tempfile
from decimal import Decimal, InvalidOperation
from pathlib import Path

import django_stubs_ext
import environ
from django.core.exceptions import ImproperlyConfigured

# Lets generic Django classes be subscripted at runtime (ModelAdmin[AuditEvent]) for the type checker.
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# A local `.env` (written by `make run`, never committed) feeds development; the test suite points
# ENV_FILE at tests/test.env instead, so what a developer keeps in .env cannot change its outcome.
# Variables already in the environment win over either file.
_env_file = env.str("ENV_FILE", default=".env")
if _env_file and (BASE_DIR / _env_file).is_file():
    env.read_env(BASE_DIR / _env_file)

DEBUG = env.bool("DEBUG", default=False)


def _secret(name: str, *, dev_default: str) -> str:
    """A secret setting: a development default when DEBUG is on, required otherwise."""
    value = env.str(name, default="")
    if value:
        return value
    if DEBUG:
        return dev_default
    raise ImproperlyConfigured(
        f"{name} is not set. It is required when DEBUG is off; set it in the environment."
    )


SECRET_KEY = _secret("SECRET_KEY", dev_default="development-only-secret-key-not-for-production")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1"] if DEBUG else [])
if not DEBUG and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS is not set. It is required when DEBUG is off.")
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "template_partials",
    "backoffice.audit",
    "backoffice.identity",
    "backoffice.gateway",
    "backoffice.pii",
    "backoffice.reconciliation",
    "participants",
    "funding",
    "trading",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "backoffice.middleware.RequestContextMiddleware",
    "backoffice.middleware.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # Expiry first: a session past its limits ends, and behind SSO the next middleware signs the
    # person in afresh with the groups the IdP holds today.
    "backoffice.identity.middleware.SessionExpiryMiddleware",
    "backoffice.identity.middleware.SingleSignOnMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Innermost, so that the page it renders knows who is signed in.
    "backoffice.middleware.MethodNotAllowedPageMiddleware",
]

ROOT_URLCONF = "backoffice.urls"
WSGI_APPLICATION = "backoffice.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "backoffice.identity.permissions.perms",
                "django.contrib.messages.context_processors.messages",
                "backoffice.navigation.navigation",
            ],
            # The `when` and `ago` filters: every time on every page goes through them.
            "builtins": ["backoffice.templatetags.clock"],
        },
    },
]

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web app, the nightly commands and the webhook read while one of them writes.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"init_command": "PRAGMA journal_mode=WAL;", "transaction_mode": "IMMEDIATE"}
    )
    # The test database is a file too: the suite's live servers answer from threads of their own,
    # and an in-memory database would be one connection shared by all of them. One file per run,
    # so that two runs on one machine never share it.
    DATABASES["default"]["TEST"] = {
        "NAME": str(Path(tempfile.gettempdir()) / f"backoffice-test-{os.getpid()}.sqlite3")
    }
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Django's model backend, with a person's permissions and roles read in one query a request.
AUTHENTICATION_BACKENDS = ["backoffice.identity.backends.RoleBackend"]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
# The display time zone: every time on every page and in the admin is shown in it, with its name
# ("EST"); exports are in UTC and say so. Stored times are UTC (USE_TZ).
TIME_ZONE = env.str("TIME_ZONE", default="America/New_York")
FORMAT_MODULE_PATH = ["backoffice.formats"]
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Production serves collected, fingerprinted files (run `collectstatic` at deploy); development
# and the test suite serve straight from the apps' static folders.
STATIC_MANIFEST = env.bool("STATIC_MANIFEST", default=not DEBUG)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if STATIC_MANIFEST
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = not STATIC_MANIFEST
WHITENOISE_AUTOREFRESH = DEBUG

# --- Security: Django's deployment checklist, on whenever DEBUG is off -----------------------------
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = False  # htmx reads the token from the page, not the cookie, but admin JS may
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_HSTS_SECONDS = 0 if DEBUG else env.int("SECURE_HSTS_SECONDS", default=31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# The SSO proxy terminates TLS; it tells us the original scheme.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if not DEBUG else None
# Everything is served from our own origin: no CDN, no inline script, no eval.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'; object-src 'none'"
)

# --- Personal data: encrypted at rest (MultiFernet, newest key first) and found by a keyed hash ----
PII_ENCRYPTION_KEYS = env.list("PII_ENCRYPTION_KEYS", default=[])
PII_HASH_KEY = env.str("PII_HASH_KEY", default="")
if not DEBUG:
    if not PII_ENCRYPTION_KEYS:
        raise ImproperlyConfigured(
            "PII_ENCRYPTION_KEYS is not set. It is required when DEBUG is off: a comma-separated "
            "list of Fernet keys, newest first."
        )
    if not PII_HASH_KEY:
        raise ImproperlyConfigured("PII_HASH_KEY is not set. It is required when DEBUG is off.")
elif not PII_ENCRYPTION_KEYS:
    # Development without a .env: a fixed key, so that data seeded earlier stays readable.
    PII_ENCRYPTION_KEYS = ["ZGV2ZWxvcG1lbnQtb25seS1waWkta2V5LTMyYnl0ZXM="]
    PII_HASH_KEY = PII_HASH_KEY or "development-only-pii-hash-key"

# --- Sign-in: behind the company's SSO proxy --------------------------------------------------------
SSO_MODE = env.str("SSO_MODE", default="local" if DEBUG else "")
if SSO_MODE not in {"assertion", "header", "local"}:
    raise ImproperlyConfigured(
        "SSO_MODE must be one of 'assertion', 'header' or 'local' "
        f"(got {SSO_MODE!r}); it is required when DEBUG is off."
    )
if SSO_MODE == "local" and not DEBUG:
    raise ImproperlyConfigured(
        "SSO_MODE=local (password sign-in) is for development and the demo only; with DEBUG off "
        "choose 'assertion' or 'header'."
    )
# Mode 1: a signed JWT from the proxy, verified against a public key or a JWKS file on disk.
SSO_ASSERTION_HEADER = env.str("SSO_ASSERTION_HEADER", default="X-Auth-Request-Assertion")
SSO_ASSERTION_PUBLIC_KEY_FILE = env.str("SSO_ASSERTION_PUBLIC_KEY_FILE", default="")
SSO_ASSERTION_JWKS_FILE = env.str("SSO_ASSERTION_JWKS_FILE", default="")
SSO_ASSERTION_ISSUER = env.str("SSO_ASSERTION_ISSUER", default="")
SSO_ASSERTION_AUDIENCE = env.str("SSO_ASSERTION_AUDIENCE", default="")
SSO_ASSERTION_ALGORITHMS = env.list("SSO_ASSERTION_ALGORITHMS", default=["RS256", "ES256"])
SSO_ASSERTION_LEEWAY_SECONDS = env.int("SSO_ASSERTION_LEEWAY_SECONDS", default=30)
SSO_USER_CLAIM = env.str("SSO_USER_CLAIM", default="preferred_username")
SSO_EMAIL_CLAIM = env.str("SSO_EMAIL_CLAIM", default="email")
SSO_GROUPS_CLAIM = env.str("SSO_GROUPS_CLAIM", default="groups")
if SSO_MODE == "assertion":
    for _name in ("SSO_ASSERTION_ISSUER", "SSO_ASSERTION_AUDIENCE"):
        if not globals()[_name]:
            raise ImproperlyConfigured(f"{_name} is required when SSO_MODE=assertion.")
    # Public-key algorithms only: with an HMAC one allowed, whoever holds the public key (anyone)
    # could sign assertions. "none" is not an algorithm.
    _symmetric = [a for a in SSO_ASSERTION_ALGORITHMS if not a.startswith(("RS", "PS", "ES", "Ed"))]
    if _symmetric:
        raise ImproperlyConfigured(
            f"SSO_ASSERTION_ALGORITHMS may list public-key algorithms only (RS*, PS*, ES*, EdDSA); "
            f"remove {', '.join(_symmetric)}."
        )
    if not (SSO_ASSERTION_PUBLIC_KEY_FILE or SSO_ASSERTION_JWKS_FILE):
        raise ImproperlyConfigured(
            "SSO_ASSERTION_PUBLIC_KEY_FILE or SSO_ASSERTION_JWKS_FILE is required when "
            "SSO_MODE=assertion."
        )
# Mode 2: plain headers, honoured only from the proxy's own addresses.
SSO_USER_HEADER = env.str("SSO_USER_HEADER", default="X-Forwarded-User")
SSO_EMAIL_HEADER = env.str("SSO_EMAIL_HEADER", default="X-Forwarded-Email")
SSO_GROUPS_HEADER = env.str("SSO_GROUPS_HEADER", default="X-Forwarded-Groups")
SSO_TRUSTED_PROXIES = env.list("SSO_TRUSTED_PROXIES", default=[])
# Where "Sign out" sends people behind SSO, so they leave the proxy's session too.
SSO_SIGNOUT_URL = env.str("SSO_SIGNOUT_URL", default="")
if SSO_MODE == "header" and not SSO_TRUSTED_PROXIES:
    raise ImproperlyConfigured("SSO_TRUSTED_PROXIES (CIDRs) is required when SSO_MODE=header.")

# IdP group -> back-office role. Several groups may map to one role; unmapped groups grant nothing.
SSO_GROUP_ROLES: dict[str, str] = env.dict(
    "SSO_GROUP_ROLES",
    default={
        "backoffice-compliance": "compliance",
        "backoffice-support": "support",
        "backoffice-treasury": "treasury",
        "backoffice-supervisor": "supervisor",
        "backoffice-admin": "superuser",
    },
)

# The role table (the README's "Roles and permissions" shows it, and a test holds the two equal):
# each role is a Django group holding these permissions ("app_label.codename"). The domain apps add
# theirs here as they arrive; `superuser` is not a group but Django's is_superuser, which holds
# every permission except BACKOFFICE_ROLE_ONLY_PERMISSIONS. Pages, menus and services check them
# with backoffice.identity.permissions.has_permission (never User.has_perm, which knows no
# exception for superusers).
_ONBOARDING_READ = [
    "participants.view_participant",
    "participants.view_kycsubmission",
    "participants.view_account",
    "participants.view_kycnote",
]
_ONBOARDING_WORK = [
    "participants.add_kycsubmission",
    "participants.change_kycsubmission",
    "participants.add_kycnote",
]
# Treasury makes and checks funding requests (two different people); a supervisor gives the
# second approval above FUNDING_SUPERVISOR_THRESHOLD.
_FUNDING_READ = ["funding.view_fundingrequest", "funding.view_pooltopup"]
# Treasury and supervisors own the breaks the nightly reconciliation finds; compliance reads them.
_RECONCILIATION_WORK = ["reconciliation.view_break", "reconciliation.work_break"]
# The trading mirror: orders with their executions, trades, positions and balances, read by
# support, compliance and supervisors; support alone cancels an order for a participant.
_TRADING_READ = ["trading.view_order"]
# The exchange-health page and the record of exchange calls, for everyone who works an exchange
# outcome (a failed KYC send, a cash movement not known to have arrived, an order not cancelled)
# and must tell "is it us, or the exchange?"
_EXCHANGE_HEALTH = ["gateway.view_gatewaycall"]
BACKOFFICE_ROLES: dict[str, list[str]] = {
    "compliance": [
        "audit.view_auditevent",
        *_ONBOARDING_READ,
        *_ONBOARDING_WORK,
        "participants.reveal_pii",
        "participants.review_duplicate",
        "participants.adopt_exchange_state",
        "reconciliation.view_break",
        *_TRADING_READ,
        *_EXCHANGE_HEALTH,
    ],
    "support": [
        *_ONBOARDING_READ,
        *_ONBOARDING_WORK,
        *_EXCHANGE_HEALTH,
        *_TRADING_READ,
        "trading.cancel_order",
    ],
    "treasury": [
        "participants.view_participant",
        "participants.view_account",
        *_FUNDING_READ,
        "funding.add_fundingrequest",
        "funding.approve_fundingrequest",
        "funding.add_pooltopup",
        *_RECONCILIATION_WORK,
        *_EXCHANGE_HEALTH,
    ],
    "supervisor": [
        "audit.view_auditevent",
        "auth.view_user",
        *_ONBOARDING_READ,
        "participants.change_kycsubmission",
        "participants.adopt_exchange_state",
        *_EXCHANGE_HEALTH,
        *_FUNDING_READ,
        "funding.approve_large_fundingrequest",
        *_RECONCILIATION_WORK,
        *_TRADING_READ,
    ],
}

# Permissions only a role's group grants, whatever Django's superuser flag says: revealing personal
# data is compliance's alone. An administrator who must do it is given the compliance role.
BACKOFFICE_ROLE_ONLY_PERMISSIONS: list[str] = ["participants.reveal_pii"]

# Both limits are enforced by backoffice.identity.middleware, to the second, audited, and explained
# on the next page. The stored session outlives them by a day, so that it is that middleware (and
# not Django silently dropping an expired row) that ends the session.
SESSION_IDLE_TIMEOUT_SECONDS = env.int("SESSION_IDLE_TIMEOUT_SECONDS", default=30 * 60)
SESSION_ABSOLUTE_TIMEOUT_SECONDS = env.int("SESSION_ABSOLUTE_TIMEOUT_SECONDS", default=12 * 60 * 60)
SESSION_COOKIE_AGE = SESSION_ABSOLUTE_TIMEOUT_SECONDS + 24 * 60 * 60
SESSION_EXPIRE_AT_BROWSER_CLOSE = True

# Where each domain app's pages are mounted: (URL prefix, URLconf module).
BACKOFFICE_URLCONFS: list[tuple[str, str]] = [
    ("onboarding/", "participants.urls"),
    ("webhooks/polymarket/", "participants.webhook_urls"),
    ("funding/", "funding.urls"),
    ("trading/", "trading.urls"),
]
# What the top bar's search box asks: (provider `search(*, term, user)`, permission it needs).
BACKOFFICE_SEARCH: list[tuple[str, str]] = [
    ("participants.search.search", "participants.view_participant"),
]
# The staff page of an object an audit event names: object type -> (url name taking the object's
# id, permission needed to follow it). Other models link to their admin page.
AUDIT_OBJECT_PAGES: dict[str, tuple[str, str]] = {
    "participants.participant": ("participants:participant", "participants.view_participant"),
    "participants.kycsubmission": ("participants:submission", "participants.view_kycsubmission"),
    "funding.fundingrequest": ("funding:request", "funding.view_fundingrequest"),
}
# Extra panels on the participant page, (title, template, permission the panel needs), contributed
# by the domain apps; the template sees the page's context.
PARTICIPANT_PAGE_PANELS: list[tuple[str, str, str]] = [
    ("Funding", "funding/panel.html", "funding.view_fundingrequest"),
    (
        "Open reconciliation breaks",
        "reconciliation/participant_panel.html",
        "reconciliation.view_break",
    ),
    ("Trading", "trading/participant_panel.html", "trading.view_order"),
]
# The home page's work counts: (provider `counts(*, user)`, permission it needs); backoffice/home.py.
BACKOFFICE_HOME_COUNTS: list[tuple[str, str]] = [
    ("participants.home.counts", "participants.view_kycsubmission"),
    ("funding.home.counts", "funding.view_fundingrequest"),
    ("backoffice.reconciliation.home.counts", "reconciliation.view_break"),
    ("trading.home.counts", "trading.view_order"),
]
# Extra panels on the exchange-health page, (title, template, permission needed).
EXCHANGE_HEALTH_PANELS: list[tuple[str, str, str]] = [
    ("Streams", "trading/health_panel.html", "gateway.view_gatewaycall"),
]

# --- Onboarding ----------------------------------------------------------------------------------------
# The participant-agreement version participants accept (the exchange hands it out at onboarding;
# its sandbox accepts PMX.ISV.SANDBOX.v1.0). Configuration, never hard-coded.
KYC_AGREEMENT_VERSION = env.str(
    "KYC_AGREEMENT_VERSION", default="PMX.ISV.SANDBOX.v1.0" if DEBUG else ""
)
if not KYC_AGREEMENT_VERSION:
    raise ImproperlyConfigured(
        "KYC_AGREEMENT_VERSION is not set. It is required when DEBUG is off."
    )
# How long a submission may wait in the queue before it shows as overdue.
KYC_SLA_HOURS = env.int("KYC_SLA_HOURS", default=24)

# --- Funding -----------------------------------------------------------------------------------------
# Requests above this amount (USD) need a supervisor's approval as well as a checker's.
try:
    FUNDING_SUPERVISOR_THRESHOLD = Decimal(
        env.str("FUNDING_SUPERVISOR_THRESHOLD", default="10000.00")
    )
except InvalidOperation:
    FUNDING_SUPERVISOR_THRESHOLD = Decimal("NaN")
if not (FUNDING_SUPERVISOR_THRESHOLD.is_finite() and FUNDING_SUPERVISOR_THRESHOLD >= 0):
    raise ImproperlyConfigured(
        "FUNDING_SUPERVISOR_THRESHOLD must be an amount in dollars, such as 10000.00."
    )

# --- Trading -----------------------------------------------------------------------------------------
# The stream consumer's lease (a standby takes over within this many seconds of a crash), how long
# the exchange keeps executions (a cold start backfills that much), the size of a backfill's
# download windows, and how far behind the feed may fall before every trading page says so.
TRADING_STREAM_LEASE_SECONDS = env.float("TRADING_STREAM_LEASE_SECONDS", default=6.0)
TRADING_RETENTION_DAYS = env.float("TRADING_RETENTION_DAYS", default=7.0)
TRADING_BACKFILL_CHUNK_HOURS = env.float("TRADING_BACKFILL_CHUNK_HOURS", default=6.0)
TRADING_FEED_STALE_SECONDS = env.int("TRADING_FEED_STALE_SECONDS", default=30)

# Dotted paths of functions `seed(*, stdout)` that `manage.py seed_demo` runs after the demo users,
# in order; each domain app adds its demo data here.
BACKOFFICE_DEMO_SEEDERS: list[str] = ["participants.demo.seed", "funding.demo.seed"]
DEMO_PASSWORD = env.str("DEMO_PASSWORD", default="") if DEBUG else ""

# --- Reconciliation (backoffice/reconciliation, `manage.py reconcile`) ------------------------------
# Dotted paths of the checks a run makes, in order: classes whose instances compare one kind of
# figure (backoffice.reconciliation.checks.Check). Each domain app adds its own.
BACKOFFICE_RECONCILIATION_CHECKS: list[str] = [
    "funding.reconciliation.CashCheck",
    "funding.reconciliation.MovementsCheck",
    "funding.reconciliation.PoolCheck",
    "trading.reconciliation.PositionsCheck",
]
# `link(*, reference, break_record)`: the funding app's check that a funding request moved the
# money a MONEY_MOVED resolution says it did ("" while no app moves money).
RECONCILIATION_MOVEMENT_LINKER = "funding.reconciliation.link_movement"
# Money differences up to this many dollars are matched, not breaks.
try:
    RECONCILIATION_TOLERANCE = Decimal(env.str("RECONCILIATION_TOLERANCE", default="0.00"))
except InvalidOperation:
    RECONCILIATION_TOLERANCE = Decimal("NaN")
if not (RECONCILIATION_TOLERANCE.is_finite() and RECONCILIATION_TOLERANCE >= 0):
    raise ImproperlyConfigured(
        "RECONCILIATION_TOLERANCE must be an amount in dollars, such as 0.01."
    )
# Hours a break may stay open before it is overdue.
RECONCILIATION_SLA_HOURS = env.int("RECONCILIATION_SLA_HOURS", default=48)
# The exchange's trade date rolls at 17:00 New York time (API.md 8 #25).
RECONCILIATION_CUTOFF = env.str("RECONCILIATION_CUTOFF", default="17:00")
if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", RECONCILIATION_CUTOFF):
    raise ImproperlyConfigured("RECONCILIATION_CUTOFF must be a time of day, HH:MM (24 h).")
RECONCILIATION_CUTOFF_TIME_ZONE = env.str(
    "RECONCILIATION_CUTOFF_TIME_ZONE", default="America/New_York"
)
# An item this many minutes across the cut-off from its partner is a timing difference.
RECONCILIATION_TIMING_MINUTES = env.int("RECONCILIATION_TIMING_MINUTES", default=30)
# Accounts per page: each page is read in bulk and written in one transaction with its checkpoint.
RECONCILIATION_PAGE_SIZE = env.int("RECONCILIATION_PAGE_SIZE", default=500)
# A run's process renews its claim this often (a quarter of it); a run whose claim lapses (or
# whose process on this machine has gone) is resumed by the next `reconcile`.
RECONCILIATION_LEASE_SECONDS = env.int("RECONCILIATION_LEASE_SECONDS", default=600)

LOGIN_URL = "identity:signin"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "identity:signed-out"

# Side menu: (label, url name, permission or "" for everyone signed in). Domain apps append theirs.
BACKOFFICE_NAVIGATION: list[tuple[str, str, str]] = [
    ("Home", "home", ""),
    ("Participants", "participants:participants", "participants.view_participant"),
    ("Onboarding", "participants:queue", "participants.view_kycsubmission"),
    ("Audit", "audit:events", "audit.view_auditevent"),
    ("Exchange health", "gateway:health", "gateway.view_gatewaycall"),
    ("Funding", "funding:queue", "funding.view_fundingrequest"),
    ("Reconciliation", "reconciliation:dashboard", "reconciliation.view_break"),
    ("Breaks", "reconciliation:breaks", "reconciliation.view_break"),
    ("Trading", "trading:blotter", "trading.view_order"),
]

# --- Polymarket US gateway (backoffice/gateway) ------------------------------------------------------
# Every POLYMARKET_* setting and its default lives here; backoffice/gateway/config.py turns them into
# typed settings when the gateway is first used, not at start-up: the web app starts without exchange
# credentials and serves every page that does not need the exchange; the first exchange call and
# `manage.py gateway_check` name whatever is missing. Keys are files (or a PEM in the environment),
# never database rows. Environments: preprod, prod, sandbox (the local imitation).
POLYMARKET_ENVIRONMENT = env.str("POLYMARKET_ENVIRONMENT", default="sandbox" if DEBUG else "")
POLYMARKET_SANDBOX_URL = env.str("POLYMARKET_SANDBOX_URL", default="http://127.0.0.1:8100")
# Overrides of the environment's preset: the API base URL, the token endpoint, and the audience the
# token is asked for (default: the API URL).
POLYMARKET_API_URL = env.str("POLYMARKET_API_URL", default="")
POLYMARKET_TOKEN_URL = env.str("POLYMARKET_TOKEN_URL", default="")
POLYMARKET_AUDIENCE = env.str("POLYMARKET_AUDIENCE", default="")
# TLS is always verified: against the system's authorities, or this CA bundle (a private CA, or the
# sandbox's self-signed certificate).
POLYMARKET_CA_BUNDLE = env.str("POLYMARKET_CA_BUNDLE", default="")
# The gRPC streams' host:port (default: the environment's documented host; the sandbox's second
# port, 127.0.0.1:8101, plaintext). TLS, verified against POLYMARKET_CA_BUNDLE, everywhere else.
POLYMARKET_GRPC_TARGET = env.str("POLYMARKET_GRPC_TARGET", default="")
POLYMARKET_CLIENT_ID = env.str("POLYMARKET_CLIENT_ID", default="")
POLYMARKET_PRIVATE_KEY_FILE = env.str("POLYMARKET_PRIVATE_KEY_FILE", default="")
POLYMARKET_PRIVATE_KEY = env.str("POLYMARKET_PRIVATE_KEY", default="")
# During a key rotation: the new key, tried when the exchange no longer (or not yet) knows the other.
POLYMARKET_PRIVATE_KEY_NEXT_FILE = env.str("POLYMARKET_PRIVATE_KEY_NEXT_FILE", default="")
POLYMARKET_CONNECT_TIMEOUT_SECONDS = env.float("POLYMARKET_CONNECT_TIMEOUT_SECONDS", default=3.05)
POLYMARKET_RATE_LIMITS = env.bool("POLYMARKET_RATE_LIMITS", default=True)
# Commands and jobs: retried with jittered backoff (base * 2^n, capped), waiting up to
# POLYMARKET_MAX_WAIT_SECONDS at a time for a backoff, a Retry-After or a rate-limit slot. The
# exchange's own gateway gives up after 30 s (504); the read timeout is a little longer than that.
POLYMARKET_READ_TIMEOUT_SECONDS = env.float("POLYMARKET_READ_TIMEOUT_SECONDS", default=35.0)
POLYMARKET_MAX_ATTEMPTS = env.int("POLYMARKET_MAX_ATTEMPTS", default=5)
POLYMARKET_BACKOFF_BASE_SECONDS = env.float("POLYMARKET_BACKOFF_BASE_SECONDS", default=1.0)
POLYMARKET_BACKOFF_CAP_SECONDS = env.float("POLYMARKET_BACKOFF_CAP_SECONDS", default=8.0)
POLYMARKET_MAX_WAIT_SECONDS = env.float("POLYMARKET_MAX_WAIT_SECONDS", default=60.0)
# Staff requests: one attempt, a shorter read timeout, and no wait longer than this for a
# rate-limit slot; what does not finish is left to the background command that completes it.
POLYMARKET_STAFF_READ_TIMEOUT_SECONDS = env.float(
    "POLYMARKET_STAFF_READ_TIMEOUT_SECONDS", default=10.0
)
POLYMARKET_STAFF_MAX_WAIT_SECONDS = env.float("POLYMARKET_STAFF_MAX_WAIT_SECONDS", default=1.5)

# --- Logging: every line carries the request id; nothing logged may carry PII ----------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "request_context": {"()": "backoffice.context.RequestContextLogFilter"},
        "refusals": {"()": "backoffice.context.RefusalLogFilter"},
    },
    "formatters": {
        "plain": {
            "format": "%(asctime)s %(levelname)s %(name)s [req=%(request_id)s] %(message)s",
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["request_context"],
        },
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # Django's own console handler (DEBUG only) would print every line a second time beside
        # the root's; its lines go to the root's handler alone.
        "django": {"handlers": [], "level": "INFO"},
        "django.request": {"filters": ["refusals"]},
    },
}
