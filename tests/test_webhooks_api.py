"""The webhooks API in-process (AUTH_MODE none: user_id names the owner), and whole
journeys: upload, judge, patch, delete -> signed webhooks a loopback receiver verifies
with `standardwebhooks`."""
import pytest

from devstack.webhook_listen import Listener
from tests.conftest import deliver
from tests.webhook_pump import Pump

PUBLIC = "93.184.215.14"


@pytest.fixture
def public_dns(monkeypatch):
    """Names resolve to a public address (no network here); loopback URLs pass as the local stage's."""
    from chalicelib.events import destinations

    monkeypatch.setattr(destinations, "system_resolver", lambda host, port: [PUBLIC])


@pytest.fixture
def local_stage(monkeypatch):
    monkeypatch.setenv("WEBHOOKS_ALLOW_LOOPBACK", "true")


def create(client, body) -> dict:
    import json

    reply = client.http.post("/webhooks", headers={"Content-Type": "application/json"}, body=json.dumps(body))
    assert reply.status_code == 201, reply.json_body
    return reply.json_body


def send(client, method, path, body=None):
    import json

    headers = {"Content-Type": "application/json"} if body is not None else {}
    return getattr(client.http, method)(path, headers=headers, body=json.dumps(body) if body is not None else None)


def test_create_list_show_change_rotate_and_delete(client, public_dns):
    made = create(client, {"url": "https://hooks.example/in", "user_id": "alice", "events": ["image.ready"]})
    assert made["secret"].startswith("whsec_") and made["events"] == ["image.ready"] and made["enabled"] is True
    hook_id = made["webhook_id"]
    listed = client.http.get("/webhooks?user_id=alice").json_body["webhooks"]
    assert [h["webhook_id"] for h in listed] == [hook_id] and "secret" not in listed[0]
    assert client.http.get("/webhooks?user_id=bob").json_body == {"webhooks": []}
    shown = client.http.get(f"/webhooks/{hook_id}").json_body
    assert "secret" not in shown and shown["url"] == "https://hooks.example/in"
    assert made["secret"] not in str(client.http.get(f"/webhooks/{hook_id}/deliveries").json_body)
    changed = send(client, "patch", f"/webhooks/{hook_id}", {"events": ["image.deleted", "image.ready"],
                                                             "enabled": False}).json_body
    assert changed["events"] == ["image.deleted", "image.ready"] and changed["enabled"] is False
    rotated = send(client, "post", f"/webhooks/{hook_id}/rotate-secret")
    assert rotated.status_code == 200 and rotated.json_body["secret"].startswith("whsec_")
    assert rotated.json_body["secret"] != made["secret"] and "previous_secret_retires_at" in rotated.json_body
    assert client.http.delete(f"/webhooks/{hook_id}").status_code == 204
    assert client.http.get(f"/webhooks/{hook_id}").status_code == 404


@pytest.mark.parametrize("body, status, reason", [
    ({"url": "http://hooks.example/", "user_id": "alice"}, 400, "must be https"),
    ({"url": "https://169.254.169.254/latest/", "user_id": "alice"}, 400, "link-local"),
    ({"url": "https://2852039166/", "user_id": "alice"}, 400, "decimal, octal"),
    ({"url": "https://hooks.example/", "user_id": "alice", "events": ["image.eaten"]}, 400, "unknown event type"),
    ({"url": "https://hooks.example/", "user_id": "alice", "events": []}, 400, "non-empty list"),
    ({"url": "https://hooks.example/"}, 400, "user_id is required"),
    ({"url": "https://hooks.example/", "user_id": "al ice"}, 400, "user_id must be"),
    ({"url": "https://hooks.example/", "user_id": "alice", "secret": "x"}, 400, "unknown field"),
    ({"url": "https://hooks.example/", "user_id": "alice", "all_images": True}, 400, "needs auth on"),
])
def test_bad_webhooks_are_refused_saying_why(client, public_dns, body, status, reason):
    import json

    reply = client.http.post("/webhooks", headers={"Content-Type": "application/json"}, body=json.dumps(body))
    assert reply.status_code == status and reason in reply.json_body["error"]


