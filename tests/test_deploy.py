"""make deploy / make destroy and their scripts, as far as they run without an
AWS account: moto stands in for CloudFormation (which it implements only in
part: the table and bucket, not their CORS, lifecycle, TTL, secret or user
pool), API Gateway and S3; the Makefile recipes are dry-run and shellchecked.
"""
from __future__ import annotations

import fnmatch
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from chalicelib import auth
from scripts import deploy
from scripts import tokens as token_script

ROOT = Path(__file__).resolve().parent.parent
SHELLCHECK = str(Path(sys.executable).parent / "shellcheck")


@pytest.fixture
def project(tmp_path) -> Path:
    (tmp_path / ".chalice").mkdir()
    shutil.copy(ROOT / ".chalice" / "config.json", tmp_path / ".chalice" / "config.json")
    return tmp_path


def stage_env(project: Path, stage: str) -> dict:
    return json.loads((project / ".chalice" / "config.json").read_text())["stages"][stage]["environment_variables"]


def test_stack_outputs_become_the_stages_variables(project):
    config = project / ".chalice" / "config.json"
    outputs = {"BucketName": "b-123", "TableName": "t", "UserPoolArn": "arn:pool", "TokenSecretArn": "arn:secret",
               "SigningSecretArn": "arn:signing"}
    deploy.write_stage_variables("prod", deploy.stage_variables(outputs, "cognito", "https://a.example"), config)
    env = stage_env(project, "prod")
    assert env["IMAGES_BUCKET"] == "b-123" and env["IMAGES_TABLE"] == "t"
    assert env["AUTH_MODE"] == "cognito" and env["USER_POOL_ARN"] == "arn:pool"
    assert "AUTH_TOKEN_SECRET_ARN" not in env  # the other mode's variable is dropped
    assert env["SIGNING_SECRET_ARN"] == "arn:signing"
    assert env["POWERTOOLS_SERVICE_NAME"] == "imgstore-prod"  # others are kept
    assert stage_env(project, "dev") == stage_env(ROOT, "dev")


def with_the_signing_secret(deploy_stack):
    """moto's CloudFormation skips AWS::SecretsManager::Secret: make the one the
    template declares (tests/test_infra.py checks it), as CloudFormation would."""
    import secrets

    import boto3

    def deploy_with_secret(cloudformation, stage, parameters):
        outputs = deploy_stack(cloudformation, stage, parameters)
        sm = boto3.client("secretsmanager")
        name = f"imgstore-{stage}-signing"
        found = [s["ARN"] for s in sm.list_secrets()["SecretList"] if s["Name"] == name]
        arn = found[0] if found else sm.create_secret(Name=name, SecretString=secrets.token_urlsafe(48))["ARN"]
        return {**outputs, "SigningSecretArn": arn}

    return deploy_with_secret


