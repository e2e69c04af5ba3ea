"""The web app's HTTP side: `GET /` (the page), `GET /app/{name}` (its static
files, a fixed list in chalicelib/edge/web/) and `GET /client-config` (what the page
must know about this stage).

Imported by the routes that serve it, never on the API's path, and a file is
read from disk only when it is asked for. No build step: the files are served
as they are in the repository. HTTP-shaped but Chalice-free: it answers with a
`Served` that `http.served` turns into a response.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from ..adapters.blobs import BlobStore
from ..config import SEARCH_MAX_QUERY_CHARS, SEARCH_MAX_WORDS, Settings
from ..domain import formats, keys, records
from ..domain.errors import Invalid, NotFound
from . import validation

WEB = Path(__file__).resolve().parent / "web"
# Every file the app may serve, and its type; nothing else under web/ is reachable.
ASSETS = {
    **{
        f"{module}.js": "text/javascript; charset=utf-8"
        for module in (
            "app",
            "api",
            "blurhash",
            "detail",
            "dom",
            "embed",
            "errors",
            "focus",
            "gallery",
            "rules",
            "selection",
            "session",
            "state",
            "upload",
            "watch",
            "webhooks",
            "words",
        )
    },
    "app.css": "text/css; charset=utf-8",
    "icon.svg": "image/svg+xml",
}
HTML = "text/html; charset=utf-8"
# Names are not versioned, so the browser asks again each time and gets a 304
# when the file is unchanged (ETag).
REVALIDATE = "no-cache"
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
}


@functools.lru_cache(maxsize=len(ASSETS) + 1)
def _read(name: str) -> tuple[bytes, str]:
    """The file's bytes and a strong ETag; read once per container, when first asked."""
    data = (WEB / name).read_bytes()
    return data, '"' + hashlib.sha256(data).hexdigest()[:32] + '"'


@dataclass(frozen=True)
class Served:
    status: int
    headers: dict[str, str]
    body: str


def _not_modified(if_none_match: str | None, etag: str) -> bool:
    return etag in (w.strip().removeprefix("W/") for w in (if_none_match or "").split(","))


def _file(if_none_match: str | None, content_type: str, data: bytes, etag: str, extra: dict) -> Served:
    headers = {"Content-Type": content_type, "Cache-Control": REVALIDATE, "ETag": etag, **SECURITY_HEADERS, **extra}
    if _not_modified(if_none_match, etag):
        return Served(304, headers, "")
    return Served(200, headers, data.decode("utf-8"))


def _origin(url: str) -> str:
    """` scheme://host[:port]` of a URL, or nothing."""
    parts = urlsplit(url)
    return f" {parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


def content_security_policy(settings: Settings) -> str:
    """Only this origin's scripts and styles; images from here, the bucket and the
    delivery domain (renditions); uploads only to the bucket; fetches of renditions (the
    embed builder reads their bytes) from the delivery domain."""
    bucket = " ".join(BlobStore(settings.bucket).url_origins())
    renditions = _origin(settings.delivery_base_url)
    return "; ".join(
        [
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            f"img-src 'self' data: blob: {bucket}{renditions}",
            f"connect-src 'self' {bucket}{renditions}",
            "manifest-src 'self'",
            "base-uri 'self'",
            "form-action 'none'",
            "frame-ancestors 'none'",
        ]
    )


PAGE_SIZE = 30  # tiles per list call; `?page_size=` in the page's address overrides it


def page_query(params: dict[str, str]) -> None:
    """The page's own address takes one parameter, read by the page: page_size (1-100)."""
    validation.query(params, ("page_size",))
    size = params.get("page_size")
    if size is not None and not (size.isascii() and size.isdigit() and 1 <= int(size) <= 100):
        raise Invalid("page_size must be an integer from 1 to 100")


def index(if_none_match: str | None, base_path: str, settings: Settings) -> Served:
    """The page, with its <base> set to where the API is mounted (API Gateway adds a
    stage prefix), so every relative URL in it reaches this API."""
    data, etag = _read("index.html")
    page = data.replace(b"{{BASE}}", base_path.encode())
    etag = '"' + hashlib.sha256(page).hexdigest()[:32] + '"'
    return _file(if_none_match, HTML, page, etag, {"Content-Security-Policy": content_security_policy(settings)})


def asset(if_none_match: str | None, name: str) -> Served:
    content_type = ASSETS.get(name)
    if content_type is None:
        raise NotFound(f"no file '{name}' in the web app")
    data, etag = _read(name)
    return _file(if_none_match, content_type, data, etag, {})


# The file names each accepted type goes by, and the names people know the formats by.
EXTENSIONS = {f".{f.ext}": f.mime for f in formats.ACCEPTED} | {
    ".jpeg": "image/jpeg",
    ".tif": "image/tiff",
    ".heif": "image/heif",
}
LABELS = {"WEBP": "WebP", "HEIF": "HEIC"}


def client_config(settings: Settings) -> dict:
    """What the page needs to know about this stage, without signing in."""
    return {
        "auth_mode": settings.auth_mode,
        "admin_group": settings.admin_group if settings.auth_mode == "cognito" else None,
        "user_name": {"pattern": keys.OWNER_PATTERN, "rule": keys.OWNER_RULE},
        "tags": {"max_count": records.MAX_TAGS, "max_length": records.MAX_TAG_LENGTH, "fold": records.TAG_FOLD},
        "search": {"max_chars": SEARCH_MAX_QUERY_CHARS, "max_words": SEARCH_MAX_WORDS},
        "upload": {
            "flow": "presigned-post",
            "max_bytes": settings.max_upload_bytes,
            "content_types": list(formats.UPLOAD_CONTENT_TYPES),
            "extensions": EXTENSIONS,
            "formats": [
                {
                    "name": LABELS.get(f.name, f.name),
                    "content_types": [m for m, g in formats.BY_MIME.items() if g is f],
                    "extensions": [e for e, m in EXTENSIONS.items() if formats.BY_MIME[m] is f],
                }
                for f in formats.ACCEPTED
            ],
        },
        "variants": list(settings.preset_names),
        "page_size": PAGE_SIZE,
        "url_window_seconds": settings.url_window,
        "view_url_ttl_seconds": settings.view_url_ttl,
    }
