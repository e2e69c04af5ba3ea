"""The upload size limit, checked the same way and said in the same words
wherever it applies: the API, the S3 handler and imaging."""

from __future__ import annotations

from ..config import MB, Settings


def bytes_text(n: int) -> str:
    """A byte count, exactly: a limit just over and the limit itself must never read the same."""
    if n and n % MB == 0:
        return f"{n // MB} MB ({n:,} bytes)"
    return f"{n:,} bytes"


def upload_size_problem(size: int, settings: Settings) -> str | None:
    """Why a file of `size` bytes is over the upload limit, or None when it is not."""
    if size > settings.max_upload_bytes:
        return f"file is {bytes_text(size)}; the limit is {bytes_text(settings.max_upload_bytes)}"
    return None
