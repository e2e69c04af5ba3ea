"""Deploy and remove a stage's AWS resources around `chalice deploy`.

    python scripts/deploy.py resources --stage prod [--auth-mode token] [--origins https://a.example,...]
    python scripts/deploy.py gateway --stage prod
    python scripts/deploy.py destinations --stage prod
    python scripts/deploy.py web --stage prod
    python scripts/deploy.py delivery --stage prod
    python scripts/deploy.py destroy --stage prod [--yes]

`make deploy` runs: resources (the CloudFormation stack infra/resources.yaml,
its outputs written into the stage's environment variables in
.chalice/config.json, the IAM policies rewritten for them), `chalice deploy`,
then gateway (the JSON and CORS shape of errors API Gateway answers itself)
destinations (where the S3 handlers' events go after their last retry), then
web (the bucket's CORS rules also allow the web app's origin, the API's URL
or its custom domain, which exists only once `chalice deploy` has run; and the
delivery distribution is made in front of the bucket and the renderer, which
also exists only then), delivery (the signing keys copied into the edge's
KeyValueStore; the delivery domain printed), and `chalice deploy` once more, so
the functions know the domain (DELIVERY_BASE_URL).
`make destroy` runs `chalice delete`, then destroy (empty the bucket, delete
the stack and the functions' log groups). Credentials and region come from the
usual AWS environment (AWS_PROFILE, AWS_REGION, ...).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a file: the project's packages become importable

from chalicelib import config  # noqa: E402
from scripts import policies  # noqa: E402

TEMPLATE = ROOT / "infra" / "resources.yaml"
CONFIG = ROOT / ".chalice" / "config.json"
AUTH_VARIABLES = {"token": "AUTH_TOKEN_SECRET_ARN", "cognito": "USER_POOL_ARN"}
# Errors API Gateway answers without calling the app: a missing token (401),
# a denied or unknown route (403), throttling, payload limits, timeouts.
GATEWAY_RESPONSES = ("UNAUTHORIZED", "ACCESS_DENIED", "MISSING_AUTHENTICATION_TOKEN", "DEFAULT_4XX", "DEFAULT_5XX")
# Lambda's own default, said out loud: the first attempt and two retries.
ASYNC_RETRIES = 2
# Stack outputs the events need, and the stage variables they become (docs/events.md).
EVENT_VARIABLES = {
    "EventBusName": "EVENT_BUS",
    "WebhookQueueUrl": "WEBHOOK_QUEUE",
    "WebhookDeadLetterQueueUrl": "WEBHOOK_DLQ",
    "WebhookKeyArn": "WEBHOOK_KEY_ID",
    "TableStreamArn": "TABLE_STREAM_ARN",
}
# The stream consumer hears only image records: webhook items and delivery logs
# never invoke it (chalicelib/events/changes.py ignores them anyway).
STREAM_FILTER = {"Filters": [{"Pattern": json.dumps({"dynamodb": {"Keys": {"sk": {"S": ["IMAGE"]}}}})}]}


def stack_name(stage: str) -> str:
    return f"imgstore-{stage}-resources"


def _session():
    import boto3

    return boto3.session.Session()


def _stage_config(config: dict, stage: str) -> dict:
    if stage not in config.get("stages", {}):
        raise SystemExit(f"no stage '{stage}' in .chalice/config.json")
    return config["stages"][stage]


# -- resources ---------------------------------------------------------------------


def deploy_stack(cloudformation, stage: str, parameters: dict[str, str]) -> dict[str, str]:
    """Create or update the stage's stack, wait for it, and return its outputs."""
    from botocore.exceptions import ClientError

    name = stack_name(stage)
    request = dict(
        StackName=name,
        TemplateBody=TEMPLATE.read_text(),
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
        Tags=[{"Key": "app", "Value": "imgstore"}, {"Key": "stage", "Value": stage}],
    )
    try:
        status = cloudformation.describe_stacks(StackName=name)["Stacks"][0]["StackStatus"]
    except ClientError as exc:
        if "does not exist" not in str(exc):
            raise
        status = None
    if status == "ROLLBACK_COMPLETE":
        raise SystemExit(f"stack {name} failed to create earlier; delete it (make destroy) and retry")
    if status is None:
        print(f"creating stack {name} ...")
        cloudformation.create_stack(**request)
        cloudformation.get_waiter("stack_create_complete").wait(StackName=name)
    else:
        try:
            print(f"updating stack {name} ...")
            cloudformation.update_stack(**request)
            cloudformation.get_waiter("stack_update_complete").wait(StackName=name)
        except ClientError as exc:
            if "No updates are to be performed" not in str(exc):
                raise
            print("stack unchanged")
    stack = cloudformation.describe_stacks(StackName=name)["Stacks"][0]
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


