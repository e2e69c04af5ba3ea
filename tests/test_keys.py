"""The S3 key layout, filename sanitising and image ids."""
import unicodedata

import pytest

from chalicelib.domain import keys


@pytest.mark.parametrize("raw, expected", [
    ("cat.jpg", "cat.jpg"),
    ("../../etc/passwd", "passwd"),
    ("C:\\Users\\me\\photo.png", "photo.png"),
    ("a/b/c.gif", "c.gif"),
    ("..", "image"),
    ("", "image"),
    ("  .hidden.jpg ", "hidden.jpg"),
    ("tab\there\x00nul\x7f.jpg", "tabherenul.jpg"),
    ("My Holiday + friends 100%.jpg", "My Holiday + friends 100%.jpg"),
])
def test_sanitize_filename(raw, expected):
    assert keys.sanitize_filename(raw) == expected


def test_sanitize_filename_keeps_unicode_and_normalises_to_nfc():
    decomposed = unicodedata.normalize("NFD", "café ☕.jpg")
    assert decomposed != "café ☕.jpg"
    assert keys.sanitize_filename(decomposed) == "café ☕.jpg"


def test_sanitize_filename_caps_utf8_length_and_keeps_extension():
    name = keys.sanitize_filename("é" * 300 + ".jpeg")
    assert len(name.encode()) <= keys.MAX_FILENAME_BYTES
    assert name.endswith(".jpeg") and name.startswith("é")
    name.encode().decode("utf-8")  # no split character


def test_image_ids():
    assert keys.is_image_id(keys.new_image_id())
    assert keys.new_image_id() != keys.new_image_id()
    derived = keys.image_id_for_object("b", "uploads/alice/cat.jpg")
    assert keys.is_image_id(derived)
    assert derived == keys.image_id_for_object("b", "uploads/alice/cat.jpg")
    assert derived != keys.image_id_for_object("other", "uploads/alice/cat.jpg")
    assert not keys.is_image_id("../x") and not keys.is_image_id("A" * 32)


def test_parse_upload_key():
    image_id = keys.new_image_id()
    api = keys.parse_upload_key(keys.original_key("alice", image_id, "a b.jpg"))
    assert api == keys.UploadKey(owner="alice", image_id=image_id, filename="a b.jpg")
    direct = keys.parse_upload_key("uploads/bob/holiday/day 1.jpg")
    assert direct == keys.UploadKey(owner="bob", image_id=None, filename="day 1.jpg")
    assert keys.parse_upload_key("uploads/cat.jpg").owner is None
    assert keys.parse_upload_key("uploads/bad owner/cat.jpg").owner is None
    assert keys.parse_upload_key("processed/x/thumb.jpg") is None


def test_variants_live_outside_the_subscribed_prefix():
    assert not keys.variant_key("a" * 32, "thumb", "jpg").startswith(keys.UPLOADS)
    assert keys.variant_key("a" * 32, "thumb", "jpg").startswith(keys.variant_prefix("a" * 32))


def test_owners_and_ids_never_end_in_a_newline():
    from chalicelib.domain import keys

    assert keys.is_owner("alice") and not keys.is_owner("alice\n") and not keys.is_owner("al ice")
    assert keys.is_image_id("a" * 32) and not keys.is_image_id("a" * 32 + "\n")
