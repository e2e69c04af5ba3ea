"""Webhooks over real HTTP on the local stack: the outbox bridge reads the table's
stream and runs the sender as Lambda would; a receiver on loopback verifies every
delivery with `standardwebhooks`."""
from __future__ import annotations

import json

import pytest

from devstack.webhook_listen import Listener
from tests.conftest import image_bytes

pytestmark = pytest.mark.slow


def register(stack, http, url, **extra):
    reply = http.post(f"{stack.api_url}/webhooks", json={"user_id": "whlive", "url": url, **extra}, timeout=30)
    assert reply.status_code == 201, reply.text
    return reply.json()


def test_upload_reject_patch_delete_each_reach_the_receiver_signed(stack, http):
    with Listener([]) as receiver:
        hook = register(stack, http, receiver.url)
        receiver.secrets.append(hook["secret"])
        good = http.post(f"{stack.api_url}/images?user_id=whlive&filename=a.png", data=image_bytes("PNG", (40, 30)),
                         headers={"Content-Type": "image/png"}, timeout=30).json()
        ready = receiver.wait_for(1, timeout=45)
        bad = http.post(f"{stack.api_url}/images?user_id=whlive&filename=b.png", data=image_bytes("PNG")[:60],
                        headers={"Content-Type": "image/png"}, timeout=30).json()
        receiver.wait_for(2, timeout=45)
        assert http.patch(f"{stack.api_url}/images/{good['image_id']}", json={"tags": ["live"]}, timeout=30).ok
        receiver.wait_for(3, timeout=45)
        assert http.delete(f"{stack.api_url}/images/{good['image_id']}", timeout=30).ok
        got = receiver.wait_for(4, timeout=45)
    assert ready[0].payload["type"] == "image.ready"
    assert [(g.payload["type"], g.payload["data"]["image_id"]) for g in got] == [
        ("image.ready", good["image_id"]), ("image.rejected", bad["image_id"]),
        ("image.updated", good["image_id"]), ("image.deleted", good["image_id"])]
    assert all(g.verified for g in got)
    log = http.get(f"{stack.api_url}/webhooks/{hook['webhook_id']}/deliveries", timeout=30).json()["deliveries"]
    assert {d["outcome"] for d in log} == {"delivered"} and len(log) == 4


def test_a_500_is_retried_on_the_local_schedule_under_the_same_id(stack, http):
    with Listener([], answers=[500]) as receiver:
        hook = register(stack, http, receiver.url)
        receiver.secrets.append(hook["secret"])
        queued = http.post(f"{stack.api_url}/webhooks/{hook['webhook_id']}/test", timeout=30)
        assert queued.status_code == 202
        first, second = receiver.wait_for(2, timeout=45)
    assert first.id == second.id == queued.json()["event_id"]
    assert (first.answered, second.answered) == (500, 200) and first.verified and second.verified
    assert json.loads(second.body)["type"] == "webhook.test"
