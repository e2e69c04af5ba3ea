"""Webhooks with auth on (AUTH_MODE=token): the owner comes from the token, another
user's webhook is not found, and only an admin's may hear every image."""
import json

import pytest

from devstack.webhook_listen import Listener
from tests.apps import TOKEN_SECRET, bearer, client, load_app
from tests.conftest import deliver
from tests.webhook_pump import Pump


@pytest.fixture
def api(aws, monkeypatch, tmp_path):
    import boto3

    from chalicelib import auth

    arn = boto3.client("secretsmanager").create_secret(Name="imgstore-dev-auth-token", SecretString=TOKEN_SECRET)["ARN"]
    auth.reset()
    app = load_app(monkeypatch, "token")
    with client(app, tmp_path, AUTH_TOKEN_SECRET_ARN=arn, WEBHOOKS_ALLOW_LOOPBACK="true") as c:
        yield c
    auth.reset()


def post(api, path, body, who, **kwargs):
    return api.http.post(path, headers={"Content-Type": "application/json", **bearer(who, **kwargs)},
                         body=json.dumps(body))


def test_the_owner_is_the_caller_and_others_see_nothing(api):
    made = post(api, "/webhooks", {"url": "http://127.0.0.1:9/hook"}, "alice")
    assert made.status_code == 201 and made.json_body["owner"] == "alice"
    hook = made.json_body["webhook_id"]
    assert api.http.get(f"/webhooks/{hook}", headers=bearer("bob")).status_code == 404
    assert api.http.get(f"/webhooks/{hook}/deliveries", headers=bearer("bob")).status_code == 404
    assert api.http.delete(f"/webhooks/{hook}", headers=bearer("bob")).status_code == 404
    assert post(api, f"/webhooks/{hook}/rotate-secret", {}, "bob").status_code == 404
    assert api.http.get("/webhooks", headers=bearer("bob")).json_body == {"webhooks": []}
    assert api.http.get("/webhooks?user_id=alice", headers=bearer("bob")).status_code == 403
    refused = post(api, "/webhooks", {"url": "http://127.0.0.1:9/", "user_id": "alice"}, "bob")
    assert refused.status_code == 403 and "only for yourself" in refused.json_body["error"]
    assert post(api, "/webhooks", {"url": "http://127.0.0.1:9/", "all_images": True}, "bob").status_code == 403
    assert api.http.get(f"/webhooks/{hook}", headers=bearer("root", admin=True)).status_code == 200
    assert api.http.get("/webhooks").status_code == 401


def test_only_an_admins_webhook_hears_every_image(api, jpeg):
    pump = Pump(api)
    with Listener([]) as admins, Listener([]) as bobs:
        made = post(api, "/webhooks", {"url": admins.url, "all_images": True}, "root", admin=True).json_body
        admins.secrets.append(made["secret"])
        post(api, "/webhooks", {"url": bobs.url}, "bob")
        for owner in ("alice", "bob"):
            up = api.http.post("/images?filename=x.jpg", headers={"Content-Type": "image/jpeg", **bearer(owner)},
                               body=jpeg).json_body
            deliver(api, up["original_key"])
        pump.all()
        heard = admins.wait_for(2)
        bob_heard = bobs.wait_for(1)
    assert sorted(g.payload["data"]["owner"] for g in heard) == ["alice", "bob"] and all(g.verified for g in heard)
    assert [g.payload["data"]["owner"] for g in bob_heard] == ["bob"]