def test_a_changed_url_is_checked_again(client, public_dns):
    hook = create(client, {"url": "https://hooks.example/in", "user_id": "alice"})
    reply = send(client, "patch", f"/webhooks/{hook['webhook_id']}", {"url": "https://[::ffff:10.0.0.1]/"})
    assert reply.status_code == 400 and "private" in reply.json_body["error"]
    assert client.http.get(f"/webhooks/{hook['webhook_id']}").json_body["url"] == "https://hooks.example/in"


def test_unknown_webhooks_are_not_found(client):
    for path in ("/webhooks/wh_000000000000000000000000", "/webhooks/nonsense", "/webhooks/nonsense/deliveries"):
        assert client.http.get(path).status_code == 404


def test_every_change_to_an_image_reaches_its_owners_webhook_signed(client, local_stage, jpeg):
    pump = Pump(client)
    with Listener([]) as receiver:
        hook = create(client, {"url": receiver.url, "user_id": "alice"})
        receiver.secrets.append(hook["secret"])
        up = client.http.post("/images?user_id=alice&filename=cat.jpg", headers={"Content-Type": "image/jpeg"},
                              body=jpeg).json_body
        deliver(client, up["original_key"])
        bad = client.http.post("/images?user_id=alice&filename=bad.jpg", headers={"Content-Type": "image/jpeg"},
                               body=jpeg[:200]).json_body
        deliver(client, bad["original_key"])
        send(client, "patch", f"/images/{up['image_id']}", {"title": "A cat"})
        client.http.delete(f"/images/{up['image_id']}")
        assert pump.all() == ["delivered"] * 4
        got = receiver.wait_for(4)
    kinds = [(g.payload["type"], g.payload["data"]["image_id"]) for g in got]
    assert kinds == [("image.ready", up["image_id"]), ("image.rejected", bad["image_id"]),
                     ("image.updated", up["image_id"]), ("image.deleted", up["image_id"])]
    assert all(g.verified for g in got) and len({g.id for g in got}) == 4
    assert got[1].payload["data"]["status_reason"]
    log = client.http.get(f"/webhooks/{hook['webhook_id']}/deliveries").json_body["deliveries"]
    assert [d["type"] for d in log] == ["image.deleted", "image.updated", "image.rejected", "image.ready"]
    assert all(d["status_code"] == 200 and d["outcome"] == "delivered" for d in log)


def test_bobs_webhook_never_hears_about_alices_images(client, local_stage, jpeg):
    pump = Pump(client)
    with Listener([]) as alices, Listener([]) as bobs:
        create(client, {"url": alices.url, "user_id": "alice"})
        create(client, {"url": bobs.url, "user_id": "bob"})
        for owner in ("alice", "alice", "bob"):
            up = client.http.post(f"/images?user_id={owner}&filename=x.jpg", headers={"Content-Type": "image/jpeg"},
                                  body=jpeg).json_body
            deliver(client, up["original_key"])
        pump.all()
        heard_by_alice = alices.wait_for(2)
        heard_by_bob = bobs.wait_for(1)
    assert [g.payload["data"]["owner"] for g in heard_by_alice] == ["alice", "alice"]
    assert [g.payload["data"]["owner"] for g in heard_by_bob] == ["bob"]


def test_a_webhook_hears_only_the_events_it_chose_and_a_test_on_request(client, local_stage, jpeg):
    pump = Pump(client)
    with Listener([]) as receiver:
        hook = create(client, {"url": receiver.url, "user_id": "alice", "events": ["image.deleted"]})
        receiver.secrets.append(hook["secret"])
        up = client.http.post("/images?user_id=alice&filename=x.jpg", headers={"Content-Type": "image/jpeg"},
                              body=jpeg).json_body
        deliver(client, up["original_key"])
        client.http.delete(f"/images/{up['image_id']}")
        queued = send(client, "post", f"/webhooks/{hook['webhook_id']}/test")
        assert queued.status_code == 202
        pump.all()
        got = receiver.wait_for(2)
    assert sorted(g.payload["type"] for g in got) == ["image.deleted", "webhook.test"]
    assert all(g.verified for g in got)
    test = next(g for g in got if g.payload["type"] == "webhook.test")
    assert test.id == queued.json_body["event_id"]