def stage_variables(outputs: dict[str, str], auth_mode: str, origins: str) -> dict[str, str | None]:
    """The stage's environment variables the stack decides; None removes one."""
    variables: dict[str, str | None] = {
        "IMAGES_BUCKET": outputs["BucketName"],
        "IMAGES_TABLE": outputs["TableName"],
        "AUTH_MODE": auth_mode,
        "CORS_ALLOW_ORIGINS": origins,
        "SIGNING_SECRET_ARN": outputs["SigningSecretArn"],  # every mode: signs next_token
    }
    for output, name in EVENT_VARIABLES.items():  # the events' bus, queues, key and the table's stream
        if output in outputs:
            variables[name] = outputs[output]
    for _mode, name in AUTH_VARIABLES.items():
        variables[name] = None
    if auth_mode == "token":
        variables["AUTH_TOKEN_SECRET_ARN"] = outputs["TokenSecretArn"]
    if auth_mode == "cognito":
        variables["USER_POOL_ARN"] = outputs["UserPoolArn"]
    if outputs.get("DeliveryKeysSecretArn"):  # signs rendition URLs
        variables["DELIVERY_KEYS_ARN"] = outputs["DeliveryKeysSecretArn"]
    if outputs.get("DeliveryDomain"):  # where renditions are served, once the distribution exists
        variables["DELIVERY_BASE_URL"] = f"https://{outputs['DeliveryDomain']}"
    return variables


def write_stage_variables(stage: str, variables: dict[str, str | None], path: Path = CONFIG) -> None:
    config = json.loads(path.read_text())
    env = _stage_config(config, stage).setdefault("environment_variables", {})
    for name, value in variables.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    path.write_text(json.dumps(config, indent=2) + "\n")


def _shared_variables(path: Path) -> dict[str, str]:
    return json.loads(path.read_text()).get("environment_variables", {})


def app_url(stage: str, project: Path = ROOT, region: str | None = None) -> str | None:
    """Where the stage's web app is (the API's root), or None before its first
    `chalice deploy`: its custom domain when the stage has one, else the URL
    Chalice recorded for its REST API."""
    chalice_config = json.loads((project / ".chalice" / "config.json").read_text())
    domain = (_stage_config(chalice_config, stage).get("api_gateway_custom_domain") or {}).get("domain_name")
    if domain:
        return f"https://{domain}/"
    deployed = project / ".chalice" / "deployed" / f"{stage}.json"
    if not deployed.exists():
        return None
    for resource in json.loads(deployed.read_text())["resources"]:
        if resource.get("resource_type") == "rest_api":
            if resource.get("rest_api_url"):
                return resource["rest_api_url"]
            api_stage = _stage_config(chalice_config, stage).get("api_gateway_stage") or "api"
            return f"https://{resource['rest_api_id']}.execute-api.{region}.amazonaws.com/{api_stage}/"
    return None


def renderer_arn(stage: str, project: Path = ROOT) -> str:
    """The renderer Lambda's ARN from the stage's last `chalice deploy`; "" before it."""
    deployed = project / ".chalice" / "deployed" / f"{stage}.json"
    if not deployed.exists():
        return ""
    for resource in json.loads(deployed.read_text())["resources"]:
        if resource.get("resource_type") == "lambda_function" and resource.get("name") == "renderer":
            return resource.get("lambda_arn", "")
    return ""


