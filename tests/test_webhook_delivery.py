"""The sender: signed POSTs to a loopback receiver that verifies them with `standardwebhooks`."""
import json

import pytest

from chalicelib.events import signing
from chalicelib.usecases.webhook_delivery import Sender
from chalicelib.adapters.webhook_store import WebhookStore
from chalicelib.adapters.delivery_queue import DeliveryQueue, Message
from chalicelib.events.webhooks import Webhook, new_webhook_id
from devstack.webhook_listen import Listener
from tests.conftest import TABLE

BODY = json.dumps({"type": "image.ready", "timestamp": "2026-12-04T03:00:00.000Z", "data": {"image_id": "a" * 32}})


@pytest.fixture
def queues(aws):
    import boto3

    sqs = boto3.client("sqs")
    return sqs, sqs.create_queue(QueueName="hooks")["QueueUrl"], sqs.create_queue(QueueName="hooks-dlq")["QueueUrl"]


def webhook(store: WebhookStore, url: str, secret: str) -> Webhook:
    return store.create(Webhook(new_webhook_id(), "alice", url, secrets=(signing.Secret(secret),)))


def sender(store, queues, **options) -> Sender:
    _, queue, dlq = queues
    return Sender(store, DeliveryQueue(queue, dlq), allow_loopback=True, **options)


def queued(sqs, url) -> list[Message]:
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    for m in got:
        sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    return [Message.decode(m["Body"]) for m in got]


def test_a_delivery_is_signed_and_logged(queues):
    store, secret = WebhookStore(TABLE, None), signing.new_secret()
    with Listener([secret]) as receiver:
        hook = webhook(store, receiver.url, secret)
        outcome = sender(store, queues).handle(Message(hook.webhook_id, "evt_1", "image.ready", BODY).encode())
        (got,) = receiver.wait_for(1)
    assert outcome == "delivered" and got.verified and got.body == BODY.encode() and got.id == "evt_1"
    (logged,) = store.deliveries(hook.webhook_id)
    assert (logged.outcome, logged.status, logged.attempt, logged.event_id) == ("delivered", 200, 1, "evt_1")
    assert logged.duration_ms is not None and logged.error is None


def test_500_then_200_sends_the_same_webhook_id_twice(queues):
    sqs, queue, _ = queues
    store, secret = WebhookStore(TABLE, None), signing.new_secret()
    with Listener([secret], answers=[500]) as receiver:
        hook = webhook(store, receiver.url, secret)
        send = sender(store, queues, retry_schedule=(0, 0, 0))
        assert send.handle(Message(hook.webhook_id, "evt_2", "image.ready", BODY).encode()) == "retrying"
        (follow,) = queued(sqs, queue)
        assert (follow.attempt, follow.event_id, follow.body, follow.last_error) == (2, "evt_2", BODY, "HTTP 500")
        assert send.handle(follow.encode()) == "delivered"
        first, second = receiver.wait_for(2)
    assert first.id == second.id == "evt_2" and first.body == second.body
    assert first.verified and second.verified and (first.answered, second.answered) == (500, 200)
    assert [d.outcome for d in store.deliveries(hook.webhook_id)] == ["delivered", "retrying"]
    assert queued(sqs, queue) == []


def test_410_disables_the_webhook(queues):
    sqs, queue, dlq = queues
    store, secret = WebhookStore(TABLE, None), signing.new_secret()
    with Listener([secret], answers=[410]) as receiver:
        hook = webhook(store, receiver.url, secret)
        send = sender(store, queues)
        assert send.handle(Message(hook.webhook_id, "evt_3", "image.ready", BODY).encode()) == "disabled"
        now = store.get(hook.webhook_id)
        assert now.enabled is False and "410" in now.disabled_reason
        assert queued(sqs, queue) == [] and queued(sqs, dlq) == []
        # A later event is not sent at all, and the log says why.
        assert send.handle(Message(hook.webhook_id, "evt_4", "image.ready", BODY).encode()) == "skipped"
        assert len(receiver.wait_for(2, timeout=0.5)) == 1
    assert [d.outcome for d in store.deliveries(hook.webhook_id)] == ["skipped", "disabled"]


