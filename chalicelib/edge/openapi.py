"""The API's contract: chalicelib/edge/openapi.json, served as a deployment sees it.

The file describes every AUTH_MODE at once and the default limits. `document()`
reads it (only when asked for: nothing at import, no cost on a cold start) and
states this deployment's answer: its security scheme, whether `user_id` is
required, which statuses can happen at all, its presets and (in words) its size limit.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..config import Settings
from ..domain.upload_limits import bytes_text

PATH = Path(__file__).with_name("openapi.json")
SCHEMES = {"token": "bearerToken", "cognito": "cognitoIdToken"}
_AUTH_STATUSES = ("401", "403")  # answered only with auth on


def raw() -> dict[str, Any]:
    """The document as written, for every AUTH_MODE."""
    return json.loads(PATH.read_text(encoding="utf-8"))


def operations(doc: dict[str, Any]):
    """(path, method, operation) for every operation in `doc`."""
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            if method != "parameters":
                yield path, method, operation


def document(settings: Settings) -> dict[str, Any]:
    """The contract of this deployment."""
    doc = raw()
    schemas = doc["components"]["schemas"]
    mode = settings.auth_mode
    scheme = SCHEMES.get(mode)
    for path, method, operation in operations(doc):
        if operation.get("security") == [{}]:
            continue  # public: /health, /openapi.json
        operation["security"] = [{scheme: []}] if scheme else [{}]
        if scheme is None:
            for status in _AUTH_STATUSES:
                operation["responses"].pop(status, None)
        if path == "/images" and scheme is None:
            for parameter in operation.get("parameters", []):
                if parameter["name"] == "user_id" and method == "post":
                    parameter["required"] = True
        if path == "/images/{image_id}/file":
            for parameter in operation["parameters"]:
                if parameter["name"] == "variant":
                    parameter["schema"]["enum"] = ["original", *settings.preset_names]
    if scheme is None:
        doc["components"].pop("securitySchemes", None)
        for name in ("Unauthorized", "Forbidden"):
            doc["components"]["responses"].pop(name, None)
        for body in ("UploadJson", "UploadRequest"):
            schemas[body]["required"].append("user_id")
    else:
        doc["components"]["securitySchemes"] = {scheme: doc["components"]["securitySchemes"][scheme]}
    # The limit is said, never a `maximum`: over it is a 413, and a schema violation is a 400.
    schemas["UploadRequest"]["properties"]["size_bytes"]["description"] = (
        f"The file's size in bytes. Above this deployment's limit, {bytes_text(settings.max_upload_bytes)}, "
        "it is a 413, not a 400: the schema sets no maximum."
    )
    return doc