def origin_of(url: str | None) -> str:
    """scheme://host[:port] of `url`; "" for None."""
    if not url:
        return ""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def resources(
    stage: str,
    auth_mode: str | None,
    origins: str | None,
    session=None,
    path: Path = CONFIG,
    app_origin: str | None = None,
) -> dict:
    """The stack, then the config and policies that follow from its outputs.

    The bucket's CORS rules allow `origins` and the web app's origin: given,
    or found from an earlier deployment (so a redeploy never drops it)."""
    env = _stage_config(json.loads(path.read_text()), stage).get("environment_variables", {})
    auth_mode = auth_mode or env.get("AUTH_MODE") or "token"
    origins = ",".join(o.strip() for o in (origins or env.get("CORS_ALLOW_ORIGINS") or "").split(",") if o.strip())
    if not origins:
        raise SystemExit("set the browser origins: make deploy CORS_ALLOW_ORIGINS=https://app.example (or *)")
    session = session or _session()
    if app_origin is None:
        app_origin = origin_of(app_url(stage, path.parent.parent, session.region_name))
    parameters = {
        # Once the renderer exists (after the first `chalice deploy`), every deploy keeps
        # the distribution in front of it.
        "RendererFunctionArn": renderer_arn(stage, path.parent.parent),
        "Stage": stage,
        "CorsAllowOrigins": origins,
        "AuthMode": auth_mode,
        "QuarantineDays": str(config.quarantine_days({**_shared_variables(path), **env})),
        "AppOrigin": app_origin,
    }
    outputs = deploy_stack(session.client("cloudformation"), stage, parameters)
    variables = stage_variables(outputs, auth_mode, origins)
    write_stage_variables(stage, variables, path)
    if path == CONFIG:
        for policy_path, text in policies.render(stage).items():
            policy_path.write_text(text)
    return variables


# -- gateway responses -----------------------------------------------------------


def gateway_response(origins: str) -> dict:
    """Gateway errors as imgstore's JSON `{"error": ...}`, with CORS headers.

    A gateway response cannot choose among several origins, so with more than
    one it echoes the request's Origin: these bodies carry no data, and no
    credentials mode is used (tokens travel in a header, never in cookies).
    """
    listed = [o.strip() for o in origins.split(",") if o.strip()]
    origin = f"'{listed[0]}'" if len(listed) == 1 else "method.request.header.origin"
    return {
        "responseParameters": {
            "gatewayresponse.header.Access-Control-Allow-Origin": origin,
            "gatewayresponse.header.Vary": "'Origin'",
        },
        "responseTemplates": {"application/json": '{"error": $context.error.messageString}'},
    }


def rest_api_id(stage: str, project: Path = ROOT) -> str:
    deployed = project / ".chalice" / "deployed" / f"{stage}.json"
    if not deployed.exists():
        raise SystemExit(f"{deployed} is missing: run chalice deploy --stage {stage} first")
    for resource in json.loads(deployed.read_text())["resources"]:
        if resource.get("resource_type") == "rest_api":
            return resource["rest_api_id"]
    raise SystemExit(f"no REST API in {deployed}")


def gateway(stage: str, session=None, project: Path = ROOT) -> str:
    config = json.loads((project / ".chalice" / "config.json").read_text())
    settings = _stage_config(config, stage)
    origins = settings.get("environment_variables", {}).get("CORS_ALLOW_ORIGINS", "*")
    api_stage = settings.get("api_gateway_stage") or config.get("api_gateway_stage") or "api"
    api = (session or _session()).client("apigateway")
    api_id = rest_api_id(stage, project)
    shape = gateway_response(origins)
    for kind in GATEWAY_RESPONSES:
        api.put_gateway_response(restApiId=api_id, responseType=kind, **shape)
    api.create_deployment(restApiId=api_id, stageName=api_stage, description="imgstore gateway responses")
    return api_id


# -- destinations ----------------------------------------------------------------


def stack_outputs(cloudformation, stage: str) -> dict[str, str]:
    stack = cloudformation.describe_stacks(StackName=stack_name(stage))["Stacks"][0]
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


