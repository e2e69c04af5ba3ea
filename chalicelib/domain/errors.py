"""Domain errors: what went wrong, in the domain's words.

They know nothing of HTTP. The HTTP edge (`http.STATUS`) gives each its
status code, once; event handlers see them as plain exceptions.
"""


class ImgstoreError(Exception):
    """Base of every error the domain raises on purpose."""


class Invalid(ImgstoreError):
    """The request is malformed or breaks a rule."""


class Unauthorized(ImgstoreError):
    """No valid credentials (auth on): missing, forged or expired."""


class Forbidden(ImgstoreError):
    """Authenticated, but asking for something only an admin may have."""


class NotFound(ImgstoreError):
    """No such image, or not one the caller may see."""


class Conflict(ImgstoreError):
    """Someone else changed the image first, or its state forbids the change."""


class TooLarge(ImgstoreError):
    """The upload is over a size limit."""


class Unprocessable(ImgstoreError):
    """The request is well formed, but the image cannot be made into it (over a limit)."""
