"""One structured log line per request and per S3 event, and EMF metrics."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.apps import ROOT, json_upload
from tests.conftest import BUCKET, deliver


def lines(capsys) -> list[dict]:
    """Every JSON document printed to stdout since the last call."""
    out = capsys.readouterr().out
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def logs(found: list[dict]) -> list[dict]:
    return [d for d in found if d.get("message") in ("request", "s3 event")]


def emf(found: list[dict]) -> list[dict]:
    return [d for d in found if "_aws" in d]


def test_each_request_logs_one_line_with_who_what_and_how_long(client, capsys, jpeg):
    capsys.readouterr()
    created = client.http.post("/images", **json_upload(jpeg, user_id="alice")).json_body
    client.http.get(f"/images/{created['image_id']}")
    client.http.get("/images/" + "f" * 32)
    first, second, third = logs(lines(capsys))
    assert first["route"] == "POST /images" and first["status"] == 201
    assert first["image_id"] == created["image_id"] and first["owner"] == "alice"
    assert first["service"] == "imgstore-dev" and first["level"] == "INFO"
    assert first["function_request_id"] and isinstance(first["duration_ms"], float)
    assert second["route"] == "GET /images/{image_id}" and second["status"] == 200 and second["owner"] == "alice"
    assert third["status"] == 404 and third["image_id"] == "f" * 32


def test_an_ingested_upload_logs_its_event_and_emits_metrics(client, s3, capsys, jpeg):
    key = "uploads/carol/sea view.jpg"
    s3.put_object(Bucket=BUCKET, Key=key, Body=jpeg)
    capsys.readouterr()
    deliver(client, key)
    found = lines(capsys)
    [line] = logs(found)
    assert line["event"] == "ObjectCreated:Put" and line["key"] == key and line["status"] == "ready"
    assert line["owner"] == "carol" and len(line["image_id"]) == 32 and line["duration_ms"] > 0
    [document] = emf(found)
    declared = {m["Name"]: m["Unit"] for m in document["_aws"]["CloudWatchMetrics"][0]["Metrics"]}
    assert declared == {"ImagesIngested": "Count", "ProcessingMs": "Milliseconds", "BytesStored": "Bytes"}
    assert document["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "imgstore"
    assert document["service"] == "imgstore-dev" and document["ImagesIngested"] == [1.0]
    variants = s3.list_objects_v2(Bucket=BUCKET, Prefix="processed/")["Contents"]
    assert document["BytesStored"] == [len(jpeg) + sum(v["Size"] for v in variants)]


def test_a_rejected_upload_is_counted_as_rejected(client, s3, capsys):
    key = "uploads/carol/fake.png"
    s3.put_object(Bucket=BUCKET, Key=key, Body=b"%PDF-1.7 not an image")
    capsys.readouterr()
    deliver(client, key)
    found = lines(capsys)
    assert logs(found)[0]["status"] == "rejected"
    [document] = emf(found)
    assert document["ImagesRejected"] == [1.0] and "ImagesIngested" not in document


def test_a_failed_upload_is_logged_counted_and_raised_for_a_retry(client, s3, capsys, jpeg, monkeypatch):
    from chalicelib import imaging

    def broken(data, settings):
        raise MemoryError("simulated")

    monkeypatch.setattr(imaging, "process", broken)
    key = "uploads/carol/big.jpg"
    s3.put_object(Bucket=BUCKET, Key=key, Body=jpeg)
    capsys.readouterr()
    with pytest.raises(MemoryError):
        deliver(client, key)
    found = lines(capsys)
    [line] = logs(found)
    assert line["status"] == "error" and line["level"] == "ERROR" and "MemoryError" in line["exception"]
    assert emf(found)[0]["ImagesFailed"] == [1.0]


def test_a_metric_that_cannot_be_recorded_costs_the_metric_not_the_image(client, s3, capsys, jpeg, monkeypatch):
    from chalicelib.adapters import observability
    from chalicelib.adapters.store import ImageStore
    from tests.conftest import TABLE

    real = observability.metrics()

    def refuse(*, name, **kwargs):
        if name == "BytesStored":
            raise ValueError("simulated: the metric set is full")
        return type(real).add_metric(real, name=name, **kwargs)

    monkeypatch.setattr(real, "add_metric", refuse)
    key = "uploads/carol/counted.jpg"
    s3.put_object(Bucket=BUCKET, Key=key, Body=jpeg)
    capsys.readouterr()
    deliver(client, key)  # raises nothing: no retry, no second round of work
    found = lines(capsys)
    [line] = logs(found)
    assert line["status"] == "ready" and ImageStore(TABLE).get(line["image_id"]).status == "ready"
    assert [d["level"] for d in found if d.get("message") == "could not record the BytesStored metric"] == ["ERROR"]
    [document] = emf(found)
    assert document["ImagesIngested"] == [1.0] and "BytesStored" not in document


def test_metrics_that_cannot_be_flushed_never_make_lambda_retry_a_finished_event(client, s3, capsys, jpeg, monkeypatch):
    from chalicelib.adapters import observability
    from chalicelib.adapters.store import ImageStore
    from tests.conftest import TABLE

    def refuse():
        raise ValueError("simulated: a metric without a value")

    monkeypatch.setattr(observability.metrics(), "flush_metrics", refuse)
    key = "uploads/carol/flushed.jpg"
    s3.put_object(Bucket=BUCKET, Key=key, Body=jpeg)
    capsys.readouterr()
    deliver(client, key)  # raises whatever the handler raises: here, nothing
    found = lines(capsys)
    [line] = logs(found)
    assert line["status"] == "ready" and ImageStore(TABLE).get(line["image_id"]).status == "ready"
    [failure] = [d for d in found if d.get("message", "").startswith("could not record")]
    assert failure["message"] == "could not record the ImagesIngested, ProcessingMs metric"


def test_a_removed_object_logs_its_event_without_upload_metrics(client, s3, capsys):
    capsys.readouterr()
    deliver(client, "uploads/dave/gone.jpg", "ObjectRemoved:Delete")
    found = lines(capsys)
    assert [(d["event"], d["status"]) for d in logs(found)] == [("ObjectRemoved:Delete", "unknown")]
    assert emf(found) == []


def test_the_api_path_imports_neither_pillow_nor_powertools_until_it_logs():
    code = ("import sys, app; before = {m for m in ('PIL', 'aws_lambda_powertools') if m in sys.modules}; "
            "from chalicelib.adapters import observability; observability.logger(); "
            "print(sorted(before), 'PIL' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         env={"AWS_DEFAULT_REGION": "us-east-1", "PATH": "/usr/bin:/bin"}, check=True)
    assert out.stdout.split() == ["[]", "False"]


def test_every_stage_names_its_service_apart_from_the_chalice_app():
    """powertools names its logger after the service; Chalice's own logger is named after
    the app and has a handler of its own, so a stage whose service name is the app's name
    (the default) prints every JSON line twice, the second as `imgstore - INFO - {...}`."""
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    names = {stage: {**config.get("environment_variables", {}), **settings.get("environment_variables", {})}
             .get("POWERTOOLS_SERVICE_NAME") for stage, settings in config["stages"].items()}
    assert all(name and name != config["app_name"] for name in names.values()), names
    assert len(set(names.values())) == len(names), names