def destinations(stage: str, session=None) -> str:
    """Lambda retries a failed S3 event twice, then drops it unless the function
    has an on-failure destination: the stack's failed-events queue, for each S3
    handler (chalice deploy cannot set it). Returns the queue's ARN."""
    session = session or _session()
    queue = stack_outputs(session.client("cloudformation"), stage)["FailedEventsQueueArn"]
    lambda_ = session.client("lambda")
    for function in policies.ASYNC_FUNCTIONS:
        lambda_.put_function_event_invoke_config(
            FunctionName=policies.function_name(stage, function),
            MaximumRetryAttempts=ASYNC_RETRIES,
            DestinationConfig={"OnFailure": {"Destination": queue}},
        )
    stream_consumer(lambda_, stage, queue)
    return queue


def stream_consumer(lambda_, stage: str, failed_queue: str) -> int:
    """What `chalice deploy` cannot say about the stream's event source mapping:
    the consumer answers batch-item failures (without this Lambda would take a
    partial failure for success and lose events), hears only image records, and
    retries a failing batch until its records expire (24 h), then records the
    batch in the failed-events queue. Returns how many mappings were set."""
    function = policies.function_name(stage, policies.STREAM_FUNCTION)
    mappings = lambda_.list_event_source_mappings(FunctionName=function)["EventSourceMappings"]
    for mapping in mappings:
        lambda_.update_event_source_mapping(
            UUID=mapping["UUID"],
            FunctionResponseTypes=["ReportBatchItemFailures"],
            FilterCriteria=STREAM_FILTER,
            MaximumRetryAttempts=-1,
            MaximumRecordAgeInSeconds=-1,
            DestinationConfig={"OnFailure": {"Destination": failed_queue}},
        )
    return len(mappings)


# -- the web app -------------------------------------------------------------------


def web(stage: str, session=None, path: Path = CONFIG) -> str:
    """Let the web app's page upload: its origin joins the bucket's CORS rules
    (a stack update; nothing changes when it is there already). Its URL."""
    session = session or _session()
    url = app_url(stage, path.parent.parent, session.region_name)
    if url is None:
        raise SystemExit(f"stage '{stage}' has no API yet: run chalice deploy --stage {stage} first")
    resources(stage, None, None, session=session, path=path, app_origin=origin_of(url))
    return url


# -- delivery ----------------------------------------------------------------------


def delivery(stage: str, session=None) -> str:
    """Copy the stage's rendition signing keys into the edge's KeyValueStore (the
    viewer-request function verifies with them) and return the delivery domain."""
    session = session or _session()
    outputs = stack_outputs(session.client("cloudformation"), stage)
    if not outputs.get("DeliveryDomain"):
        raise SystemExit(f"stage '{stage}' has no delivery distribution yet: run make deploy (its web step makes it)")
    secret = session.client("secretsmanager").get_secret_value(SecretId=outputs["DeliveryKeysSecretArn"])
    from botocore.exceptions import MissingDependencyException

    try:
        sync_keys(session.client("cloudfront-keyvaluestore"), outputs["DeliveryKeyStoreArn"], secret["SecretString"])
    except MissingDependencyException:  # SigV4A needs the CRT, which requirements-dev.txt pins
        raise SystemExit("the edge's keys need the AWS CRT: make venv (it installs awscrt), then make deploy") from None
    return f"https://{outputs['DeliveryDomain']}"


def sync_keys(kvs, store_arn: str, secret_string: str) -> None:
    """The KeyValueStore holds exactly the secret's keys (id -> secret), never `current`:
    new ones put, retired ones deleted, so a rotation reaches the edge the same way."""
    keyring = json.loads(secret_string)
    wanted = {k: v for k, v in keyring.items() if k != "current"}
    described = kvs.describe_key_value_store(KvsARN=store_arn)
    etag = described["ETag"]
    present = {item["Key"] for item in kvs.list_keys(KvsARN=store_arn).get("Items", [])}
    puts = [{"Key": k, "Value": v} for k, v in wanted.items()]
    deletes = [{"Key": k} for k in sorted(present - set(wanted))]
    kvs.update_keys(KvsARN=store_arn, IfMatch=etag, Puts=puts, Deletes=deletes)


