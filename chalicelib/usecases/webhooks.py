"""The webhooks API's use-cases: register, list, show, change, delete, rotate, test.

Ownership follows the image routes: with auth on the owner is the caller;
with auth off (`AUTH_MODE=none`) `user_id` names it, in the body to create
and in the query to list; routes by id take none, and another user's webhook
is "not found". Only an admin may make a webhook that hears every image
(`all_images`). A URL is checked against the SSRF rules (`destinations`)
whenever it is set; the secret is in the answer to create and rotate only.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from typing import Any

from ..adapters.delivery_queue import DeliveryQueue, Message
from ..adapters.webhook_store import WebhookStore
from ..auth.principal import Caller
from ..domain.errors import Conflict, Forbidden, Invalid, NotFound
from ..domain.records import now_iso
from ..events import destinations, signing
from ..events.changes import encode, iso
from ..events.vocabulary import IMAGE_TYPES, EventType, subscription
from ..events.webhooks import MAX_WEBHOOKS_PER_OWNER, Webhook, is_webhook_id, new_webhook_id

CREATE_FIELDS = ("url", "events", "user_id", "all_images")
UPDATE_FIELDS = ("url", "events", "enabled")


def _fields(body: Mapping[str, Any], allowed: tuple[str, ...]) -> None:
    unknown = sorted(set(body) - set(allowed))
    if unknown:
        raise Invalid(f"unknown field {unknown[0]!r}; the fields are: {', '.join(allowed)}")


class Webhooks:
    def __init__(
        self,
        store: WebhookStore,
        queue: DeliveryQueue,
        *,
        allow_loopback: bool = False,
        resolve: destinations.Resolver | None = None,  # None: the system's, looked up when used
    ):
        self.store = store
        self.queue = queue
        self.allow_loopback = allow_loopback
        self.resolve = resolve

    def _url(self, url: Any) -> str:
        if not isinstance(url, str):
            raise Invalid("url must be a string: where to POST the events (https)")
        resolve = self.resolve or destinations.system_resolver
        destinations.check(url, allow_loopback=self.allow_loopback, resolve=resolve)
        return url

    def _find(self, caller: Caller, webhook_id: str) -> Webhook:
        hook = self.store.get(webhook_id) if is_webhook_id(webhook_id) else None
        if hook is None or not caller.may_see(hook.owner):
            raise NotFound(f"no webhook with id '{webhook_id}'")
        return hook

    def create(self, caller: Caller, body: Mapping[str, Any]) -> dict[str, Any]:
        """A new webhook, answered with its secret (the only time it is shown, but for rotations)."""
        _fields(body, CREATE_FIELDS)
        user_id = body.get("user_id")
        if user_id is not None and not isinstance(user_id, str):
            raise Invalid("user_id must be a string")
        if caller.authenticated and user_id not in (None, caller.owner):
            raise Forbidden(
                f"you can register webhooks only for yourself: user_id is taken from your credentials ({caller.owner})"
            )
        owner = caller.owner_for_upload(user_id)
        all_images = body.get("all_images", False)
        if not isinstance(all_images, bool):
            raise Invalid("all_images must be true or false")
        if all_images and not caller.admin:
            if not caller.authenticated:  # no 403 without auth: there is nobody to be an admin
                raise Invalid("all_images needs auth on: only an admin's webhook may hear every image's events")
            raise Forbidden("only an admin's webhook may hear every image's events (all_images)")
        events = tuple(subscription(body["events"])) if "events" in body else IMAGE_TYPES
        url = self._url(body.get("url"))
        if len(self.store.list_for_owner(owner)) >= MAX_WEBHOOKS_PER_OWNER:
            raise Conflict(f"at most {MAX_WEBHOOKS_PER_OWNER} webhooks per owner; delete one first")
        secret = signing.new_secret()
        hook = Webhook(
            new_webhook_id(),
            owner,
            url,
            events=events,
            all_images=all_images,
            secrets=(signing.Secret(secret),),
        )
        saved = self.store.create(hook)
        return {**saved.to_api(), "secret": secret}

    def list(self, caller: Caller, user_id: str | None) -> dict[str, Any]:
        owner = caller.owner_to_list(user_id) or caller.owner
        if owner is None:
            raise Invalid("user_id is required: whose webhooks to list")
        return {"webhooks": [h.to_api() for h in self.store.list_for_owner(owner)]}

    def get(self, caller: Caller, webhook_id: str) -> dict[str, Any]:
        return self._find(caller, webhook_id).to_api()

    def deliveries(self, caller: Caller, webhook_id: str, limit: int = 50) -> dict[str, Any]:
        hook = self._find(caller, webhook_id)
        return {
            "webhook_id": hook.webhook_id,
            "deliveries": [d.to_api() for d in self.store.deliveries(hook.webhook_id, limit)],
        }

    def update(self, caller: Caller, webhook_id: str, body: Mapping[str, Any]) -> dict[str, Any]:
        _fields(body, UPDATE_FIELDS)
        if not body:
            raise Invalid(f"nothing to update; send any of: {', '.join(UPDATE_FIELDS)}")
        hook = self._find(caller, webhook_id)
        changes: dict[str, Any] = {}
        if "url" in body:
            changes["url"] = self._url(body["url"])
        if "events" in body:
            changes["events"] = tuple(subscription(body["events"]))
        if "enabled" in body:
            if not isinstance(body["enabled"], bool):
                raise Invalid("enabled must be true or false")
            changes["enabled"] = body["enabled"]
            changes["disabled_reason"] = None if body["enabled"] else "disabled by its owner"
        return self.store.save(hook.touch(**changes), hook).to_api()

    def delete(self, caller: Caller, webhook_id: str) -> None:
        self.store.delete(self._find(caller, webhook_id).webhook_id)

    def rotate(self, caller: Caller, webhook_id: str) -> dict[str, Any]:
        """A new secret; the old one keeps signing, beside it, for 24 hours."""
        hook = self._find(caller, webhook_id)
        secret = signing.new_secret()
        saved = self.store.save(hook.touch(), hook, fresh_secret=secret)
        grace_ends = int(time.time()) + signing.ROTATION_GRACE_SECONDS
        return {**saved.to_api(), "secret": secret, "previous_secret_retires_at": iso(grace_ends)}

    def test(self, caller: Caller, webhook_id: str) -> dict[str, Any]:
        """Queue a webhook.test delivery, sent like any event (checked, signed, retried, logged)."""
        hook = self._find(caller, webhook_id)
        event_id = f"evt_test_{uuid.uuid4().hex}"
        payload = {
            "type": EventType.WEBHOOK_TEST.value,
            "timestamp": now_iso(),
            "data": {"webhook_id": hook.webhook_id, "message": "a test delivery from imgstore"},
        }
        self.queue.send(Message(hook.webhook_id, event_id, EventType.WEBHOOK_TEST.value, encode(payload)))
        return {"message": "a webhook.test delivery is queued", "event_id": event_id, "webhook_id": hook.webhook_id}