def test_after_the_last_attempt_the_delivery_goes_to_the_dead_letter_queue_and_the_log_says_so(queues):
    sqs, queue, dlq = queues
    store, secret = WebhookStore(TABLE, None), signing.new_secret()
    with Listener([secret], default=503) as receiver:
        hook = webhook(store, receiver.url, secret)
        send = sender(store, queues, retry_schedule=(0, 0))
        assert send.handle(Message(hook.webhook_id, "evt_5", "image.ready", BODY).encode()) == "retrying"
        (follow,) = queued(sqs, queue)
        assert send.handle(follow.encode()) == "dead-lettered"
        assert len(receiver.wait_for(2)) == 2
    (dead,) = queued(sqs, dlq)
    assert (dead.event_id, dead.attempt, dead.last_error) == ("evt_5", 2, "HTTP 503")
    assert queued(sqs, queue) == []
    log = store.deliveries(hook.webhook_id)
    assert [(d.outcome, d.status) for d in log] == [("dead-lettered", 503), ("retrying", 503)]


def test_a_long_wait_is_spent_on_the_queue_not_in_the_function(queues):
    sqs, queue, _ = queues
    store = WebhookStore(TABLE, None)
    hook = webhook(store, "http://127.0.0.1:9/never", signing.new_secret())
    send = sender(store, queues, clock=lambda: 1000.0)
    later = Message(hook.webhook_id, "evt_6", "image.ready", BODY, attempt=7, due_at=1000.0 + 36000)
    assert send.handle(later.encode()) == "waiting"
    assert queued(sqs, queue) == []  # on its way back in 900 s, not now
    assert store.deliveries(hook.webhook_id) == []


def test_after_a_rotation_both_signatures_are_sent_and_each_verifies_with_its_own_secret(queues):
    store, old = WebhookStore(TABLE, None), signing.new_secret()
    fresh = signing.new_secret()
    with Listener([old, fresh]) as receiver:
        hook = webhook(store, receiver.url, old)
        store.save(hook.touch(), hook, fresh_secret=fresh)
        assert sender(store, queues).handle(Message(hook.webhook_id, "evt_7", "image.ready", BODY).encode()) == "delivered"
        (got,) = receiver.wait_for(1)
    assert len(got.headers["webhook-signature"].split(" ")) == 2
    assert got.verified_with == [0, 1]
    with Listener([old]) as only_old, Listener([fresh]) as only_new:
        for listener in (only_old, only_new):
            current = store.get(hook.webhook_id)
            store.save(current.touch(url=listener.url), current)
            sender(store, queues).handle(Message(hook.webhook_id, "evt_8", "image.ready", BODY).encode())
        assert only_old.wait_for(1)[0].verified and only_new.wait_for(1)[0].verified


def test_a_url_refused_at_delivery_is_never_connected_to(queues):
    sqs, queue, _ = queues
    store = WebhookStore(TABLE, None)
    # Stored straight, as if the host's address had changed since registration.
    hook = webhook(store, "http://metadata.example/latest/meta-data/", signing.new_secret())
    posts = []
    send = sender(store, queues, resolve=lambda h, p: ["169.254.169.254"], post=lambda *a, **k: posts.append(a))
    assert send.handle(Message(hook.webhook_id, "evt_9", "image.ready", BODY).encode()) == "retrying"
    assert posts == []
    (logged,) = store.deliveries(hook.webhook_id)
    assert logged.error.startswith("refused:") and "link-local" in logged.error


def test_secrets_are_sealed_with_kms_bound_to_their_webhook(aws):
    import boto3

    kms, ddb = boto3.client("kms"), boto3.client("dynamodb")
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    store, secret = WebhookStore(TABLE, key), signing.new_secret()
    hook = webhook(store, "https://hooks.example/", secret)
    raw = json.dumps(ddb.get_item(TableName=TABLE, Key={"pk": {"S": f"HOOK#{hook.webhook_id}"}, "sk": {"S": "HOOK"}}))
    assert secret not in raw and secret[6:] not in raw and "kms:" in raw
    assert store.get(hook.webhook_id).secrets == ()  # listing and showing never decrypt
    assert store.get(hook.webhook_id, with_secrets=True).secrets[0].value == secret
    other = webhook(store, "https://hooks.example/", signing.new_secret())
    sealed = store._kept(ddb.get_item(TableName=TABLE, Key={"pk": {"S": f"HOOK#{hook.webhook_id}"},
                                                            "sk": {"S": "HOOK"}})["Item"])[0].value
    with pytest.raises(Exception, match="InvalidCiphertext"):
        store._open(other.webhook_id, sealed)


def test_a_deployed_stage_refuses_to_keep_secrets_unsealed():
    with pytest.raises(RuntimeError, match="WEBHOOK_KEY_ID"):
        WebhookStore(TABLE, None, on_lambda=True)
