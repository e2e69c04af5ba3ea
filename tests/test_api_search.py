"""GET /images?q=: search through the Chalice test client, on moto."""
from __future__ import annotations

from urllib.parse import quote

import pytest

from chalicelib import config
from tests.apps import bearer
from tests.test_api import ready, upload
from tests.test_auth import token_api  # noqa: F401 (fixture)
from tests.test_auth import upload as upload_as
from tests.test_store import reads  # noqa: F401 (fixture)


def ids(client, query: str, headers=None) -> list[str]:
    """Every image id a search lists, following next_token to the end."""
    found, token = [], None
    while True:
        reply = client.http.get(f"/images?{query}" + (f"&next_token={token}" if token else ""), headers=headers or {})
        assert reply.status_code == 200, reply.json_body
        found += [i["image_id"] for i in reply.json_body["images"]]
        if not (token := reply.json_body["next_token"]):
            return found


def q(text: str) -> str:
    return f"q={quote(text)}"


@pytest.fixture
def library(client, jpeg):
    """alice's four images and bob's one, oldest first."""
    made = {}
    for name, owner, fields in [
        ("beach", "alice", dict(title="Summer trip", filename="IMG_2041.jpg", tags=["holiday"])),
        ("lake", "alice", dict(title="Lake at dawn", filename="lake-dawn.png", description="Misty summer morning")),
        ("cat", "alice", dict(title="Cat", filename="whiskers_on_sofa.jpg", tags=["pets", "Summer"])),
        ("winter", "alice", dict(title="Winter trip", filename="snow.jpg")),
        ("bobs", "bob", dict(title="Summer trip", filename="IMG_2041.jpg")),
    ]:
        made[name] = upload(client, jpeg, user_id=owner, **fields).json_body["image_id"]
    return made


def test_finds_by_title_filename_description_and_tag(client, library):
    alice = "user_id=alice&"
    assert ids(client, alice + q("trip")) == [library["winter"], library["beach"]]  # title, newest first
    assert ids(client, alice + q("whiskers")) == [library["cat"]]  # a word of the filename's stem
    assert ids(client, alice + q("2041")) == [library["beach"]]
    assert ids(client, alice + q("misty")) == [library["lake"]]  # the description
    assert ids(client, alice + q("pets")) == [library["cat"]]  # a tag
    assert ids(client, alice + q("summer")) == [library["cat"], library["lake"], library["beach"]]
    assert ids(client, alice + q("jpg")) == []  # the extension is not a word of the image


def test_every_word_must_match_and_the_last_as_a_prefix(client, library):
    alice = "user_id=alice&"
    assert ids(client, alice + q("Summer TRIP")) == [library["beach"]]  # AND, casefolded
    assert ids(client, alice + q("sum")) == ids(client, alice + q("summ")) == [library["cat"], library["lake"],
                                                                               library["beach"]]
    assert ids(client, alice + q("trip su")) == [library["beach"]]  # a short last word, beside a longer one
    assert ids(client, alice + q("summ trip")) == []  # only the last word is a prefix
    assert ids(client, alice + q("a ! ,")) == ids(client, "user_id=alice")  # no word: no search


def test_search_combines_with_tag_status_and_order(client, library, jpeg):
    alice = "user_id=alice&"
    assert ids(client, alice + q("summer") + "&tag=holiday") == [library["beach"]]
    assert ids(client, alice + q("summer") + "&order=oldest") == [library["beach"], library["lake"], library["cat"]]
    done = ready(client, jpeg, title="Summer picnic", filename="picnic.jpg")
    assert ids(client, alice + q("summer") + "&status=ready") == [done["image_id"]]
    assert ids(client, alice + q("summer") + "&status=pending") == [library["cat"], library["lake"], library["beach"]]


