"""Turning API requests into checked inputs for the use-cases.

Hand-written rather than pydantic: pydantic's import and model build cost
about 190 ms of cold start on the API function, more than the whole API code
path. Every failure raises Invalid (400) or TooLarge (413) with a message that
names the field and the rule; nothing is written before these checks pass.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

from ..config import SEARCH_MAX_QUERY_CHARS, SEARCH_MAX_WORDS, Settings
from ..domain import formats, keys
from ..domain.errors import Invalid, TooLarge
from ..domain.records import MAX_DESCRIPTION_LENGTH, MAX_TITLE_LENGTH, ORDERS, STATUSES, normalize_tags
from ..domain.search import Search, query_words
from ..domain.upload_limits import bytes_text
from ..usecases.commands import ListQuery, Metadata, PresignedUpload, Upload

_NAMES = {str: "a string", int: "an integer", list: "a list", bool: "a boolean"}
_LIMIT = re.compile(r"[0-9]{1,9}")  # ASCII digits only: str.isdigit() takes "²" and "５" too


def _valid_unicode(value: Any) -> bool:
    """False when a string in `value` holds a lone surrogate (JSON's "\\udfff"),
    which no UTF-8 store, key or header can take."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return False
        return True
    if isinstance(value, list):
        return all(_valid_unicode(v) for v in value)
    if isinstance(value, dict):
        return all(_valid_unicode(k) and _valid_unicode(v) for k, v in value.items())
    return True


def json_object(raw: bytes | None) -> dict[str, Any]:
    """The body as a JSON object whose text is valid Unicode; Invalid otherwise."""
    if not raw:
        raise Invalid("request body must be a JSON object")
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: nested thousands deep
        raise Invalid("request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise Invalid("request body must be a JSON object")
    for name, value in body.items():
        if not _valid_unicode(name) or not _valid_unicode(value):
            shown = name if _valid_unicode(name) else "a field name"
            raise Invalid(f"{shown} is not valid Unicode text (it holds a lone surrogate)")
    return body


def _known(given: Iterable[str], allowed: Iterable[str], what: str) -> None:
    """Refuse names outside `allowed`: a typo must not be silently ignored."""
    names = list(allowed)
    unknown = sorted(set(given) - set(names))
    if unknown:
        raise Invalid(f"unknown {what}(s): {', '.join(unknown)}; allowed: {', '.join(names) or 'none'}")


def _fields(body: dict[str, Any], spec: Mapping[str, type], required: tuple[str, ...] = ()) -> None:
    """Only known fields, none null, the required ones present, each of its type
    (an integral JSON number such as 5.0 becomes the int 5 in `body`)."""
    _known(body, spec, "field")
    for name, value in body.items():
        if value is None:  # one meaning for null everywhere: none; absent is absent
            raise Invalid(f"{name} must not be null; leave it out instead")
    for name in required:
        if body.get(name) in (None, ""):
            raise Invalid(f"{name} is required")
    for name, value in list(body.items()):
        kind = spec[name]
        if kind is int and isinstance(value, float) and value.is_integer():
            value = body[name] = int(value)  # JSON has one number type: 5.0 is the integer 5
        # bool is an int in Python; JSON true is not a size.
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise Invalid(f"{name} must be {_NAMES[kind]}")


def _text(body: Mapping[str, Any], name: str, limit: int) -> str:
    """The field trimmed; its length, as sent, at most `limit` characters."""
    value = body.get(name) or ""
    if len(value) > limit:
        raise Invalid(f"{name} is longer than {limit} characters")
    return value.strip()


def user_id(value: Any) -> str | None:
    """The owner a request names, if any. Whether it is required, or allowed at
    all, depends on who is calling: see auth.Caller."""
    if value is None:
        return None
    if not isinstance(value, str) or not keys.is_owner(value):
        raise Invalid(f"user_id must be {keys.OWNER_RULE}")
    return value


def _metadata(body: Mapping[str, Any]) -> Metadata:
    return Metadata(
        title=_text(body, "title", MAX_TITLE_LENGTH),
        description=_text(body, "description", MAX_DESCRIPTION_LENGTH),
        tags=normalize_tags(body.get("tags") or []),
    )


_UPLOAD_FIELDS = {"image_data": str, "filename": str, "title": str, "description": str, "tags": list, "user_id": str}


def _check_api_size(size: int, settings: Settings) -> None:
    if size > settings.max_api_upload_bytes:
        raise TooLarge(
            f"image is {bytes_text(size)}; uploads through the API are limited to "
            f"{bytes_text(settings.max_api_upload_bytes)}, use POST /uploads for larger files"
        )


def _image_bytes(data: bytes, settings: Settings) -> formats.Format:
    _check_api_size(len(data), settings)
    if not data:
        raise Invalid("image is empty")
    found = formats.sniff(data[:64])
    if found is None:
        raise Invalid(f"the bytes are not a supported image ({formats.accepted_names()})")
    return found


def upload_from_json(raw: bytes | None, settings: Settings) -> Upload:
    body = json_object(raw)
    _fields(body, _UPLOAD_FIELDS, required=("image_data",))
    who, meta = user_id(body.get("user_id")), _metadata(body)  # cheap checks first
    encoded = body["image_data"].strip()
    if encoded.startswith("data:") and "," in encoded:  # a data: URL, as browsers produce
        encoded = encoded.split(",", 1)[1]
    # Refuse oversize input before spending memory on decoding it.
    _check_api_size(len(encoded) * 3 // 4 - encoded.count("=", -2), settings)
    try:
        data = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise Invalid("image_data is not valid base64") from None
    found = _image_bytes(data, settings)
    filename = keys.sanitize_filename(body.get("filename") or "", default=f"image.{found.ext}")
    return Upload(user_id=who, filename=filename, data=data, format=found, meta=meta)


RAW_PARAMS = ("filename", "title", "description", "tags", "user_id")


def upload_from_raw(data: bytes, params: Mapping[str, str], tag_values: list[str], settings: Settings) -> Upload:
    """A raw image/* body; metadata in the query string (tags comma-separated or repeated)."""
    params = query(params, RAW_PARAMS)
    if any(value == "" for value in tag_values):
        raise Invalid("query parameter tags is empty; give it a value or leave it out")
    tags = [t for value in tag_values for t in value.split(",")]
    who = user_id(params.get("user_id"))
    meta = _metadata({"title": params.get("title"), "description": params.get("description"), "tags": tags})
    found = _image_bytes(data or b"", settings)
    filename = keys.sanitize_filename(params.get("filename") or "", default=f"image.{found.ext}")
    return Upload(user_id=who, filename=filename, data=data, format=found, meta=meta)


_PRESIGN_FIELDS = {
    "filename": str,
    "content_type": str,
    "size_bytes": int,
    "title": str,
    "description": str,
    "tags": list,
    "user_id": str,
    "method": str,
}


def presigned_upload(raw: bytes | None, settings: Settings) -> PresignedUpload:
    body = json_object(raw)
    _fields(body, _PRESIGN_FIELDS, required=("filename", "content_type", "size_bytes"))
    content_type = body["content_type"]
    if content_type not in formats.UPLOAD_CONTENT_TYPES:
        raise Invalid(f"content_type must be one of: {', '.join(formats.UPLOAD_CONTENT_TYPES)}")
    size = body["size_bytes"]
    if size <= 0:
        raise Invalid("size_bytes must be positive")
    if size > settings.max_upload_bytes:
        raise TooLarge(f"size_bytes is {bytes_text(size)}; the limit is {bytes_text(settings.max_upload_bytes)}")
    method = body.get("method", "POST")
    if method not in ("POST", "PUT"):
        raise Invalid("method must be POST or PUT")
    return PresignedUpload(
        user_id=user_id(body.get("user_id")),
        filename=keys.sanitize_filename(body["filename"], default=f"image.{formats.BY_MIME[content_type].ext}"),
        content_type=content_type,
        size_bytes=size,
        method=method,
        meta=_metadata(body),
    )


_UPDATE_FIELDS = {"title": str, "description": str, "tags": list}


def update(raw: bytes | None) -> dict[str, Any]:
    """The changed fields of a PATCH: any of title, description, tags, focus."""
    body = json_object(raw)
    changes: dict[str, Any] = {}
    if "focus" in body:  # null is meaningful here: it clears the focal point
        changes["focus"] = focus(body.pop("focus"))
    _fields(body, _UPDATE_FIELDS)
    if not body and not changes:
        raise Invalid(f"nothing to update; send any of: {', '.join([*_UPDATE_FIELDS, 'focus'])}")
    meta = _metadata(body)
    return {**{name: getattr(meta, name) for name in body}, **changes}


def focus(value: Any) -> dict[str, float] | None:
    """`{"x": 0..1, "y": 0..1}` (0,0 the top left of the upright image), or null to clear it."""
    if value is None:
        return None
    if not isinstance(value, dict) or set(value) != {"x", "y"}:
        raise Invalid('focus must be {"x": 0..1, "y": 0..1} or null')
    for axis in ("x", "y"):
        number = value[axis]
        if isinstance(number, bool) or not isinstance(number, (int, float)) or not 0 <= number <= 1:
            raise Invalid(f"focus.{axis} must be a number from 0 to 1, got {number!r}")
    # Six decimals (a millionth of the image: far below a pixel) also keep it within what
    # DynamoDB stores: 1e-145 is a number JSON allows and DynamoDB refuses.
    return {"x": round(float(value["x"]), 6), "y": round(float(value["y"]), 6)}


LIST_PARAMS = ("user_id", "tag", "status", "limit", "order", "next_token", "q")


def query(params: Mapping[str, str], allowed: tuple[str, ...]) -> dict[str, str]:
    """The query parameters, when each is one `allowed` and none is empty:
    an empty value is refused like any malformed one, never read as absent."""
    _known(params, allowed, "query parameter")
    for name, value in params.items():
        if value == "":
            raise Invalid(f"query parameter {name} is empty; give it a value or leave it out")
    return dict(params)


def list_query(params: Mapping[str, str]) -> ListQuery:
    params = query(params, LIST_PARAMS)
    raw_limit = params.get("limit", "20")
    if not _LIMIT.fullmatch(raw_limit) or not 1 <= int(raw_limit) <= 100:
        raise Invalid("limit must be an integer from 1 to 100")
    status = params.get("status")
    if status is not None and status not in STATUSES:
        raise Invalid(f"status must be one of: {', '.join(STATUSES)}")
    tag = params.get("tag")
    order = params.get("order", ORDERS[0])
    if order not in ORDERS:
        raise Invalid(f"order must be one of: {', '.join(ORDERS)}")
    return ListQuery(
        user_id=user_id(params.get("user_id")),
        tag=normalize_tags([tag])[0] if tag is not None else None,
        status=status,
        limit=int(raw_limit),
        next_token=params.get("next_token"),
        order=order,
        search=search(params.get("q")),
    )


def search(q: str | None) -> Search | None:
    """`q` as a search: None when it holds no word of two characters or more."""
    if q is None:
        return None
    if len(q) > SEARCH_MAX_QUERY_CHARS:
        raise Invalid(f"q is longer than {SEARCH_MAX_QUERY_CHARS} characters")
    found = query_words(q)
    if len(found) > SEARCH_MAX_WORDS:
        raise Invalid(f"q has {len(found)} words; at most {SEARCH_MAX_WORDS} are allowed")
    return Search(tuple(found)) if found else None


def variant_name(params: Mapping[str, str], settings: Settings) -> str:
    name = query(params, ("variant",)).get("variant", "original")
    allowed = ("original", *settings.preset_names)
    if name not in allowed:
        raise Invalid(f"variant must be one of: {', '.join(allowed)}")
    return name


def download_flag(params: Mapping[str, str]) -> bool:
    value = query(params, ("download",)).get("download", "false")
    if value not in ("true", "false"):
        raise Invalid("download must be true or false")
    return value == "true"


# -- webhooks (the use-cases check URLs and event names: usecases/webhooks.py) --


def webhook_body(raw: bytes | None) -> dict[str, Any]:
    """A webhook's JSON body, its `user_id` (if any) checked as the image routes check it."""
    body = json_object(raw)
    if "user_id" in body:
        body["user_id"] = user_id(body["user_id"])
    return body


def webhook_owner(params: Mapping[str, str]) -> str | None:
    """GET /webhooks: whose webhooks (`user_id`, as GET /images takes it)."""
    return user_id(query(params, ("user_id",)).get("user_id"))


def deliveries_limit(params: Mapping[str, str]) -> int:
    raw = query(params, ("limit",)).get("limit", "50")
    if not _LIMIT.fullmatch(raw) or not 1 <= int(raw) <= 100:
        raise Invalid("limit must be an integer from 1 to 100")
    return int(raw)
