"""Domain errors and their one mapping to HTTP.

They subclass ChaliceViewError so that Chalice turns a raised error into a
response with STATUS_CODE; `http.json_errors` then gives every error response
the same `{"error": ...}` shape. Event handlers see them as plain exceptions.
"""

from chalice import ChaliceViewError


class ImgstoreError(ChaliceViewError):
    STATUS_CODE = 500


class Invalid(ImgstoreError):
    """The request is malformed or breaks a rule."""

    STATUS_CODE = 400


class Unauthorized(ImgstoreError):
    """No valid credentials (auth on): missing, forged or expired."""

    STATUS_CODE = 401


class Forbidden(ImgstoreError):
    """Authenticated, but asking for something only an admin may have."""

    STATUS_CODE = 403


class NotFound(ImgstoreError):
    STATUS_CODE = 404


class Conflict(ImgstoreError):
    """Someone else changed the image first; the caller may retry."""

    STATUS_CODE = 409


class TooLarge(ImgstoreError):
    STATUS_CODE = 413


class UnsupportedMediaType(ImgstoreError):
    STATUS_CODE = 415