def test_an_admin_search_spans_owners_and_a_user_sees_only_their_own(token_api, jpeg):  # noqa: F811
    made = [(owner, upload_as(token_api, jpeg, bearer(owner), title=title)["image_id"])
            for owner, title in [("alice", "Summer trip"), ("bob", "Summer trip"), ("alice", "Winter")]]
    (_, alices), (_, bobs), _ = made
    assert ids(token_api, q("summer"), bearer("bob")) == [bobs]
    assert ids(token_api, q("summer"), bearer("alice")) == [alices]
    assert ids(token_api, q("summer"), bearer("root", admin=True)) == [bobs, alices]  # over the shards
    assert ids(token_api, q("summer") + "&user_id=bob", bearer("root", admin=True)) == [bobs]
    refused = token_api.http.get("/images?user_id=alice&q=summer", headers=bearer("bob"))
    assert refused.status_code == 403


def test_a_changed_title_changes_what_finds_the_image_and_a_delete_removes_it(client, library):
    image = library["winter"]
    reply = client.http.patch(f"/images/{image}", headers={"content-type": "application/json"},
                              body='{"title": "Autumn walk"}')
    assert reply.status_code == 200
    assert ids(client, "user_id=alice&" + q("winter")) == []  # the old word no longer finds it
    assert ids(client, "user_id=alice&" + q("autu")) == [image]
    assert ids(client, q("trip")) == [library["bobs"], library["beach"]]
    assert client.http.delete(f"/images/{library['beach']}").status_code == 200
    assert ids(client, q("trip")) == [library["bobs"]]
    assert ids(client, "user_id=alice&" + q("2041")) == []


def test_pages_of_a_search_list_each_match_once_and_read_a_bounded_index(client, jpeg, reads):
    made = [upload(client, jpeg, user_id="alice", title=f"Beach day {n}" if n % 3 else "Forest day").json_body
            ["image_id"] for n in range(10)]
    beach = [i for n, i in reversed(list(enumerate(made))) if n % 3]
    reads.clear()
    for who in ("user_id=alice&", ""):  # one partition, and the admin's merged from shards
        seen, token, pages = [], None, 0
        while True:
            page = client.http.get(f"/images?{who}{q('beach da')}&limit=2" + (f"&next_token={token}" if token else ""))
            seen += [i["image_id"] for i in page.json_body["images"]]
            assert page.json_body["count"] <= 2
            pages += 1
            if not (token := page.json_body["next_token"]):
                break
        assert seen == beach and pages >= 3, who  # each exactly once, newest first, across page boundaries
    assert max(reads) <= 3  # ScannedCount of every Query: limit + 1


def test_a_token_of_one_search_continues_no_other(client, jpeg):
    for _ in range(3):
        upload(client, jpeg, user_id="alice", title="Summer trip")
    token = client.http.get("/images?user_id=alice&limit=1&q=summer").json_body["next_token"]
    assert token
    assert client.http.get(f"/images?user_id=alice&limit=1&q=SUMMER&next_token={token}").status_code == 200
    for other in ("q=trip", "q=summer%20trip", ""):
        reply = client.http.get(f"/images?user_id=alice&limit=1&{other}&next_token={token}")
        assert reply.status_code == 400 and "next_token" in reply.json_body["error"], other


@pytest.mark.parametrize("query, message", [
    ("q=" + "x" * (config.SEARCH_MAX_QUERY_CHARS + 1), f"q is longer than {config.SEARCH_MAX_QUERY_CHARS} characters"),
    ("q=" + quote(" ".join(f"w{n}" for n in range(config.SEARCH_MAX_WORDS + 1))),
     f"q has 9 words; at most {config.SEARCH_MAX_WORDS} are allowed"),
    ("q=", "query parameter q is empty"),
])
def test_a_bad_q_is_a_400_naming_q(client, query, message):
    reply = client.http.get(f"/images?user_id=alice&{query}")
    assert reply.status_code == 400 and reply.json_body == {"error": reply.json_body["error"]}
    assert message in reply.json_body["error"]


def test_the_longest_q_with_the_most_words_is_accepted(client):
    words = " ".join(f"w{n}" for n in range(config.SEARCH_MAX_WORDS))
    text = words + " " * (config.SEARCH_MAX_QUERY_CHARS - len(words))
    assert client.http.get(f"/images?user_id=alice&q={quote(text)}").status_code == 200
