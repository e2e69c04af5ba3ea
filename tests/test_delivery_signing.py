"""Signed rendition paths (chalicelib/delivery/signing.py): only the exact path a current key
signed verifies; tampering with any part of it, an unknown or retired key, and expiry are
refused the same way; two keys are valid during a rotation."""

from __future__ import annotations

import pytest

from chalicelib.delivery import signing
from chalicelib.delivery.options import Options
from chalicelib.delivery.signing import BadSignature, Keyring

IMAGE = "0123456789abcdef0123456789abcdef"
OLD = Keyring("k1", {"k1": "first secret"})
ROTATING = Keyring("k2", {"k1": "first secret", "k2": "second secret"})
NEW = Keyring("k2", {"k2": "second secret"})
OPTS = Options(640, 480, "cover", "webp", 70)


def verify(path, keyring=OLD, now=1_000.0):
    return signing.verify(path, keyring, now, 4096)


def test_a_signed_path_verifies_and_says_what_it_names():
    path = signing.sign(OLD, IMAGE, 7, OPTS)
    assert path.startswith(f"/r/{IMAGE}/7/w640-h480-cover-webp-q70/k1.0.")
    assert verify(path) == signing.Signed(IMAGE, 7, OPTS, 0)


def _swap(path: str, old: str, new: str) -> str:
    assert old in path
    return path.replace(old, new, 1)


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (IMAGE, "f" + IMAGE[1:]),  # another image
        ("/7/", "/8/"),  # another version
        ("w640", "w641"),  # other options
        ("-q70", "-q71"),
        ("cover", "contain"),
        ("webp", "avif"),
        ("k1.0.", "k2.0."),  # another key id
        ("k1.0.", "k1.99999999999."),  # an expiry added to a capability URL
    ],
)
def test_a_tampered_path_is_refused(old, new):
    path = signing.sign(OLD, IMAGE, 7, OPTS)
    with pytest.raises(BadSignature):
        verify(_swap(path, old, new), ROTATING)


def test_a_tampered_signature_is_refused():
    path = signing.sign(OLD, IMAGE, 7, OPTS)
    last = path[-1]
    with pytest.raises(BadSignature):
        verify(path[:-1] + ("A" if last != "A" else "B"))


@pytest.mark.parametrize(
    "spelling",
    [
        "w640-h480-cover-webp-q070",  # another spelling of the same options
        "h480-w640-cover-webp-q70",
        "W640-h480-cover-webp-q70",
    ],
)
def test_only_the_canonical_spelling_is_verified(spelling):
    path = signing.sign(OLD, IMAGE, 7, OPTS)
    with pytest.raises(BadSignature):
        verify(path.replace("w640-h480-cover-webp-q70", spelling))


@pytest.mark.parametrize(
    "suffix", ["/", "?width=9000", "%2F", "/../x", "\n"],
)
def test_nothing_may_be_added_to_a_signed_path(suffix):
    with pytest.raises(BadSignature):
        verify(signing.sign(OLD, IMAGE, 7, OPTS) + suffix)


def test_rotation_two_keys_are_valid_while_the_new_one_signs():
    before = signing.sign(OLD, IMAGE, 7, OPTS)
    during = signing.sign(ROTATING, IMAGE, 7, OPTS)
    assert "/k2.0." in during
    assert verify(before, ROTATING).version == verify(during, ROTATING).version == 7
    assert verify(during, NEW).image_id == IMAGE
    with pytest.raises(BadSignature):
        verify(before, NEW)  # the old key retired: its URLs stop working


def test_an_expiring_path_works_until_it_expires():
    expires = signing.expiry(now=1_000, window=900, ttl=3600)
    assert expires == 1800 + 3600
    path = signing.sign(OLD, IMAGE, 7, OPTS, expires)
    assert verify(path, now=expires - 1).expires == expires
    with pytest.raises(BadSignature, match="expired"):
        verify(path, now=expires)


def test_within_one_window_every_url_is_the_same():
    assert signing.expiry(901, 900, 60) == signing.expiry(1799, 900, 60) == 1860
    assert signing.expiry(1800, 900, 60) == 2760
    assert signing.expiry(1234, 900, 0) == 0  # never expires


def test_a_keyring_refuses_a_missing_current_key_or_a_bad_id():
    with pytest.raises(RuntimeError):
        Keyring("k3", {"k1": "x"})
    with pytest.raises(RuntimeError):
        Keyring("K1", {"K1": "x"})