@pytest.mark.filterwarnings("ignore::UserWarning")  # moto: "AWS::S3::BucketPolicy not supported"
def test_resources_then_destroy_round_trip_in_moto(aws, project, monkeypatch):
    import boto3

    monkeypatch.setattr(deploy, "deploy_stack", with_the_signing_secret(deploy.deploy_stack))
    config = project / ".chalice" / "config.json"
    variables = deploy.resources("prod", "none", "https://a.example, https://b.example", path=config)
    env = stage_env(project, "prod")
    assert env["IMAGES_BUCKET"] == "imgstore-prod-images-123456789012-us-east-1" == variables["IMAGES_BUCKET"]
    assert env["IMAGES_TABLE"] == "imgstore-prod-images" and env["AUTH_MODE"] == "none"
    assert env["CORS_ALLOW_ORIGINS"] == "https://a.example,https://b.example"
    assert "AUTH_TOKEN_SECRET_ARN" not in env
    # The signing secret: provisioned random in Secrets Manager, named in the stage, readable by the API.
    sm = boto3.client("secretsmanager")
    arn = env["SIGNING_SECRET_ARN"]
    signing = sm.get_secret_value(SecretId=arn)["SecretString"]
    assert len(signing) >= 32 and signing != f"imgstore-local:{env['IMAGES_TABLE']}"
    assert sm.describe_secret(SecretId=arn)["Name"] == "imgstore-prod-signing"
    from scripts import policies
    from tests import iam

    api_policy = policies.policy("prod", "api_handler", env)
    assert iam.used_grants(api_policy, iam.Need("secretsmanager:GetSecretValue", arn))

    s3, ddb = boto3.client("s3"), boto3.client("dynamodb")
    table = ddb.describe_table(TableName="imgstore-prod-images")["Table"]
    assert sorted(i["IndexName"] for i in table["GlobalSecondaryIndexes"]) == ["lists1", "lists2", "lists3", "lists4"]
    for n in range(3):
        s3.put_object(Bucket=env["IMAGES_BUCKET"], Key=f"uploads/a/{n}.jpg", Body=b"x")
    assert deploy.resources("prod", None, None, path=config)["AUTH_MODE"] == "none"  # an update changes nothing

    boto3.client("logs").create_log_group(logGroupName="/aws/lambda/imgstore-prod-on_upload")
    deploy.destroy("prod")
    assert [s for s in sm.list_secrets()["SecretList"] if s["Name"] == "imgstore-prod-signing"] == []
    names = [b["Name"] for b in s3.list_buckets()["Buckets"]]
    assert env["IMAGES_BUCKET"] not in names
    assert "imgstore-prod-images" not in ddb.list_tables()["TableNames"]
    assert boto3.client("logs").describe_log_groups(logGroupNamePrefix="/aws/lambda/imgstore-prod")["logGroups"] == []
    deploy.destroy("prod")  # nothing left: still fine


