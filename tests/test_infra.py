"""infra/resources.yaml: lint-clean, and the bucket and table the code expects."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from chalicelib import config
from chalicelib.domain import keys
from scripts import deploy, policies
from scripts.bootstrap import INCOMPLETE_UPLOAD_DAYS, TTL_ATTRIBUTE, cors_rules, lifecycle_rules, table_definition

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "infra" / "resources.yaml"
CFN_LINT = str(Path(sys.executable).parent / "cfn-lint")


@pytest.fixture(scope="module")
def template() -> dict:
    from cfnlint.decode import decode

    parsed, problems = decode(str(TEMPLATE))
    assert not problems, problems
    return parsed


def resource(template, name: str) -> dict:
    return template["Resources"][name]["Properties"]


def test_cfn_lint_passes():
    result = subprocess.run([CFN_LINT, "--", str(TEMPLATE)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_cfn_lint_would_catch_a_broken_template(tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text(TEMPLATE.read_text().replace("BillingMode: PAY_PER_REQUEST", "BillingMode: FREE_OF_CHARGE"))
    result = subprocess.run([CFN_LINT, "--", str(broken)], capture_output=True, text=True)
    assert result.returncode != 0 and "FREE_OF_CHARGE" in result.stdout


def _sorted(items, key):
    return sorted(items, key=lambda i: i[key])


def test_the_table_matches_the_schema_the_code_creates(template):
    table = resource(template, "ImagesTable")
    expected = table_definition("ignored")
    assert table["BillingMode"] == expected["BillingMode"] == "PAY_PER_REQUEST"
    assert table["KeySchema"] == expected["KeySchema"]
    assert _sorted(table["AttributeDefinitions"], "AttributeName") == \
        _sorted(expected["AttributeDefinitions"], "AttributeName")
    assert _sorted(table["GlobalSecondaryIndexes"], "IndexName") == \
        _sorted(expected["GlobalSecondaryIndexes"], "IndexName")


def test_the_table_has_point_in_time_recovery_and_a_ttl(template):
    table = resource(template, "ImagesTable")
    assert table["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert table["TimeToLiveSpecification"] == {"AttributeName": TTL_ATTRIBUTE, "Enabled": True}


def test_the_bucket_is_private_encrypted_and_aborts_stale_multipart_uploads(template):
    bucket = resource(template, "ImagesBucket")
    assert bucket["PublicAccessBlockConfiguration"] == dict.fromkeys(
        ["BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"], True)
    assert bucket["OwnershipControls"]["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    [rule] = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] in ("AES256", "aws:kms")
    lifecycle, _quarantine = bucket["LifecycleConfiguration"]["Rules"]
    assert lifecycle["Status"] == "Enabled"
    assert lifecycle["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": {"Ref": "IncompleteUploadDays"}}
    deny, delivery = resource(template, "ImagesBucketPolicy")["PolicyDocument"]["Statement"]
    assert deny["Effect"] == "Deny" and deny["Condition"] == {"Bool": {"aws:SecureTransport": False}}
    assert delivery["Fn::If"][0] == "HasRenderer"  # the CDN's read of renditions (tests/test_infra_delivery.py)


def test_the_bucket_expires_the_quarantine_as_the_local_stack_does(template):
    rules = {r["Id"]: r for r in resource(template, "ImagesBucket")["LifecycleConfiguration"]["Rules"]}
    local = {r["ID"]: r for r in lifecycle_rules(config.QUARANTINE_DAYS)["Rules"]}
    assert set(rules) == set(local) == {"abort-incomplete-multipart-uploads", "expire-quarantine"}
    quarantine = rules["expire-quarantine"]
    assert quarantine["Status"] == local["expire-quarantine"]["Status"] == "Enabled"
    assert quarantine["Prefix"] == local["expire-quarantine"]["Filter"]["Prefix"] == keys.QUARANTINE
    assert quarantine["ExpirationInDays"] == {"Ref": "QuarantineDays"}
    # The parameter's default is the configuration's, and the local rule's days come from it.
    assert template["Parameters"]["QuarantineDays"]["Default"] == config.QUARANTINE_DAYS
    assert config.load({"IMAGES_BUCKET": "b", "IMAGES_TABLE": "t"}).quarantine_days == config.QUARANTINE_DAYS
    assert local["expire-quarantine"]["Expiration"] == {"Days": config.QUARANTINE_DAYS}
    assert template["Parameters"]["IncompleteUploadDays"]["Default"] == INCOMPLETE_UPLOAD_DAYS
    assert local["abort-incomplete-multipart-uploads"]["AbortIncompleteMultipartUpload"] == {
        "DaysAfterInitiation": INCOMPLETE_UPLOAD_DAYS}
    # Nothing the handlers subscribe to lies under it.
    assert not keys.QUARANTINE.startswith(keys.UPLOADS)


def test_the_failed_events_queue_is_the_one_the_policies_name(template):
    queue = resource(template, "FailedEventsQueue")
    assert queue["QueueName"] == {"Fn::Sub": "imgstore-${Stage}-failed-events"}
    assert policies.failed_events_queue("prod") == "imgstore-prod-failed-events"
    assert queue["MessageRetentionPeriod"] == 14 * 86400
    assert template["Outputs"]["FailedEventsQueueArn"]["Value"] == {"Fn::GetAtt": ["FailedEventsQueue", "Arn"]}


def test_the_bucket_cors_rules_are_the_local_ones_with_the_origins_from_a_parameter(template):
    [rule] = resource(template, "ImagesBucket")["CorsConfiguration"]["CorsRules"]
    # The listed origins, plus the web app's own once make deploy knows it.
    assert rule["AllowedOrigins"] == {"Fn::If": [
        "HasAppOrigin",
        {"Fn::Split": [",", {"Fn::Join": [",", [{"Fn::Join": [",", {"Ref": "CorsAllowOrigins"}]}, {"Ref": "AppOrigin"}]]}]},
        {"Ref": "CorsAllowOrigins"}]}
    assert template["Conditions"]["HasAppOrigin"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "AppOrigin"}, ""]}]}
    assert template["Parameters"]["CorsAllowOrigins"]["Type"] == "CommaDelimitedList"
    assert template["Parameters"]["AppOrigin"]["Default"] == ""
    [local] = cors_rules(["https://a.example"])["CORSRules"]
    assert set(rule["AllowedMethods"]) == set(local["AllowedMethods"]) >= {"POST", "PUT"}
    assert rule["AllowedHeaders"] == local["AllowedHeaders"]
    assert rule["ExposedHeaders"] == local["ExposeHeaders"]


def test_auth_resources_follow_the_mode(template):
    assert template["Resources"]["TokenSecret"]["Condition"] == "UseToken"
    assert {template["Resources"][r]["Condition"] for r in ("UserPool", "UserPoolClient", "AdminsGroup")} == {
        "UseCognito"}
    assert template["Parameters"]["AuthMode"]["AllowedValues"] == ["none", "token", "cognito"]
    secret = resource(template, "TokenSecret")
    assert secret["Name"] == {"Fn::Sub": "imgstore-${Stage}-auth-token"}  # what the policies name


def test_every_stage_gets_a_random_signing_secret_whatever_its_auth_mode(template):
    signing = template["Resources"]["SigningSecret"]
    assert "Condition" not in signing and signing["Type"] == "AWS::SecretsManager::Secret"
    assert signing["Properties"]["Name"] == {"Fn::Sub": "imgstore-${Stage}-signing"}  # what the policies name
    assert signing["Properties"]["GenerateSecretString"]["PasswordLength"] >= 32  # random, not derivable
    assert template["Outputs"]["SigningSecretArn"] == {"Value": {"Ref": "SigningSecret"}}


def test_the_outputs_are_the_ones_the_deploy_script_reads(template):
    outputs = set(template["Outputs"])
    assert {"BucketName", "TableName", "TokenSecretArn", "UserPoolArn", "SigningSecretArn"} <= outputs
    fake = {name: f"value-of-{name}" for name in outputs}
    for mode in ("none", "token", "cognito"):
        assert deploy.stage_variables(fake, mode, "*")["SIGNING_SECRET_ARN"] == "value-of-SigningSecretArn"
    assert deploy.stage_variables(fake, "token", "*")["AUTH_TOKEN_SECRET_ARN"] == "value-of-TokenSecretArn"
    assert deploy.stage_variables(fake, "cognito", "*")["USER_POOL_ARN"] == "value-of-UserPoolArn"
    assert template["Resources"]["ImagesTable"]["Properties"]["TableName"] == {"Fn::Sub": "imgstore-${Stage}-images"}
