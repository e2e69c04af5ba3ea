"""AUTH_MODE none, token and cognito through the routes, and the rules behind them."""
from __future__ import annotations

import base64
import json
import time
import uuid

import pytest

from chalicelib import auth
from chalicelib.auth import Caller
from chalicelib.domain.errors import Forbidden, Invalid, Unauthorized
from tests.apps import TOKEN_SECRET, USER_POOL_ARN, bearer, client, cognito_token, json_upload, load_app, with_headers
from tests.conftest import BUCKET, deliver

ORIGIN = "https://app.example"
# chalice local admits every request to a Cognito route; the app itself answers 401.
pytestmark = pytest.mark.filterwarnings("ignore:CognitoUserPoolAuthorizer is not a supported in local mode")


def _keys(s3, prefix: str) -> list[str]:
    return [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", [])]


@pytest.fixture
def token_api(aws, monkeypatch, tmp_path):
    """Token mode, the signing secret in Secrets Manager as on AWS."""
    import boto3

    arn = boto3.client("secretsmanager").create_secret(
        Name="imgstore-dev-auth-token", SecretString=TOKEN_SECRET)["ARN"]
    auth.reset()
    app = load_app(monkeypatch, "token")
    with client(app, tmp_path, AUTH_TOKEN_SECRET_ARN=arn, CORS_ALLOW_ORIGINS=ORIGIN) as c:
        yield c
    auth.reset()


@pytest.fixture
def cognito_api(aws, monkeypatch, tmp_path):
    app = load_app(monkeypatch, "cognito", USER_POOL_ARN=USER_POOL_ARN)
    with client(app, tmp_path, CORS_ALLOW_ORIGINS=ORIGIN) as c:
        yield c


@pytest.fixture
def open_api(aws, monkeypatch, tmp_path):
    app = load_app(monkeypatch, "none")
    with client(app, tmp_path) as c:
        yield c


def upload(api, image: bytes, headers: dict, **fields) -> dict:
    response = api.http.post("/images", **with_headers(json_upload(image, **fields), headers))
    assert response.status_code == 201, response.json_body
    return response.json_body


# -- the rules -------------------------------------------------------------------

def test_anonymous_caller_takes_the_owner_from_the_request():
    assert auth.ANONYMOUS.owner_for_upload("alice") == "alice"
    with pytest.raises(Invalid, match="user_id is required"):
        auth.ANONYMOUS.owner_for_upload(None)
    assert auth.ANONYMOUS.owner_to_list("bob") == "bob"
    assert auth.ANONYMOUS.owner_to_list(None) is None
    assert auth.ANONYMOUS.may_see("anyone")


def test_an_authenticated_caller_owns_what_it_uploads_and_sees_only_that():
    alice = Caller("alice")
    assert alice.owner_for_upload(None) == "alice"
    assert alice.owner_for_upload("alice") == "alice"
    with pytest.raises(Forbidden, match="from your credentials"):
        alice.owner_for_upload("bob")
    assert alice.owner_to_list(None) == "alice"
    with pytest.raises(Forbidden):
        alice.owner_to_list("bob")
    assert alice.may_see("alice") and not alice.may_see("bob")


def test_an_admin_sees_everyone_but_still_uploads_as_itself():
    root = Caller("root", admin=True)
    assert root.may_see("bob")
    assert root.owner_to_list(None) is None and root.owner_to_list("bob") == "bob"
    assert root.owner_for_upload(None) == "root"


def test_tokens_verify_and_carry_their_claims():
    token = auth.issue_token("alice", TOKEN_SECRET, admin=True, ttl_seconds=60)
    claims = auth.verify_token(f"Bearer {token}", TOKEN_SECRET)
    assert claims["sub"] == "alice" and claims["adm"] is True
    assert claims["exp"] - claims["iat"] == 60


@pytest.mark.parametrize("header, reason", [
    (None, "bearer token is required"),
    ("", "bearer token is required"),
    ("Basic YWxpY2U6eA==", "bearer token is required"),
    ("Bearer not-a-token", "not valid"),
])
def test_malformed_authorization_headers_are_refused(header, reason):
    with pytest.raises(auth.InvalidToken, match=reason):
        auth.verify_token(header, TOKEN_SECRET)


def test_forged_tampered_and_expired_tokens_are_refused():
    forged = auth.issue_token("alice", "some-other-secret-entirely-here-and-long")
    with pytest.raises(auth.InvalidToken, match="not valid"):
        auth.verify_token(f"Bearer {forged}", TOKEN_SECRET)

    head, payload, signature = auth.issue_token("alice", TOKEN_SECRET).split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["adm"] = True
    promoted = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    with pytest.raises(auth.InvalidToken, match="not valid"):
        auth.verify_token(f"Bearer {head}.{promoted}.{signature}", TOKEN_SECRET)

    expired = auth.issue_token("alice", TOKEN_SECRET, ttl_seconds=60, now=time.time() - 120)
    with pytest.raises(auth.InvalidToken, match="expired"):
        auth.verify_token(f"Bearer {expired}", TOKEN_SECRET)


def test_a_token_signed_with_none_algorithm_is_refused():
    def b64(value):
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    unsigned = f"{b64({'alg': 'none'})}.{b64({'sub': 'root', 'adm': True, 'exp': 2**40, 'iat': 1, 'iss': 'imgstore'})}."
    with pytest.raises(auth.InvalidToken):
        auth.verify_token(f"Bearer {unsigned}", TOKEN_SECRET)


def test_issue_token_refuses_bad_names_and_lifetimes():
    with pytest.raises(ValueError):
        auth.issue_token("alice/../bob", TOKEN_SECRET)
    with pytest.raises(ValueError):
        auth.issue_token("alice", TOKEN_SECRET, ttl_seconds=0)


def test_a_cached_authorizer_answer_does_not_outlive_its_token():
    context = {"authorizer": {"owner": "alice", "admin": "false", "expires": str(int(time.time()) - 1)}}
    settings = type("S", (), {"auth_mode": "token", "admin_group": "admins"})()
    with pytest.raises(Unauthorized, match="expired"):
        auth.caller(context, settings)


def test_token_secret_comes_from_the_environment_or_secrets_manager(aws):
    import boto3

    assert auth.token_secret({"AUTH_TOKEN_SECRET": "plain"}) == "plain"
    arn = boto3.client("secretsmanager").create_secret(Name="s", SecretString="stored")["ARN"]
    auth.reset()
    assert auth.token_secret({"AUTH_TOKEN_SECRET_ARN": arn}) == "stored"
    with pytest.raises(RuntimeError, match="AUTH_TOKEN_SECRET"):
        auth.token_secret({})


@pytest.mark.parametrize("value, groups", [
    ("admins", {"admins"}),
    ("admins,editors", {"admins", "editors"}),
    ("[admins editors]", {"admins", "editors"}),
    (["admins"], {"admins"}),
    (None, set()),
])
def test_cognito_groups_arrive_in_every_shape(value, groups):
    assert auth.cognito_groups(value) == groups


# -- token mode through the API -------------------------------------------------------

def test_every_data_route_needs_the_authorizer_and_preflights_do_not(monkeypatch):
    app = load_app(monkeypatch, "token")
    for path, methods in app.routes.items():
        for method, entry in methods.items():
            # Public: liveness, the contract, and the web app's page, files and config; the data is not.
            # A rendition URL is its own credential: its signature (docs/delivery.md).
            open_route = method == "OPTIONS" or path in ("/health", "/openapi.json", "/", "/app/{name}", "/client-config",
                                                         "/r/{image_id}/{version}/{rendition}/{signature}")
            assert (entry.authorizer is None) == open_route, (method, path)
            if not open_route:
                assert entry.authorizer.name == "token_authorizer"
    assert [a.handler_string for a in app.builtin_auth_handlers] == ["app.token_authorizer"]


def test_token_mode_missing_token_is_401_json(token_api):
    response = token_api.http.get("/images")
    assert response.status_code == 401
    assert json.loads(response.body)  # API Gateway's own JSON; make deploy reshapes it on AWS


@pytest.mark.parametrize("make_header, reason", [
    (lambda: bearer("alice", secret="a-forged-secret-not-the-real-one"), "the token is not valid"),
    (lambda: bearer("alice", ttl=60, now=time.time() - 61), "the token has expired"),
    (lambda: {"Authorization": "Bearer garbage"}, "the token is not valid"),
    (lambda: {"Authorization": "Basic YWxpY2U6eA=="}, "a bearer token is required: Authorization: Bearer <token>"),
])
def test_token_mode_bad_tokens_are_401_json_with_cors(token_api, jpeg, make_header, reason):
    headers = {**make_header(), "Origin": ORIGIN}
    for response in (token_api.http.get("/images", headers=headers),
                     token_api.http.post("/images", **with_headers(json_upload(jpeg), headers))):
        assert response.status_code == 401
        assert response.json_body == {"error": reason}
        assert response.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert token_api.http.get("/health", headers=headers).status_code == 200


def test_token_mode_full_lifecycle_of_an_owned_image(token_api, s3, jpeg):
    alice = bearer("alice")
    record = upload(token_api, jpeg, alice, tags=["Sea", "sun"])
    image_id = record["image_id"]
    assert record["owner"] == "alice"
    assert record["original_key"].startswith(f"uploads/alice/{image_id}/")

    deliver(token_api, record["original_key"])
    got = token_api.http.get(f"/images/{image_id}", headers=alice).json_body
    assert got["status"] == "ready"
    assert set(got["urls"]) == {"original", "thumb", "medium", "large"}
    redirect = token_api.http.get(f"/images/{image_id}/file?variant=thumb", headers=alice)
    assert redirect.status_code == 302 and "processed/" in redirect.headers["Location"]

    patched = token_api.http.patch(f"/images/{image_id}", headers={**alice, "Content-Type": "application/json"},
                                   body=json.dumps({"tags": ["sea"], "title": "Beach"}))
    assert patched.status_code == 200 and patched.json_body["tags"] == ["sea"]
    by_tag = token_api.http.get("/images?tag=sea", headers=alice).json_body
    assert [i["image_id"] for i in by_tag["images"]] == [image_id]
    ready = token_api.http.get("/images?status=ready", headers=alice).json_body
    assert [i["image_id"] for i in ready["images"]] == [image_id]

    assert token_api.http.delete(f"/images/{image_id}", headers=alice).status_code == 200
    assert _keys(s3, f"uploads/alice/{image_id}/") == [] and _keys(s3, f"processed/{image_id}/") == []
    assert token_api.http.get(f"/images/{image_id}", headers=alice).status_code == 404


def test_token_mode_other_users_images_are_not_found(token_api, s3, jpeg):
    bobs = upload(token_api, jpeg, bearer("bob"))["image_id"]
    alice = {**bearer("alice"), "Content-Type": "application/json"}
    missing = uuid.uuid4().hex
    for image_id in (bobs, missing):
        answers = [
            token_api.http.get(f"/images/{image_id}", headers=alice),
            token_api.http.get(f"/images/{image_id}/file", headers=alice),
            token_api.http.patch(f"/images/{image_id}", headers=alice, body=json.dumps({"title": "mine"})),
            token_api.http.delete(f"/images/{image_id}", headers=alice),
        ]
        assert [a.status_code for a in answers] == [404] * 4
        assert {a.json_body["error"] for a in answers} == {f"no image with id '{image_id}'"}
    still = token_api.http.get(f"/images/{bobs}", headers=bearer("bob")).json_body
    assert still["title"] == "" and _keys(s3, f"uploads/bob/{bobs}/")


def test_token_mode_lists_only_the_callers_images_and_admins_see_all(token_api, jpeg):
    alices = upload(token_api, jpeg, bearer("alice"))["image_id"]
    bobs = upload(token_api, jpeg, bearer("bob"))["image_id"]

    def ids(headers, query=""):
        response = token_api.http.get(f"/images{query}", headers=headers)
        assert response.status_code == 200, response.json_body
        return {i["image_id"] for i in response.json_body["images"]}

    assert ids(bearer("alice")) == {alices}
    assert ids(bearer("alice"), "?user_id=alice") == {alices}
    refused = token_api.http.get("/images?user_id=bob", headers=bearer("alice"))
    assert refused.status_code == 403 and "only your own" in refused.json_body["error"]

    root = bearer("root", admin=True)
    assert ids(root) == {alices, bobs}
    assert ids(root, "?user_id=bob") == {bobs}
    assert ids(root, "?status=pending") == {alices, bobs}
    assert token_api.http.get(f"/images/{bobs}", headers=root).status_code == 200
    assert token_api.http.delete(f"/images/{bobs}", headers=root).status_code == 200
    assert ids(root) == {alices}


def test_token_mode_owner_is_never_a_request_field(token_api, jpeg):
    refused = token_api.http.post("/images", **with_headers(json_upload(jpeg, user_id="bob"), bearer("alice")))
    assert refused.status_code == 403 and "credentials" in refused.json_body["error"]
    same = upload(token_api, jpeg, bearer("alice"), user_id="alice")
    assert same["owner"] == "alice"
    raw = token_api.http.post("/images?user_id=bob", headers={**bearer("alice"), "Content-Type": "image/jpeg"},
                              body=jpeg)
    assert raw.status_code == 403


def test_token_mode_presigned_uploads_are_bound_to_the_owners_prefix(token_api):
    alice = {**bearer("alice"), "Content-Type": "application/json"}
    post = token_api.http.post("/uploads", headers=alice, body=json.dumps(
        {"filename": "big.jpg", "content_type": "image/jpeg", "size_bytes": 5_000_000}))
    assert post.status_code == 201, post.json_body
    fields = post.json_body["upload"]["fields"]
    image_id = post.json_body["image_id"]
    assert fields["key"] == f"uploads/alice/{image_id}/big.jpg"
    policy = json.loads(base64.b64decode(fields["policy"]))
    assert {"key": fields["key"]} in policy["conditions"]

    put = token_api.http.post("/uploads", headers=alice, body=json.dumps(
        {"filename": "b.png", "content_type": "image/png", "size_bytes": 10, "method": "PUT"}))
    assert f"/uploads/alice/{put.json_body['image_id']}/b.png?" in put.json_body["upload_url"]

    foreign = token_api.http.post("/uploads", headers=alice, body=json.dumps(
        {"filename": "x.jpg", "content_type": "image/jpeg", "size_bytes": 10, "user_id": "bob"}))
    assert foreign.status_code == 403


# -- cognito mode ---------------------------------------------------------------------

def test_cognito_mode_without_a_token_is_401_json(cognito_api):
    response = cognito_api.http.get("/images", headers={"Origin": ORIGIN})
    assert response.status_code == 401
    assert "Cognito ID token is required" in response.json_body["error"]
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN


def test_cognito_mode_owner_is_the_sub_claim_and_admin_a_group(cognito_api, jpeg):
    alice, bob, root = (str(uuid.uuid4()) for _ in range(3))
    alices = upload(cognito_api, jpeg, cognito_token(alice))
    assert alices["owner"] == alice and alices["original_key"].startswith(f"uploads/{alice}/")
    bobs = upload(cognito_api, jpeg, cognito_token(bob, groups=["editors"]))["image_id"]

    assert cognito_api.http.get(f"/images/{bobs}", headers=cognito_token(alice)).status_code == 404
    mine = cognito_api.http.get("/images", headers=cognito_token(alice)).json_body["images"]
    assert [i["image_id"] for i in mine] == [alices["image_id"]]
    everyone = cognito_api.http.get("/images", headers=cognito_token(root, groups=["admins"])).json_body
    assert {i["owner"] for i in everyone["images"]} == {alice, bob}
    assert cognito_api.http.delete(f"/images/{bobs}", headers=cognito_token(root, ["admins"])).status_code == 200


def test_cognito_mode_refuses_a_user_id_that_is_not_the_sub(cognito_api, jpeg):
    response = cognito_api.http.post("/images", **with_headers(json_upload(jpeg, user_id="alice"),
                                                               cognito_token(str(uuid.uuid4()))))
    assert response.status_code == 403


# -- none mode --------------------------------------------------------------------------

def test_none_mode_takes_the_owner_from_user_id_and_shows_everything(open_api, s3, jpeg):
    missing = open_api.http.post("/images", **json_upload(jpeg))
    assert missing.status_code == 400 and missing.json_body == {"error": "user_id is required"}

    alices = upload(open_api, jpeg, {}, user_id="alice", tags=["cat"])
    bobs = upload(open_api, jpeg, {}, user_id="bob")
    assert alices["owner"] == "alice"
    assert open_api.http.get(f"/images/{bobs['image_id']}").status_code == 200

    def ids(query):
        return {i["image_id"] for i in open_api.http.get(f"/images{query}").json_body["images"]}

    assert ids("") == {alices["image_id"], bobs["image_id"]}
    assert ids("?user_id=bob") == {bobs["image_id"]}
    assert ids("?user_id=alice&status=pending") == {alices["image_id"]}
    assert ids("?status=pending&tag=cat") == {alices["image_id"]}
    assert open_api.http.delete(f"/images/{bobs['image_id']}").status_code == 200