# -- destroy ---------------------------------------------------------------------


def _empty_bucket(s3, bucket: str) -> int:
    from botocore.exceptions import ClientError

    removed = 0
    try:
        pages = s3.get_paginator("list_object_versions").paginate(Bucket=bucket)
        for page in pages:
            doomed = [
                {"Key": v["Key"], "VersionId": v["VersionId"]}
                for v in page.get("Versions", []) + page.get("DeleteMarkers", [])
            ]
            for start in range(0, len(doomed), 1000):
                s3.delete_objects(Bucket=bucket, Delete={"Objects": doomed[start : start + 1000], "Quiet": True})
            removed += len(doomed)
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "NoSuchBucket":
            raise
    return removed


def destroy(stage: str, session=None) -> None:
    """Empty the bucket, delete the stack (bucket, table, secret or user pool)
    and the functions' log groups. Run after `chalice delete`."""
    from botocore.exceptions import ClientError

    session = session or _session()
    cloudformation = session.client("cloudformation")
    name = stack_name(stage)
    try:
        stack = cloudformation.describe_stacks(StackName=name)["Stacks"][0]
    except ClientError as exc:
        if "does not exist" not in str(exc):
            raise
        stack = None
    if stack is not None:
        outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
        if "BucketName" in outputs:
            bucket = outputs["BucketName"]
            print(f"emptying s3://{bucket}: {_empty_bucket(session.client('s3'), bucket)} objects")
        # Now, not in 30 days: otherwise the names stay reserved and a redeploy fails.
        for secret in (f"imgstore-{stage}-signing", f"imgstore-{stage}-auth-token"):  # infra/resources.yaml
            try:
                session.client("secretsmanager").delete_secret(SecretId=secret, ForceDeleteWithoutRecovery=True)
            except ClientError as exc:
                if exc.response["Error"]["Code"] != "ResourceNotFoundException":
                    raise
        print(f"deleting stack {name} ...")
        cloudformation.delete_stack(StackName=name)
        cloudformation.get_waiter("stack_delete_complete").wait(StackName=name)
    logs = session.client("logs")
    for function in policies.FUNCTIONS:
        group = f"/aws/lambda/{policies.function_name(stage, function)}"
        try:
            logs.delete_log_group(logGroupName=group)
            print(f"deleted log group {group}")
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ResourceNotFoundException":
                raise


def confirm(stage: str, answer: str | None) -> None:
    if answer is None:
        answer = input(f"This deletes every image, record and user of stage '{stage}'. Type the stage name: ")
    if answer.strip() != stage:
        raise SystemExit("not confirmed; nothing deleted")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    for name in ("resources", "gateway", "destinations", "web", "delivery", "confirm", "destroy"):
        command = commands.add_parser(name)
        command.add_argument("--stage", required=True)
        if name == "resources":
            command.add_argument("--auth-mode", choices=("none", "token", "cognito"))
            command.add_argument("--origins", help="comma-separated browser origins, or *")
        if name == "confirm":
            command.add_argument("--answer", help="the stage name, instead of asking")
    args = parser.parse_args(argv)
    if args.command == "resources":
        variables = resources(args.stage, args.auth_mode, args.origins)
        print(json.dumps({k: v for k, v in variables.items() if v is not None}, indent=2))
    elif args.command == "gateway":
        print(f"gateway responses set on REST API {gateway(args.stage)}")
    elif args.command == "destinations":
        print(f"failed S3 events go to {destinations(args.stage)} after {ASYNC_RETRIES} retries")
    elif args.command == "web":
        url = web(args.stage)
        print(f"the bucket allows uploads from {origin_of(url)}\nOpen the web app: {url}")
    elif args.command == "delivery":
        print(f"the edge verifies rendition URLs with the stage's keys\nDelivery domain: {delivery(args.stage)}")
    elif args.command == "confirm":
        confirm(args.stage, args.answer)
    else:
        destroy(args.stage)


if __name__ == "__main__":
    main()
