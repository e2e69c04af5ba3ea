"""The delivery distribution in infra/resources.yaml, checked offline: the bucket private behind
OAC, the origin group failing over to the renderer's Function URL (OAC of type lambda), the
viewer-request function (run under node against paths the Python signs), a cache policy
keyed on the URL alone with compression off, Origin Shield, and the edge's deletion bound."""
from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from chalicelib.domain import keys
from chalicelib.delivery import signing
from chalicelib.delivery.options import Options
from chalicelib.delivery.signing import Keyring

from .test_infra import TEMPLATE, resource, template  # noqa: F401  (the parsed template fixture)

IMAGE = "0123456789abcdef0123456789abcdef"
KEYS = Keyring("k2", {"k1": "first secret", "k2": "second secret"})


def test_everything_for_delivery_waits_for_the_renderer(template):
    assert template["Conditions"]["HasRenderer"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "RendererFunctionArn"}, ""]}]}
    for name in ("DeliveryDistribution", "DeliveryViewerRequest", "DeliveryKeyStore", "DeliveryCachePolicy",
                 "DeliveryBucketAccess", "DeliveryRendererAccess", "RendererUrl", "RendererUrlPermission",
                 "DeliveryResponseHeaders"):
        assert template["Resources"][name]["Condition"] == "HasRenderer", name
    assert "Condition" not in template["Resources"]["DeliveryKeysSecret"]  # the API signs from the first deploy


def test_the_bucket_stays_private_and_cloudfront_reads_only_renditions(template):
    bucket = resource(template, "ImagesBucket")
    assert all(bucket["PublicAccessBlockConfiguration"].values())
    _deny, delivery = resource(template, "ImagesBucketPolicy")["PolicyDocument"]["Statement"]
    condition, statement, otherwise = delivery["Fn::If"]
    assert condition == "HasRenderer" and otherwise == {"Ref": "AWS::NoValue"}
    assert statement["Principal"] == {"Service": "cloudfront.amazonaws.com"}
    assert statement["Action"] == "s3:GetObject"  # no ListBucket: a missing object is a 403, which fails over
    assert statement["Resource"] == {"Fn::Sub": "${ImagesBucket.Arn}/" + keys.PROCESSED + "*"}
    assert "DeliveryDistribution" in statement["Condition"]["StringEquals"]["AWS:SourceArn"]["Fn::Sub"]


def test_origin_access_control_signs_every_request_to_both_origins(template):
    for name, kind in (("DeliveryBucketAccess", "s3"), ("DeliveryRendererAccess", "lambda")):
        oac = resource(template, name)["OriginAccessControlConfig"]
        assert (oac["OriginAccessControlOriginType"], oac["SigningBehavior"], oac["SigningProtocol"]) == (
            kind, "always", "sigv4")
    assert resource(template, "RendererUrl")["AuthType"] == "AWS_IAM"
    permission = resource(template, "RendererUrlPermission")
    assert (permission["Action"], permission["Principal"]) == ("lambda:InvokeFunctionUrl", "cloudfront.amazonaws.com")


def test_a_miss_in_the_bucket_fails_over_to_the_renderer(template):
    config = resource(template, "DeliveryDistribution")["DistributionConfig"]
    origins = {o["Id"]: o for o in config["Origins"]}
    assert origins["stored"]["OriginAccessControlId"] == {"Fn::GetAtt": ["DeliveryBucketAccess", "Id"]}
    assert origins["stored"]["S3OriginConfig"] == {"OriginAccessIdentity": ""}  # OAC, not OAI
    assert origins["renderer"]["OriginAccessControlId"] == {"Fn::GetAtt": ["DeliveryRendererAccess", "Id"]}
    assert all(o["OriginShield"]["Enabled"] for o in origins.values())
    [group] = config["OriginGroups"]["Items"]
    assert [m["OriginId"] for m in group["Members"]["Items"]] == ["stored", "renderer"]
    assert group["FailoverCriteria"]["StatusCodes"]["Items"] == [403, 404]
    behaviour = config["DefaultCacheBehavior"]
    assert behaviour["TargetOriginId"] == group["Id"]
    assert behaviour["Compress"] is False
    assert behaviour["AllowedMethods"] == ["GET", "HEAD"]
    [function] = behaviour["FunctionAssociations"]
    assert function["EventType"] == "viewer-request"


def test_the_cache_key_is_the_url_alone_and_the_edge_ttl_bounds_deletion(template):
    policy = resource(template, "DeliveryCachePolicy")["CachePolicyConfig"]
    key = policy["ParametersInCacheKeyAndForwardedToOrigin"]
    assert key["EnableAcceptEncodingGzip"] is key["EnableAcceptEncodingBrotli"] is False
    assert key["HeadersConfig"] == {"HeaderBehavior": "none"}
    assert key["CookiesConfig"] == {"CookieBehavior": "none"}
    assert key["QueryStringsConfig"] == {"QueryStringBehavior": "none"}
    assert policy["MaxTTL"] == {"Ref": "EdgeMaxTtl"}
    assert template["Parameters"]["EdgeMaxTtl"]["Default"] == 86400
    forwarded = resource(template, "DeliveryOriginRequestPolicy")["OriginRequestPolicyConfig"]["HeadersConfig"]
    assert forwarded["Headers"] == ["x-imgstore-path", "x-imgstore-client"]


