"""Standard Webhooks signatures, verified with PyPI's `standardwebhooks`, never our own code."""
import base64
import time
from datetime import UTC, datetime

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from chalicelib.events import signing
from chalicelib.events.signing import Secret


def test_a_new_secret_is_whsec_and_32_random_bytes():
    secret = signing.new_secret()
    assert secret.startswith("whsec_") and len(base64.b64decode(secret[6:])) == 32
    assert signing.new_secret() != secret


def test_our_signature_is_the_reference_librarys_byte_for_byte():
    secret = signing.new_secret()
    body = '{"type":"image.ready","data":{"filename":"café.jpg"}}'
    ours = signing.sign(secret, "evt_1", 1796353200, body)
    theirs = Webhook(secret).sign("evt_1", datetime.fromtimestamp(1796353200, UTC), body)
    assert ours == theirs


def test_the_headers_verify_with_the_reference_library():
    secret, body, now = signing.new_secret(), '{"type":"webhook.test","data":{}}', time.time()
    headers = signing.headers([Secret(secret)], "evt_2", int(now), body, now)
    assert Webhook(secret).verify(body, dict(headers)) == {"type": "webhook.test", "data": {}}
    with pytest.raises(WebhookVerificationError):
        Webhook(signing.new_secret()).verify(body, dict(headers))
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body.replace("test", "tess"), dict(headers))


def test_during_a_rotation_both_secrets_sign_and_each_verifies_alone():
    old = [Secret(signing.new_secret())]
    now = time.time()
    rotated = signing.rotate(old, signing.new_secret(), now)
    assert rotated[1] == Secret(old[0].value, int(now) + 24 * 3600) and rotated[0].retires_at is None
    body = '{"type":"webhook.test"}'
    headers = signing.headers(rotated, "evt_3", int(now), body, now)
    assert len(headers["webhook-signature"].split(" ")) == 2
    for secret in rotated:
        Webhook(secret.value).verify(body, dict(headers))
    # After the grace period only the new one signs, and the old one verifies nothing.
    later = now + 24 * 3600 + 1
    headers = signing.headers(rotated, "evt_3", int(now), body, later)
    assert len(headers["webhook-signature"].split(" ")) == 1
    Webhook(rotated[0].value).verify(body, dict(headers))
    with pytest.raises(WebhookVerificationError):
        Webhook(old[0].value).verify(body, dict(headers))
    assert [s.value for s in signing.rotate(rotated, signing.new_secret(), later)][1:] == [rotated[0].value]


@pytest.mark.parametrize("bad", ["abc", "whsec_!!!", "whsec_" + base64.b64encode(b"short").decode()])
def test_a_malformed_secret_is_refused(bad):
    with pytest.raises(ValueError):
        signing.key_of(bad)
