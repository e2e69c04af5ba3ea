"""scripts/bootstrap.py creates a stage's resources once and leaves them right."""
from chalicelib import config
from scripts.bootstrap import bootstrap, lifecycle_rules, stage_environment, table_definition
from tests.conftest import BUCKET, ENV, TABLE


def test_stages_name_their_resources():
    for stage in ("dev", "prod"):
        env = stage_environment(stage)
        assert env["IMAGES_BUCKET"] and env["IMAGES_TABLE"]
        assert env["MAX_UPLOAD_BYTES"] == str(25 * 1024 * 1024)


def test_running_again_changes_nothing(aws, s3, ddb):  # the fixture already ran it once
    before = ddb.describe_table(TableName=TABLE)["Table"]
    assert bootstrap(ENV) == {"bucket": "exists", "table": "exists"}
    after = ddb.describe_table(TableName=TABLE)["Table"]
    assert before["CreationDateTime"] == after["CreationDateTime"]


def test_bucket_is_private_encrypted_and_allows_browser_uploads(s3):
    block = s3.get_public_access_block(Bucket=BUCKET)["PublicAccessBlockConfiguration"]
    assert all(block.values()) and len(block) == 4
    rules = s3.get_bucket_encryption(Bucket=BUCKET)["ServerSideEncryptionConfiguration"]["Rules"]
    assert rules[0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    cors = s3.get_bucket_cors(Bucket=BUCKET)["CORSRules"][0]
    assert {"POST", "PUT", "GET"} <= set(cors["AllowedMethods"])
    assert cors["AllowedOrigins"] == ENV["CORS_ALLOW_ORIGINS"].split(",")


def test_bucket_expires_the_quarantine_after_the_configured_days(s3, monkeypatch):
    rules = {r["ID"]: r for r in s3.get_bucket_lifecycle_configuration(Bucket=BUCKET)["Rules"]}
    assert rules["expire-quarantine"]["Filter"] == {"Prefix": "quarantine/"}
    assert rules["expire-quarantine"]["Expiration"]["Days"] == config.QUARANTINE_DAYS == 30
    assert rules["abort-incomplete-multipart-uploads"]["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 1}
    bootstrap({**ENV, "QUARANTINE_DAYS": "9"})
    rules = {r["ID"]: r for r in s3.get_bucket_lifecycle_configuration(Bucket=BUCKET)["Rules"]}
    assert rules["expire-quarantine"]["Expiration"]["Days"] == 9
    assert len(rules) == len(lifecycle_rules(9)["Rules"]) == 2


def test_table_has_the_indexes_the_store_queries_and_a_ttl(ddb):
    table = ddb.describe_table(TableName=TABLE)["Table"]
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert sorted(i["IndexName"] for i in table["GlobalSecondaryIndexes"]) == ["lists1", "lists2", "lists3", "lists4"]
    assert all(i["Projection"]["ProjectionType"] == "KEYS_ONLY" for i in table["GlobalSecondaryIndexes"])
    ttl = ddb.describe_time_to_live(TableName=TABLE)["TimeToLiveDescription"]
    assert ttl["TimeToLiveStatus"] == "ENABLED" and ttl["AttributeName"] == "expires_at"
    defined = table_definition(TABLE)["GlobalSecondaryIndexes"]
    assert [i["KeySchema"] for i in defined] == [
        next(t["KeySchema"] for t in table["GlobalSecondaryIndexes"] if t["IndexName"] == i["IndexName"])
        for i in defined]
