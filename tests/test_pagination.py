"""Pagination tokens are opaque, round-trip, and refuse tampering or reuse elsewhere."""
import json

import pytest

from chalicelib.domain.errors import Invalid
from chalicelib.usecases import pagination

KEY = json.dumps({"pk": "IMG#abc", "sk": "IMAGE", "gsk": "2026-01-01T00:00:00.000Z#abc", "g2pk": "O#alice"})
ALICE = pagination.scope("alice", None, None)


def test_round_trip():
    token = pagination.encode(KEY, ALICE, "secret")
    assert "alice" not in token  # opaque, not readable JSON
    assert pagination.decode(token, ALICE, "secret") == KEY


def test_tampered_token_is_refused():
    token = pagination.encode(KEY, ALICE, "secret")
    body, mac = token.split(".")
    forged = pagination.encode(json.dumps({**json.loads(KEY), "g2pk": "O#bob"}), ALICE, "guess").split(".")[0]
    for bad in (forged + "." + mac, body + "." + mac[:-2] + "AA", body[:-1] + "." + mac):
        with pytest.raises(Invalid):
            pagination.decode(bad, ALICE, "secret")


def test_token_from_another_list_or_secret_is_refused():
    token = pagination.encode(KEY, ALICE, "secret")
    with pytest.raises(Invalid, match="not valid for this list"):
        pagination.decode(token, pagination.scope("bob", None, None), "secret")
    with pytest.raises(Invalid):
        pagination.decode(token, ALICE, "another secret")


@pytest.mark.parametrize("garbage", ["", "abc", "a.b.c", "!!!.???", "e30.e30"])
def test_garbage_is_refused(garbage):
    with pytest.raises(Invalid):
        pagination.decode(garbage, pagination.scope(None, None, None), "secret")


def test_a_search_is_part_of_the_scope_and_no_search_leaves_it_as_before():
    assert pagination.scope("alice", None, None, "newest", "") == ALICE == '["alice", null, null]'
    searched = {pagination.scope("alice", None, None, order, words)
                for order in ("newest", "oldest") for words in ("", "summer", "summer trip")}
    assert len(searched) == 6  # every order and search its own list
    token = pagination.encode(KEY, pagination.scope("alice", None, None, "newest", "summer"), "secret")
    with pytest.raises(Invalid, match="not valid for this list"):
        pagination.decode(token, pagination.scope("alice", None, None, "newest", "summer trip"), "secret")
