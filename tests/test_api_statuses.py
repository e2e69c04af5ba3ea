"""The statuses docs/api.md lists that no other test pinned down: 409 and 415
on PATCH, 409 when a reprocessed image's file never arrived. DELETE never answers
409 (a user's delete wins over background work: tests/test_request_edges.py)."""

from __future__ import annotations

import json

from chalicelib.domain.errors import Conflict
from tests.test_api import JSON, post_json, ready


def _always_conflicting(*args, **kwargs):
    raise Conflict("the image was changed by another request; try again")


def test_patch_with_a_body_that_is_not_json_is_415(client, jpeg):
    image = ready(client, jpeg, title="Before")
    reply = client.http.patch(f"/images/{image['image_id']}", headers={"content-type": "text/plain"}, body="x")
    assert reply.status_code == 415 and "error" in reply.json_body
    assert client.http.get(f"/images/{image['image_id']}").json_body["title"] == "Before"


def test_patch_that_keeps_conflicting_is_409(client, jpeg, monkeypatch):
    image = ready(client, jpeg, title="Before")
    monkeypatch.setattr("chalicelib.adapters.store.ImageStore.save", _always_conflicting)
    reply = client.http.patch(f"/images/{image['image_id']}", headers=JSON, body=json.dumps({"title": "After"}))
    assert reply.status_code == 409
    assert reply.json_body == {"error": "the image was changed by another request; try again"}
    monkeypatch.undo()
    assert client.http.get(f"/images/{image['image_id']}").json_body["title"] == "Before"


def test_reprocessing_an_image_whose_file_never_arrived_is_409(client):
    presigned = post_json(
        client, "/uploads", {"user_id": "alice", "filename": "a.jpg", "content_type": "image/jpeg", "size_bytes": 100}
    ).json_body
    reply = client.http.post(f"/images/{presigned['image_id']}/reprocess")
    assert reply.status_code == 409
    assert reply.json_body == {"error": f"the original of image '{presigned['image_id']}' has not been uploaded"}
