"""The API's use-cases: upload, presign, list, get, update, reprocess, delete.

Each takes the caller (see auth) and checked input (see validation) and works
through the two ports (usecases.ports), a record store and blob storage. An image the caller may
not see is "not found", exactly like one that does not exist. Pillow is never
imported on this path.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from ..adapters.presigning import Window
from ..adapters.secrets import pagination_secret
from ..auth.principal import Caller
from ..delivery import links
from ..delivery.options import Options
from ..domain import keys
from ..domain.errors import Conflict, NotFound
from ..domain.records import ImageRecord, epoch
from ..domain.states import Status
from . import pagination
from .commands import ListQuery, Metadata, PresignedUpload, Upload
from .lifecycle import UseCases, expires_at, mark_stale, purge, set_fields

log = logging.getLogger(__name__)


def _now() -> float:
    return time.time()


class ApiService(UseCases):
    """The API's use-cases."""

    def _new_record(self, owner: str, filename: str, source: str, meta: Metadata, **fields: Any) -> ImageRecord:
        image_id = keys.new_image_id()
        return ImageRecord(
            image_id=image_id,
            owner=owner,
            filename=filename,
            source=source,
            original_key=keys.original_key(owner, image_id, filename),
            expires_at=expires_at(Status.PENDING, self.settings),
            title=meta.title,
            description=meta.description,
            tags=meta.tags,
            **fields,
        )

    def upload(self, caller: Caller, upload: Upload) -> ImageRecord:
        """Store the bytes as a pending image; the S3 event handler makes it ready."""
        record = self._new_record(
            caller.owner_for_upload(upload.user_id),
            upload.filename,
            "api",
            upload.meta,
            content_type=upload.format.mime,
            size_bytes=len(upload.data),
        )
        # The record first: the object's S3 event must find it, or the
        # handler would take the object for a direct bucket upload.
        try:
            record = self.store.create(record)
            self.blobs.put(record.original_key, upload.data, upload.format.mime)
        except Exception:
            self._undo_upload(record)
            raise
        return record

    def _undo_upload(self, record: ImageRecord) -> None:
        """Remove whatever of a failed upload landed. An error can come after AWS did
        the work (its answer was lost), so the record and the object may both exist:
        left, the record would list as a pending image that never arrives, and the
        object's event would make it a second image beside the client's retry."""
        try:
            found = self.store.get(record.image_id)
            if found is None:
                self.blobs.delete_many([record.original_key])
            else:
                purge(found, self.store, self.blobs, with_original=True)
        except Exception:  # the upload's own error is the one to answer with
            log.exception("could not undo the failed upload of %s; its pending record expires", record.image_id)

    def presign_upload(self, caller: Caller, request: PresignedUpload) -> dict[str, Any]:
        """A pending record and a URL that can write only its key, under uploads/{owner}/."""
        record = self._new_record(
            caller.owner_for_upload(request.user_id),
            request.filename,
            "presigned",
            request.meta,
            content_type=request.content_type,
        )
        ttl = self.settings.upload_url_ttl
        if request.method == "PUT":
            url = self.blobs.presign_put(record.original_key, request.content_type, ttl)
            answer = {"method": "PUT", "upload_url": url, "headers": {"Content-Type": request.content_type}}
        else:
            post = self.blobs.presign_post(
                record.original_key, request.content_type, self.settings.max_upload_bytes, ttl
            )
            answer = {"method": "POST", "upload": post}
        self.store.create(record)
        return {"image_id": record.image_id, **answer, "expires_in": ttl, "image": record.to_api()}

    def list(self, caller: Caller, query: ListQuery, delivery_base: str = "") -> dict[str, Any]:
        owner = caller.owner_to_list(query.user_id)
        words = query.search.scope() if query.search else ""
        scope = pagination.scope(owner, query.tag, query.status, query.order, words)
        secret = pagination_secret(self.settings)
        cursor = pagination.decode(query.next_token, scope, secret) if query.next_token else None
        page = self.store.list(
            owner=owner,
            tag=query.tag,
            status=query.status,
            limit=query.limit,
            cursor=cursor,
            oldest_first=query.order == "oldest",
            search=query.search,
        )
        token = pagination.encode(page.cursor, scope, secret) if page.cursor else None
        now = _now()
        images = [
            {
                **r.to_api(),
                "thumbnail_url": self._thumbnail_url(r, self._window(r, now)),
                "delivery": links.delivery(r, self.settings, delivery_base, now),
            }
            for r in page.records
        ]
        return {"images": images, "count": len(images), "next_token": token}

    def _window(self, record: ImageRecord, now: float | None = None) -> Window:
        """Where the record's URLs are signed: at the start of the URL window, or when the
        record last changed if that came later, with its version in the expiry. New bytes at
        the same key (a reprocess, an object uploaded again) so get new URLs at once, and no
        cache serves the old ones."""
        return Window(
            self.settings.url_window, _now() if now is None else now, epoch(record.updated_at), record.version
        )

    def _signed(self, key: str, window: Window, download_as: str | None = None) -> str:
        return self.blobs.presign_get(key, window, self.settings.view_url_ttl, download_as=download_as)

    def _thumbnail_url(self, record: ImageRecord, window: Window) -> str | None:
        """The smallest variant's URL: what a gallery tile shows; None until there is one."""
        if not record.variants:
            return None
        smallest = min(record.variants.values(), key=lambda v: (v.width * v.height, v.key))
        return self._signed(smallest.key, window)

    def _find_including_deleting(self, caller: Caller, image_id: str) -> ImageRecord:
        """The record, being deleted or not; NotFound when absent or not the caller's."""
        record = self.store.get(image_id) if keys.is_image_id(image_id) else None
        if record is None or not caller.may_see(record.owner):
            raise NotFound(f"no image with id '{image_id}'")
        return record

    def _find_visible(self, caller: Caller, image_id: str) -> ImageRecord:
        record = self._find_including_deleting(caller, image_id)
        if record.deleting:
            raise NotFound(f"no image with id '{image_id}'")
        return record

    def _urls(self, record: ImageRecord, download: bool, window: Window) -> dict[str, str]:
        urls: dict[str, str] = {}
        if record.status != Status.REJECTED:
            urls["original"] = self._signed(record.original_key, window, record.filename if download else None)
        for name, variant in record.variants.items():
            urls[name] = self._signed(variant.key, window)
        return urls

    def get(self, caller: Caller, image_id: str, download: bool = False, delivery_base: str = "") -> dict[str, Any]:
        """The record and its URLs. They are signed at the start of the URL window (or at
        the record's change, if later; `_window`) and stay valid VIEW_URL_TTL after its end,
        so at least `expires_in` from now."""
        record = self._find_visible(caller, image_id)
        window = self._window(record)
        return {
            **record.to_api(),
            "urls": self._urls(record, download, window),
            "thumbnail_url": self._thumbnail_url(record, window),
            "delivery": links.delivery(record, self.settings, delivery_base),
            "expires_in": self.settings.view_url_ttl,
        }

    def rendition_url(self, caller: Caller, image_id: str, options: Options, delivery_base: str = "") -> str:
        """The signed URL of one rendition of a ready image the caller may see."""
        record = self._find_visible(caller, image_id)
        if record.status != Status.READY or not record.width:
            raise Conflict(f"image '{image_id}' is {record.status}: renditions exist once it is ready")
        return links.url_for(record, options, self.settings, delivery_base)

    def file_url(self, caller: Caller, image_id: str, variant: str) -> str:
        record = self._find_visible(caller, image_id)
        if variant == "original":
            if record.status == Status.REJECTED:
                raise NotFound(f"image '{image_id}' was rejected: {record.status_reason}")
            return self._signed(record.original_key, self._window(record))
        if variant not in record.variants:
            raise NotFound(f"variant '{variant}' of image '{image_id}' is not available (status {record.status})")
        return self._signed(record.variants[variant].key, self._window(record))

    def update(self, caller: Caller, image_id: str, changes: dict[str, Any]) -> ImageRecord:
        saved = set_fields(self.store, image_id, changes, current=self._find_visible(caller, image_id))
        if not isinstance(saved, ImageRecord):
            raise NotFound(f"no image with id '{image_id}'")
        return saved

    def reprocess(self, caller: Caller, image_id: str) -> ImageRecord:
        """Have the upload handler render the variants again, with today's presets.

        The API never renders (it does not load Pillow): the record is marked
        stale, then the original is copied onto itself, which makes S3 send
        the handler an ObjectCreated:Copy event for it.
        """
        record = self._find_visible(caller, image_id)
        if record.status == Status.REJECTED:
            raise Conflict(
                f"image '{image_id}' was rejected ({record.status_reason}); its original is in quarantine, "
                "and only an operator can bring it back for another try"
            )
        marked = mark_stale(self.store, image_id, current=record)
        if not isinstance(marked, ImageRecord):
            raise NotFound(f"no image with id '{image_id}'")
        if not self.blobs.copy_in_place(marked.original_key):
            raise Conflict(f"the original of image '{image_id}' has not been uploaded")
        return marked

    def delete(self, caller: Caller, image_id: str) -> None:
        """Remove the image; one half-deleted by an earlier failure is finished."""
        purge(self._find_including_deleting(caller, image_id), self.store, self.blobs, with_original=True)