def test_through_the_app_a_failed_delivery_is_retried_under_the_same_id_then_dead_lettered(
        client, local_stage, monkeypatch, jpeg):
    import boto3

    from chalicelib.adapters.delivery_queue import Message
    from tests.conftest import ENV

    monkeypatch.setenv("WEBHOOK_RETRY_SCHEDULE", "0,0,0")
    pump = Pump(client)
    with Listener([], answers=[500, 200, 503, 503, 503]) as receiver:
        hook = create(client, {"url": receiver.url, "user_id": "alice"})
        receiver.secrets.append(hook["secret"])
        up = client.http.post("/images?user_id=alice&filename=x.jpg", headers={"Content-Type": "image/jpeg"},
                              body=jpeg).json_body
        deliver(client, up["original_key"])
        assert pump.all() == ["retrying", "delivered"]
        first, second = receiver.wait_for(2)
        assert first.id == second.id and first.verified and second.verified
        send(client, "patch", f"/images/{up['image_id']}", {"title": "x"})
        assert pump.all() == ["retrying", "retrying", "dead-lettered"]
    sqs = boto3.client("sqs")
    dlq = sqs.get_queue_url(QueueName=ENV["WEBHOOK_DLQ"])["QueueUrl"]
    (dead,) = sqs.receive_message(QueueUrl=dlq).get("Messages", [])
    assert Message.decode(dead["Body"]).type == "image.updated"
    log = client.http.get(f"/webhooks/{hook['webhook_id']}/deliveries").json_body["deliveries"]
    assert log[0]["outcome"] == "dead-lettered" and log[0]["status_code"] == 503 and log[0]["attempt"] == 3
    # Deleting the webhook takes its delivery log with it.
    assert client.http.delete(f"/webhooks/{hook['webhook_id']}").status_code == 204
    left = boto3.client("dynamodb").query(
        TableName=ENV["IMAGES_TABLE"], KeyConditionExpression="pk = :p",
        ExpressionAttributeValues={":p": {"S": f"HOOK#{hook['webhook_id']}"}})["Items"]
    assert left == []


def test_through_the_app_410_disables_the_webhook(client, local_stage, jpeg):
    pump = Pump(client)
    with Listener([], answers=[410]) as receiver:
        hook = create(client, {"url": receiver.url, "user_id": "alice"})
        for _ in range(2):
            up = client.http.post("/images?user_id=alice&filename=x.jpg", headers={"Content-Type": "image/jpeg"},
                                  body=jpeg).json_body
            deliver(client, up["original_key"])
        assert pump.all() == ["disabled", "skipped"]
        assert len(receiver.wait_for(2, timeout=0.5)) == 1
    shown = client.http.get(f"/webhooks/{hook['webhook_id']}").json_body
    assert shown["enabled"] is False and "410" in shown["disabled_reason"]


def test_the_secret_is_in_no_log_line(client, public_dns, capsys, caplog):
    made = create(client, {"url": "https://hooks.example/in", "user_id": "alice"})
    rotated = send(client, "post", f"/webhooks/{made['webhook_id']}/rotate-secret").json_body
    client.http.get("/webhooks?user_id=alice")
    logged = capsys.readouterr().out + capsys.readouterr().err + caplog.text
    assert 'POST /webhooks' in logged and 'rotate-secret' in logged  # the request lines were captured
    for secret in (made["secret"], rotated["secret"]):
        assert secret not in logged and secret.removeprefix("whsec_") not in logged