def test_the_edge_answers_cors_for_the_origins_the_bucket_allows_and_nothing_more(template):
    cors = resource(template, "DeliveryResponseHeaders")["ResponseHeadersPolicyConfig"]["CorsConfig"]
    (bucket_rule,) = resource(template, "ImagesBucket")["CorsConfiguration"]["CorsRules"]
    assert cors["AccessControlAllowOrigins"]["Items"] == bucket_rule["AllowedOrigins"]
    assert cors["AccessControlAllowMethods"]["Items"] == ["GET", "HEAD"] and cors["AccessControlAllowCredentials"] is False
    behaviour = resource(template, "DeliveryDistribution")["DistributionConfig"]["DefaultCacheBehavior"]
    assert behaviour["ResponseHeadersPolicyId"] == {"Ref": "DeliveryResponseHeaders"}


def test_the_function_runs_on_cloudfront_js_2_with_its_key_store(template):
    config = resource(template, "DeliveryViewerRequest")["FunctionConfig"]
    assert config["Runtime"] == "cloudfront-js-2.0"
    assert config["KeyValueStoreAssociations"] == [{"KeyValueStoreARN": {"Fn::GetAtt": ["DeliveryKeyStore", "Arn"]}}]


# -- the viewer-request function, run under node -------------------------------------

NODE = shutil.which("node")
HARNESS = """
const KEYS = %(keys)s;
const cf = {kvs: function (id) { return {get: async function (k) {
  if (!(k in KEYS)) { throw new Error('key not found'); } return KEYS[k]; }}; }};
Date.now = function () { return %(now)d * 1000; };
%(code)s
handler(%(event)s).then(function (r) { console.log(JSON.stringify(r)); });
"""


def _run(template, uri: str, accept: str | None = None, now: int = 1_000) -> dict:
    code = resource(template, "DeliveryViewerRequest")["FunctionCode"]["Fn::Sub"]
    code = code.replace("${DeliveryKeyStore.Id}", "kvs-id").replace("import cf from 'cloudfront';", "")
    headers = {"accept": {"value": accept}} if accept is not None else {}
    event = {"request": {"method": "GET", "uri": uri, "querystring": {"width": {"value": "9"}}, "headers": headers}}
    script = HARNESS % {"keys": json.dumps(KEYS.keys), "now": now, "code": code, "event": json.dumps(event)}
    done = subprocess.run([NODE, "-e", script], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


pytestmark_node = pytest.mark.skipif(NODE is None, reason="node is needed to run the CloudFront function")


@pytestmark_node
@pytest.mark.parametrize(("accept", "client"), [
    ("image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8", "avif"),  # Chromium
    ("image/webp,image/png,image/svg+xml,image/*;q=0.8,video/*;q=0.8,*/*;q=0.5", "webp"),  # Safari 15
    ("image/png,image/*;q=0.8,*/*;q=0.5", "basic"),
    ("image/avif;q=0,image/webp", "webp"),
    (None, "basic"),
])
def test_the_edge_verifies_and_maps_the_url_to_its_stored_object(template, accept, client):
    path = signing.sign(KEYS, IMAGE, 7, Options(640))
    request = _run(template, path, accept)
    assert request["uri"] == "/" + keys.rendition_key(IMAGE, 7, "w640-inside-auto", client)
    assert request["headers"]["x-imgstore-path"] == {"value": path}
    assert request["headers"]["x-imgstore-client"] == {"value": client}
    assert "accept" not in request["headers"] and request["querystring"] == {}


@pytestmark_node
def test_the_edge_keys_an_asked_format_on_nothing_about_the_client(template):
    path = signing.sign(KEYS, IMAGE, 7, Options(640, format="webp"))
    assert _run(template, path, "image/avif")["uri"] == "/" + keys.rendition_key(IMAGE, 7, "w640-inside-webp", "any")


@pytestmark_node
@pytest.mark.parametrize("tamper", ["options", "version", "key id", "signature", "suffix", "old key", "expired"])
def test_the_edge_refuses_what_does_not_verify(template, tamper):
    path = signing.sign(KEYS, IMAGE, 7, Options(640))
    now = 1_000
    if tamper == "options":
        path = path.replace("w640", "w641")
    elif tamper == "version":
        path = path.replace("/7/", "/8/")
    elif tamper == "key id":
        path = path.replace("/k2.", "/k1.")
    elif tamper == "signature":
        path = path[:-1] + ("A" if path[-1] != "A" else "B")
    elif tamper == "suffix":
        path += "/"
    elif tamper == "old key":
        path = signing.sign(Keyring("k0", {"k0": "retired"}), IMAGE, 7, Options(640))
    else:
        path, now = signing.sign(KEYS, IMAGE, 7, Options(640), expires=2_000), 2_000
    answer = _run(template, path, now=now)
    assert answer["statusCode"] == 403 and "uri" not in answer


@pytestmark_node
def test_the_edge_accepts_a_url_before_its_expiry_and_a_key_being_rotated_out(template):
    assert _run(template, signing.sign(KEYS, IMAGE, 7, Options(640), expires=2_000), now=1_999)["uri"]
    old = signing.sign(Keyring("k1", {"k1": "first secret"}), IMAGE, 7, Options(640))
    assert _run(template, old)["uri"].startswith(f"/processed/{IMAGE}/")
