"""Configuration: one Settings object, read from the environment at call time.

This is the single home of every default. Nothing reads os.environ at import
time, because the Chalice test client (and `chalice local`) apply a stage's
environment variables only around each call.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

MB = 1024 * 1024
QUARANTINE_DAYS = 30


# auto: JPEG when the image is opaque, PNG when it has transparency.
PRESET_FORMATS = ("auto", "jpeg", "png", "webp", "avif")


@dataclass(frozen=True)
class Preset:
    """One variant: fit inside a `box`x`box` square, never upscaled."""

    name: str
    box: int
    format: str = "auto"  # one of PRESET_FORMATS
    quality: int = 85  # JPEG, WebP and AVIF; PNG is lossless


DEFAULT_PRESETS = (
    Preset("thumb", 256),
    Preset("medium", 1024),
    Preset("large", 2048),
)


@dataclass(frozen=True)
class Settings:
    bucket: str
    table: str
    # Signs pagination tokens: SIGNING_SECRET itself, or the Secrets Manager
    # secret SIGNING_SECRET_ARN names (deployed stages; see pagination_secret()).
    signing_secret: str | None
    max_upload_bytes: int = 25 * MB
    max_api_upload_bytes: int = 4 * MB
    max_pixels: int = 50_000_000
    max_frames: int = 100
    upload_url_ttl: int = 300
    view_url_ttl: int = 3600
    # GET URLs are signed at the start of the current window of this many seconds
    # (or at the record's change, if later), so they stay byte-identical (and
    # cacheable) all through it until the image changes.
    url_window: int = 900
    pending_ttl_days: int = 2
    # How long a rejected original stays in quarantine (the bucket's lifecycle
    # rule) and its record with the reason (DynamoDB's TTL).
    quarantine_days: int = QUARANTINE_DAYS
    presets: tuple[Preset, ...] = field(default=DEFAULT_PRESETS)
    auth_mode: str = "none"  # none | token | cognito (see auth.py)
    admin_group: str = "admins"  # cognito: members of this group are admins
    cors_origins: tuple[str, ...] = ()  # "*" allows any origin
    signing_secret_arn: str | None = None
    secrets_max_age: int = 300  # seconds a warm container keeps a secret (a rotation's delay)
    # How many times the upload handler may try one original (Lambda's async invoke: the
    # first attempt and two retries, scripts/deploy.py ASYNC_RETRIES). Failing the same
    # way on the last one is a verdict: the image is rejected (docs/data-model.md).
    processing_attempts: int = 3
    # Events and webhooks (docs/events.md). Names default to the table's stage prefix.
    event_bus: str = ""
    webhook_queue: str = ""
    webhook_dlq: str = ""
    webhook_key_id: str | None = None  # KMS key sealing webhook secrets; required on Lambda
    webhook_retry_schedule: tuple[int, ...] = ()
    webhooks_allow_loopback: bool = False  # the local stage only; never on Lambda
    on_lambda: bool = False
    # Partitions each list with no owner is spread over (adapters.store): grow it freely, shrink it
    # only after scripts/backfill.py. An admin's page reads at most list_shards x (limit + 1) entries.
    list_shards: int = 8
    # Renditions (chalicelib/delivery, imaging/renditions.py): the largest width or height,
    # and how long an AVIF may be predicted to take to encode before WebP is served instead.
    max_rendition_dimension: int = 4096
    avif_budget_ms: int = 2500
    # Rendition URLs (chalicelib/delivery): the signing keys (DELIVERY_KEYS JSON, or the
    # secret DELIVERY_KEYS_ARN names), how long a URL lives past its window (0: never
    # expires), and where they are served (the CDN's origin; else the API itself).
    delivery_keys: str | None = None
    delivery_keys_arn: str | None = None
    delivery_url_ttl: int = 0
    delivery_base_url: str = ""

    @property
    def preset_names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.presets)

    @property
    def presets_fingerprint(self) -> str:
        """Names what the presets make; a record rendered under another one is stale."""
        spec = json.dumps([[p.name, p.box, p.format, p.quality] for p in self.presets])
        return hashlib.sha256(spec.encode()).hexdigest()[:16]


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise RuntimeError(f"{name} must be an integer, got {raw!r}") from None
    if value <= 0:
        raise RuntimeError(f"{name} must be positive, got {value}")
    return value


_PRESET_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$")  # it goes into S3 keys


def _presets(raw: str | None) -> tuple[Preset, ...]:
    """VARIANT_PRESETS is a JSON list of {name, box, format?, quality?}."""
    if not raw:
        return DEFAULT_PRESETS
    try:
        presets = tuple(Preset(**item) for item in json.loads(raw))
    except (ValueError, TypeError) as exc:
        raise RuntimeError(f"VARIANT_PRESETS is not a valid preset list: {exc}") from None
    for p in presets:
        if not isinstance(p.name, str) or not _PRESET_NAME.match(p.name):
            raise RuntimeError(f"VARIANT_PRESETS: name {p.name!r} must be 1-32 letters, digits, _ or -")
        if not isinstance(p.box, int) or not 1 <= p.box <= 8192:
            raise RuntimeError(f"VARIANT_PRESETS: {p.name} box must be an integer from 1 to 8192")
        if p.format not in PRESET_FORMATS:
            raise RuntimeError(f"VARIANT_PRESETS: {p.name} format must be one of {', '.join(PRESET_FORMATS)}")
        if not isinstance(p.quality, int) or not 1 <= p.quality <= 100:
            raise RuntimeError(f"VARIANT_PRESETS: {p.name} quality must be an integer from 1 to 100")
    names = [p.name for p in presets]
    if not presets or len(set(names)) != len(names) or "original" in names:
        raise RuntimeError("VARIANT_PRESETS needs unique names, none called 'original'")
    return presets


AUTH_MODES = ("none", "token", "cognito")


def auth_mode(raw: str | None) -> str:
    mode = (raw or "none").strip().lower()
    if mode not in AUTH_MODES:
        raise RuntimeError(f"AUTH_MODE must be one of {', '.join(AUTH_MODES)}, got {raw!r}")
    return mode


def _origins(raw: str | None) -> tuple[str, ...]:
    """CORS_ALLOW_ORIGINS: comma-separated origins (scheme://host[:port]), or *."""
    return tuple(o.strip().rstrip("/") for o in (raw or "").split(",") if o.strip())


def secrets_max_age(env) -> int:
    """SECRETS_MAX_AGE alone: the token authorizer reads no other setting."""
    return _int(env, "SECRETS_MAX_AGE", 300)


def on_lambda(env) -> bool:
    """Running in AWS Lambda, which always sets the function's name; never locally."""
    return bool(env.get("AWS_LAMBDA_FUNCTION_NAME"))


def _signing_secret(env) -> str | None:
    """SIGNING_SECRET; else None when SIGNING_SECRET_ARN names the secret; else,
    off Lambda only, one derived from the table's name. Anyone can derive that
    one, so a deployed stage refuses to run on it."""
    if env.get("SIGNING_SECRET"):
        return env["SIGNING_SECRET"]
    if env.get("SIGNING_SECRET_ARN"):
        return None
    if on_lambda(env):
        raise RuntimeError(
            "SIGNING_SECRET_ARN is not set: a deployed stage signs its page tokens with a random secret "
            "of its own, which `make deploy` provisions in Secrets Manager (scripts/deploy.py resources)"
        )
    return f"imgstore-local:{env['IMAGES_TABLE']}"


# Search (domain.search, docs/api.md#search). A query: at most this many characters as sent and
# this many distinct words. An image: at most SEARCH_MAX_TERMS terms (its words and their 3-character
# prefix terms together), each cut to SEARCH_MAX_TERM_CHARS. Not settings: the terms are stored as word
# items, so changing the image caps needs scripts/backfill.py. 29 keeps the largest save one
# transaction of DynamoDB's 100 items: the record, 20 tags out and 20 in, 29 terms out and 29 in.
SEARCH_MAX_QUERY_CHARS = 200
SEARCH_MAX_WORDS = 8
SEARCH_MAX_TERMS = 29
SEARCH_MAX_TERM_CHARS = 40

MAX_PRESIGN_SECONDS = 7 * 86400  # SigV4 refuses a presigned URL that lives longer
# A GET URL's expiry also carries the record's version modulo this (adapters.presigning.Window), so
# two renderings within one second get different URLs; it lives up to 59 s longer.
URL_REVISION_SPREAD = 60


def _url_window(env: Any) -> int:
    window = _int(env, "URL_WINDOW", 900)
    lifetime = window + _int(env, "VIEW_URL_TTL", 3600)
    longest = MAX_PRESIGN_SECONDS - (URL_REVISION_SPREAD - 1)
    if lifetime > longest:
        raise RuntimeError(
            f"URL_WINDOW + VIEW_URL_TTL is {lifetime} s; at most {longest} s, so that with the "
            f"{URL_REVISION_SPREAD - 1} s that tell revisions apart a URL lives at most {MAX_PRESIGN_SECONDS} s (SigV4)"
        )
    return window


def load(environment: Mapping[str, str] | None = None) -> Settings:
    """Read the settings now. Raises RuntimeError naming a missing variable."""
    env = os.environ if environment is None else environment
    missing = [n for n in ("IMAGES_BUCKET", "IMAGES_TABLE") if not env.get(n)]
    if missing:
        raise RuntimeError(f"missing environment variable(s): {', '.join(missing)}")
    return Settings(
        bucket=env["IMAGES_BUCKET"],
        table=env["IMAGES_TABLE"],
        # Signs pagination tokens. Deployments set their own; the fallback
        # keeps tokens tamper-evident for local use only.
        signing_secret=_signing_secret(env),
        signing_secret_arn=env.get("SIGNING_SECRET_ARN") or None,
        secrets_max_age=secrets_max_age(env),
        list_shards=_int(env, "LIST_SHARDS", 8),
        max_upload_bytes=_int(env, "MAX_UPLOAD_BYTES", 25 * MB),
        max_api_upload_bytes=_int(env, "MAX_API_UPLOAD_BYTES", 4 * MB),
        max_pixels=_int(env, "MAX_PIXELS", 50_000_000),
        max_frames=_int(env, "MAX_FRAMES", 100),
        upload_url_ttl=_int(env, "UPLOAD_URL_TTL", 300),
        view_url_ttl=_int(env, "VIEW_URL_TTL", 3600),
        url_window=_url_window(env),
        quarantine_days=quarantine_days(env),
        presets=_presets(env.get("VARIANT_PRESETS")),
        auth_mode=auth_mode(env.get("AUTH_MODE")),
        admin_group=env.get("ADMIN_GROUP") or "admins",
        cors_origins=_origins(env.get("CORS_ALLOW_ORIGINS")),
        max_rendition_dimension=_int(env, "MAX_RENDITION_DIMENSION", 4096),
        avif_budget_ms=_int(env, "AVIF_BUDGET_MS", 2500),
        delivery_keys=_delivery_keys(env),
        delivery_keys_arn=env.get("DELIVERY_KEYS_ARN") or None,
        delivery_url_ttl=_non_negative(env, "DELIVERY_URL_TTL", 0),
        delivery_base_url=(env.get("DELIVERY_BASE_URL") or "").rstrip("/"),
        processing_attempts=max(1, _int(env, "PROCESSING_ATTEMPTS", 3)),
        **_events(env),
    )


def _events(env: Mapping[str, str]) -> dict[str, Any]:
    """The events' names and webhook rules; names default to `imgstore-{stage}...`,
    the table's name without `-images`."""
    from .events import schedule

    prefix = env["IMAGES_TABLE"].removesuffix("-images")
    lambda_ = on_lambda(env)
    return dict(
        event_bus=env.get("EVENT_BUS") or prefix,
        webhook_queue=env.get("WEBHOOK_QUEUE") or f"{prefix}-webhooks",
        webhook_dlq=env.get("WEBHOOK_DLQ") or f"{prefix}-webhooks-dlq",
        webhook_key_id=env.get("WEBHOOK_KEY_ID") or None,
        webhook_retry_schedule=schedule.from_environment(env),
        webhooks_allow_loopback=env.get("WEBHOOKS_ALLOW_LOOPBACK", "").lower() == "true" and not lambda_,
        on_lambda=lambda_,
    )


def _non_negative(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw in (None, ""):
        return default
    if not raw.isdigit():
        raise RuntimeError(f"{name} must be a whole number of seconds (0 or more), got {raw!r}")
    return int(raw)


def _delivery_keys(env: Mapping[str, str]) -> str | None:
    """DELIVERY_KEYS (delivery/keyring.py refuses the derived fallback on Lambda)."""
    return env.get("DELIVERY_KEYS") or None


def quarantine_days(env: Mapping[str, str]) -> int:
    """QUARANTINE_DAYS, also read on its own: the deploy and bootstrap scripts
    put it into the bucket's lifecycle rule before any bucket exists."""
    return _int(env, "QUARANTINE_DAYS", QUARANTINE_DAYS)


@dataclass(frozen=True)
class TokenSecretSource:
    """Where AUTH_MODE=token's secret comes from: the value itself (local stages) or
    the Secrets Manager secret that holds it (deployed stages)."""

    value: str | None
    arn: str | None
    max_age: int


def token_secret_source(environment: Mapping[str, str] | None = None) -> TokenSecretSource:
    """AUTH_TOKEN_SECRET, AUTH_TOKEN_SECRET_ARN and SECRETS_MAX_AGE alone: the token
    authorizer reads no other setting (and needs no bucket or table)."""
    env = os.environ if environment is None else environment
    return TokenSecretSource(
        env.get("AUTH_TOKEN_SECRET") or None, env.get("AUTH_TOKEN_SECRET_ARN") or None, secrets_max_age(env)
    )


@dataclass(frozen=True)
class TelemetryNames:
    service: str  # the `service` field of log lines and the metrics' dimension: one per stage
    namespace: str  # CloudWatch metrics namespace


def telemetry_names(environment: Mapping[str, str] | None = None) -> TelemetryNames:
    """POWERTOOLS_SERVICE_NAME and POWERTOOLS_METRICS_NAMESPACE, defaulting to imgstore."""
    env = os.environ if environment is None else environment
    return TelemetryNames(
        env.get("POWERTOOLS_SERVICE_NAME") or "imgstore", env.get("POWERTOOLS_METRICS_NAMESPACE") or "imgstore"
    )