@pytest.mark.filterwarnings("ignore::UserWarning")  # moto: "AWS::S3::BucketPolicy not supported"
def test_the_quarantine_days_and_the_failed_events_queue_reach_aws(aws, project, monkeypatch):
    """The stage's QUARANTINE_DAYS becomes the lifecycle rule's parameter, and after
    chalice deploy both S3 handlers send what still fails after two retries to the
    stack's queue, which their policies let them write to."""
    import boto3

    monkeypatch.setattr(deploy, "deploy_stack", with_the_signing_secret(deploy.deploy_stack))

    config = project / ".chalice" / "config.json"
    data = json.loads(config.read_text())
    data["stages"]["prod"]["environment_variables"]["QUARANTINE_DAYS"] = "7"
    config.write_text(json.dumps(data))
    deploy.resources("prod", "none", "https://a.example", path=config)
    cloudformation = boto3.client("cloudformation")
    stack = cloudformation.describe_stacks(StackName="imgstore-prod-resources")["Stacks"][0]
    assert {p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"]}["QuarantineDays"] == "7"
    queue = deploy.stack_outputs(cloudformation, "prod")["FailedEventsQueueArn"]
    assert queue.endswith(":imgstore-prod-failed-events")

    lambda_ = boto3.client("lambda")
    role = boto3.client("iam").create_role(RoleName="imgstore-prod", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    for name in ("imgstore-prod", "imgstore-prod-on_upload", "imgstore-prod-on_delete"):
        lambda_.create_function(FunctionName=name, Runtime="python3.13", Role=role, Handler="app.app",
                                Code={"ZipFile": b"PK\x05\x06" + b"\0" * 18})
    assert deploy.destinations("prod") == queue
    for function in ("on_upload", "on_delete"):
        config_ = lambda_.get_function_event_invoke_config(FunctionName=f"imgstore-prod-{function}")
        assert config_["MaximumRetryAttempts"] == 2
        assert config_["DestinationConfig"]["OnFailure"]["Destination"] == queue
        policy = json.loads((ROOT / ".chalice" / f"policy-prod-{function}.json").read_text())
        [statement] = [s for s in policy["Statement"] if s["Sid"] == "FailedEvents"]
        assert statement["Action"] == ["sqs:SendMessage"]
        assert fnmatch.fnmatchcase(queue, statement["Resource"])
    with pytest.raises(Exception, match="ResourceNotFound|not found|does not exist"):
        lambda_.get_function_event_invoke_config(FunctionName="imgstore-prod")  # the API is not invoked by S3


def test_resources_needs_origins(project):
    config = project / ".chalice" / "config.json"
    data = json.loads(config.read_text())
    del data["stages"]["prod"]["environment_variables"]["CORS_ALLOW_ORIGINS"]
    config.write_text(json.dumps(data))
    with pytest.raises(SystemExit, match="CORS_ALLOW_ORIGINS"):
        deploy.resources("prod", None, None, path=config)


@pytest.mark.parametrize("origins, header", [
    ("https://a.example", "'https://a.example'"),
    ("*", "'*'"),
    ("https://a.example,https://b.example", "method.request.header.origin"),
])
def test_gateway_errors_get_json_bodies_and_cors(origins, header):
    shape = deploy.gateway_response(origins)
    assert shape["responseParameters"]["gatewayresponse.header.Access-Control-Allow-Origin"] == header
    template = shape["responseTemplates"]["application/json"]
    assert template == '{"error": $context.error.messageString}'
    # messageString is already a quoted JSON string: the body parses once filled in.
    assert json.loads(template.replace("$context.error.messageString", '"Unauthorized"')) == {"error": "Unauthorized"}


def test_gateway_sets_every_response_and_redeploys(aws, project):
    import boto3

    api = boto3.client("apigateway")
    api_id = api.create_rest_api(name="imgstore")["id"]
    root = api.get_resources(restApiId=api_id)["items"][0]["id"]
    api.put_method(restApiId=api_id, resourceId=root, httpMethod="GET", authorizationType="NONE")
    api.put_integration(restApiId=api_id, resourceId=root, httpMethod="GET", type="MOCK")
    deployed = project / ".chalice" / "deployed"
    deployed.mkdir()
    (deployed / "prod.json").write_text(json.dumps({"resources": [
        {"name": "api_handler", "resource_type": "lambda_function"},
        {"name": "rest_api", "resource_type": "rest_api", "rest_api_id": api_id}]}))
    assert deploy.gateway("prod", project=project) == api_id
    for kind in deploy.GATEWAY_RESPONSES:
        response = api.get_gateway_response(restApiId=api_id, responseType=kind)
        assert response["responseTemplates"]["application/json"].startswith('{"error"')
        assert response["responseParameters"]["gatewayresponse.header.Access-Control-Allow-Origin"] == \
            "'https://example.com'"
    assert [d["description"] for d in api.get_deployments(restApiId=api_id)["items"]] == [
        "imgstore gateway responses"]


def test_gateway_needs_a_chalice_deployment(project):
    with pytest.raises(SystemExit, match="run chalice deploy"):
        deploy.gateway("prod", project=project)


def test_destroy_asks_for_the_stage_name():
    with pytest.raises(SystemExit, match="not confirmed"):
        deploy.confirm("prod", "yes")
    deploy.confirm("prod", "prod")


def _make(*args: str) -> list[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAKE")}
    out = subprocess.run(["make", "-n", "-C", str(ROOT), *args], capture_output=True, text=True, check=True, env=env)
    return [line for line in out.stdout.splitlines() if "scripts/" in line or "chalice " in line]


def _shellcheck(commands: list[str]) -> None:
    script = "#!/usr/bin/env bash\nset -euo pipefail\n" + "\n".join(commands) + "\n"
    result = subprocess.run([SHELLCHECK, "-s", "bash", "-"], input=script, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


def test_make_deploy_runs_the_stack_then_chalice_then_the_gateway_destinations_web_app_and_delivery():
    commands = _make("deploy", "STAGE=prod", "AUTH_MODE=cognito", "CORS_ALLOW_ORIGINS=https://a.example,https://b.example")
    assert [c.split(".venv/bin/")[1].split(" --stage")[0] for c in commands] == [
        "python scripts/deploy.py resources", "chalice deploy", "python scripts/deploy.py gateway",
        "python scripts/deploy.py destinations", "python scripts/deploy.py web",
        # the distribution exists from the web step on: its keys at the edge, its domain in the functions
        "python scripts/deploy.py delivery", "chalice deploy"]
    assert "--auth-mode 'cognito' --origins 'https://a.example,https://b.example'" in commands[0]
    assert all("--stage prod" in c for c in commands)
    _shellcheck(commands)


def test_make_destroy_confirms_then_deletes_the_app_before_its_resources():
    commands = _make("destroy", "STAGE=prod", "CONFIRM=prod")
    assert "deploy.py confirm --stage prod --answer 'prod'" in commands[0]
    assert "chalice delete --stage prod" in commands[1] and commands[1].startswith("if [ -f .chalice/deployed/prod.json ]")
    assert "deploy.py destroy --stage prod" in commands[2]
    _shellcheck(commands)


def test_shellcheck_finds_real_problems():
    with pytest.raises(AssertionError):
        _shellcheck(["rm -rf $DIR/*"])


# -- scripts/tokens.py ---------------------------------------------------------------

@pytest.mark.parametrize("text, seconds", [("90", 90), ("45m", 2700), ("12h", 43200), ("7d", 604800), ("2w", 1209600)])
def test_token_lifetimes(text, seconds):
    assert token_script.ttl_seconds(text) == seconds


@pytest.mark.parametrize("text", ["0", "7y", "-1d", "", "d"])
def test_bad_token_lifetimes(text):
    with pytest.raises(Exception, match="not a lifetime"):
        token_script.ttl_seconds(text)


def test_token_script_issues_tokens_the_authorizer_accepts():
    secret = "cli-secret-" + "x" * 32
    env = {**os.environ, "AUTH_TOKEN_SECRET": secret}
    run = [sys.executable, str(ROOT / "scripts" / "tokens.py")]
    created = subprocess.run(run + ["create", "alice", "--admin", "--ttl", "7d"], env=env,
                             capture_output=True, text=True, check=True).stdout.strip()
    claims = auth.verify_token(f"Bearer {created}", secret)
    assert claims["sub"] == "alice" and claims["adm"] is True and claims["exp"] - claims["iat"] == 7 * 86400
    shown = subprocess.run(run + ["verify", created], env=env, capture_output=True, text=True, check=True)
    assert json.loads(shown.stdout)["sub"] == "alice"
    refused = subprocess.run(run + ["create", "../etc"], env=env, capture_output=True, text=True)
    assert refused.returncode == 1 and "user name" in refused.stderr
    missing = subprocess.run(run + ["create", "alice"], env={k: v for k, v in env.items() if k != "AUTH_TOKEN_SECRET"},
                             capture_output=True, text=True)
    assert missing.returncode == 1 and "AUTH_TOKEN_SECRET" in missing.stderr


def test_token_script_reads_a_deployed_stages_secret_from_secrets_manager(aws, monkeypatch):
    import boto3

    arn = boto3.client("secretsmanager").create_secret(Name="imgstore-prod-auth-token", SecretString="z" * 40)["ARN"]
    monkeypatch.setattr(token_script, "stage_environment", lambda stage: {"AUTH_TOKEN_SECRET_ARN": arn})
    monkeypatch.delenv("AUTH_TOKEN_SECRET", raising=False)
    auth.reset()
    assert token_script.secret_for("prod") == "z" * 40


# -- the web app's origin in the bucket's CORS ------------------------------------

def _deployed(project: Path, stage: str, **rest_api) -> None:
    deployed = project / ".chalice" / "deployed"
    deployed.mkdir(exist_ok=True)
    (deployed / f"{stage}.json").write_text(json.dumps({"resources": [
        {"name": "api_handler", "resource_type": "lambda_function"},
        {"name": "rest_api", "resource_type": "rest_api", **rest_api}]}))


def test_the_app_url_is_the_apis_or_its_custom_domain(project):
    assert deploy.app_url("prod", project) is None  # not deployed yet
    _deployed(project, "prod", rest_api_id="abc123", rest_api_url="https://abc123.execute-api.eu-west-1.amazonaws.com/api/")
    assert deploy.app_url("prod", project) == "https://abc123.execute-api.eu-west-1.amazonaws.com/api/"
    assert deploy.origin_of(deploy.app_url("prod", project)) == "https://abc123.execute-api.eu-west-1.amazonaws.com"
    _deployed(project, "prod", rest_api_id="abc123")  # an older record without the URL
    assert deploy.app_url("prod", project, "us-west-2") == "https://abc123.execute-api.us-west-2.amazonaws.com/api/"
    config = project / ".chalice" / "config.json"
    data = json.loads(config.read_text())
    data["stages"]["prod"]["api_gateway_custom_domain"] = {"domain_name": "images.example.com", "certificate_arn": "x"}
    config.write_text(json.dumps(data))
    assert deploy.app_url("prod", project) == "https://images.example.com/"
    assert deploy.origin_of(None) == ""


def _stack_parameters() -> dict:
    import boto3

    stack = boto3.client("cloudformation").describe_stacks(StackName="imgstore-prod-resources")["Stacks"][0]
    return {p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"]}


@pytest.mark.filterwarnings("ignore::UserWarning")  # moto: "AWS::S3::BucketPolicy not supported"
def test_make_deploy_lets_the_web_app_upload(aws, project, monkeypatch):
    """The web step gives the stack the app's origin; later deploys keep it."""
    monkeypatch.setattr(deploy, "deploy_stack", with_the_signing_secret(deploy.deploy_stack))
    config = project / ".chalice" / "config.json"
    deploy.resources("prod", "none", "https://a.example", path=config)  # moto has no secret for token mode
    assert _stack_parameters()["AppOrigin"] == ""  # no API yet: nothing to allow
    with pytest.raises(SystemExit, match="run chalice deploy"):
        deploy.web("prod", path=config)

    _deployed(project, "prod", rest_api_id="abc123", rest_api_url="https://abc123.execute-api.us-east-1.amazonaws.com/api/")
    assert deploy.web("prod", path=config) == "https://abc123.execute-api.us-east-1.amazonaws.com/api/"
    parameters = _stack_parameters()
    assert parameters["AppOrigin"] == "https://abc123.execute-api.us-east-1.amazonaws.com"
    assert stage_env(project, "prod")["CORS_ALLOW_ORIGINS"] == "https://a.example"  # the API's list is unchanged

    deploy.resources("prod", None, None, path=config)  # the next make deploy's first step keeps it
    assert _stack_parameters()["AppOrigin"] == "https://abc123.execute-api.us-east-1.amazonaws.com"
    deploy.destroy("prod")


def test_the_delivery_outputs_become_the_stages_variables(project):
    outputs = {"BucketName": "b", "TableName": "t", "SigningSecretArn": "arn:signing",
               "DeliveryKeysSecretArn": "arn:keys", "DeliveryDomain": "d111.cloudfront.net"}
    variables = deploy.stage_variables(outputs, "none", "*")
    assert variables["DELIVERY_KEYS_ARN"] == "arn:keys"
    assert variables["DELIVERY_BASE_URL"] == "https://d111.cloudfront.net"
    first = deploy.stage_variables({k: v for k, v in outputs.items() if k != "DeliveryDomain"}, "none", "*")
    assert "DELIVERY_BASE_URL" not in first  # before the renderer exists there is no distribution


def test_the_renderer_arn_comes_from_chalices_deployment(project):
    assert deploy.renderer_arn("prod", project) == ""
    _deployed(project, "prod", rest_api_id="abc123")
    deployed = project / ".chalice" / "deployed" / "prod.json"
    record = json.loads(deployed.read_text())
    record["resources"].append({"resource_type": "lambda_function", "name": "renderer",
                                "lambda_arn": "arn:aws:lambda:us-east-1:1:function:imgstore-prod-renderer"})
    deployed.write_text(json.dumps(record))
    assert deploy.renderer_arn("prod", project) == "arn:aws:lambda:us-east-1:1:function:imgstore-prod-renderer"


class _Store:
    """cloudfront-keyvaluestore, as much as sync_keys uses."""

    def __init__(self, items):
        self.items, self.etag, self.calls = dict(items), "E1", []

    def describe_key_value_store(self, KvsARN):
        return {"ETag": self.etag}

    def list_keys(self, KvsARN):
        return {"Items": [{"Key": k, "Value": v} for k, v in self.items.items()]}

    def update_keys(self, KvsARN, IfMatch, Puts, Deletes):
        assert IfMatch == self.etag
        self.calls.append((Puts, Deletes))
        for d in Deletes:
            del self.items[d["Key"]]
        self.items.update({p["Key"]: p["Value"] for p in Puts})


def test_the_edge_gets_exactly_the_keys_of_the_secret_through_a_rotation():
    store = _Store({"k0": "retired"})
    deploy.sync_keys(store, "arn:kvs", json.dumps({"current": "k2", "k1": "one", "k2": "two"}))
    assert store.items == {"k1": "one", "k2": "two"}
    deploy.sync_keys(store, "arn:kvs", json.dumps({"current": "k2", "k2": "two"}))
    assert store.items == {"k2": "two"}


def test_the_real_keyvaluestore_client_signs_with_sigv4a_offline():
    """make deploy's key copy goes through botocore, which signs this API with SigV4A only when
    the CRT is installed: the dev requirements must bring it. The request is stopped before it
    is sent; its Authorization header shows the algorithm."""
    import boto3

    session = boto3.Session(aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="secret", region_name="us-east-1")
    kvs = session.client("cloudfront-keyvaluestore")
    signed = {}

    class Stop(Exception):
        pass

    def capture(request, **_):
        signed["authorization"] = request.headers["Authorization"].decode()
        raise Stop

    kvs.meta.events.register("before-send.cloudfront-keyvaluestore.*", capture)
    with pytest.raises(Stop):
        store = "arn:aws:cloudfront::123456789012:key-value-store/1a2b3c"
        deploy.sync_keys(kvs, store, json.dumps({"current": "k1", "k1": "x"}))
    assert signed["authorization"].startswith("AWS4-ECDSA-P256-SHA256 Credential=AKIDEXAMPLE/")


def test_the_streams_mapping_reports_batch_item_failures_and_hears_image_records_only():
    class Lambda:
        def __init__(self):
            self.updates = []

        def list_event_source_mappings(self, FunctionName):
            assert FunctionName == "imgstore-prod-on_table_change"
            return {"EventSourceMappings": [{"UUID": "u-1"}]}

        def update_event_source_mapping(self, **params):
            self.updates.append(params)

    fake = Lambda()
    assert deploy.stream_consumer(fake, "prod", "arn:aws:sqs:us-east-1:1:imgstore-prod-failed-events") == 1
    (update,) = fake.updates
    assert update["UUID"] == "u-1" and update["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert json.loads(update["FilterCriteria"]["Filters"][0]["Pattern"]) == {"dynamodb": {"Keys": {"sk": {"S": ["IMAGE"]}}}}
    assert update["DestinationConfig"] == {"OnFailure": {"Destination": "arn:aws:sqs:us-east-1:1:imgstore-prod-failed-events"}}


def test_the_events_stack_outputs_become_the_stages_variables():
    outputs = {"BucketName": "b", "TableName": "t", "SigningSecretArn": "arn:s", "EventBusName": "imgstore-prod",
               "WebhookQueueUrl": "https://q/w", "WebhookDeadLetterQueueUrl": "https://q/d",
               "WebhookKeyArn": "arn:aws:kms:k", "TableStreamArn": "arn:aws:dynamodb:stream"}
    variables = deploy.stage_variables(outputs, "none", "https://a.example")
    assert {k: variables[k] for k in deploy.EVENT_VARIABLES.values()} == {
        "EVENT_BUS": "imgstore-prod", "WEBHOOK_QUEUE": "https://q/w", "WEBHOOK_DLQ": "https://q/d",
        "WEBHOOK_KEY_ID": "arn:aws:kms:k", "TABLE_STREAM_ARN": "arn:aws:dynamodb:stream"}
