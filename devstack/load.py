"""`make load`: a bounded load run against the local stack.

Concurrent clients, for many users with tags on each image, upload through
the API (POST /images with the bytes), through presigned URLs (POST forms
and PUTs, alternately) and straight into the bucket; then the run waits
until every image has settled and checks that each upload became exactly
one `ready` image with its variants: none lost, none duplicated, nothing
left in the queues. It prints uploads per second, latency percentiles per
step, the slowest step, and (for a stack of its own) the time the API and
the S3 handler took by the stack's own log; it exits non-zero if any check
failed. It stops by itself: a fixed number of uploads, a deadline.

    python -m devstack.load [--clients 8] [--api 100] [--presigned 200] [--direct 100]
                            [--users 50] [--tags 3] [--size 1024x768]
    python -m devstack.load --api-url http://127.0.0.1:8000 --aws-url http://127.0.0.1:5000

Without --api-url it starts a stack of its own (free ports, no saved data).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from chalicelib.domain.keys import image_id_for_object  # noqa: E402
from scripts.bootstrap import stage_environment  # noqa: E402


@dataclass
class Upload:
    way: str  # "API", "POST form", "PUT", "direct"
    owner: str = ""
    tags: list[str] = field(default_factory=list)
    image_id: str = ""
    done_at: float = 0.0  # wall clock when the upload finished
    timings: dict[str, float] = field(default_factory=dict)  # step -> ms


PHOTO_SIZE = (1024, 768)


def photos(count: int, size=PHOTO_SIZE) -> list[bytes]:
    """Distinct photo-like JPEGs (gradient, shapes, noise), made here."""
    from PIL import Image, ImageDraw, ImageFilter

    rng = random.Random(42)
    made = []
    for _n in range(count):
        base = Image.linear_gradient("L").resize(size).convert("RGB")
        draw = ImageDraw.Draw(base)
        for _ in range(12):
            x, y = rng.randrange(size[0]), rng.randrange(size[1])
            r = rng.randrange(20, 200)
            draw.ellipse((x - r, y - r, x + r, y + r), fill=tuple(rng.randrange(256) for _ in range(3)))
        noise = Image.effect_noise(size, 40).convert("RGB")
        image = Image.blend(base.filter(ImageFilter.GaussianBlur(2)), noise, 0.15)
        out = io.BytesIO()
        image.save(out, "JPEG", quality=85)
        made.append(out.getvalue())
    return made


class LoadRun:
    def __init__(self, api_url: str, aws_client, bucket: str, clients: int, users: int = 1):
        import requests

        self.api_url = api_url
        self.s3 = aws_client
        self.bucket = bucket
        self.clients = clients
        self.owner = f"load-{uuid.uuid4().hex[:8]}"  # the run's users are owner-0, owner-1, ...
        self.owners = [f"{self.owner}-{n}" for n in range(users)]
        self._local = threading.local()
        self._requests = requests

    @property
    def http(self):
        if not hasattr(self._local, "session"):
            self._local.session = self._requests.Session()
        return self._local.session

    def _timed(self, upload: Upload, step: str, call):
        started = time.perf_counter()
        result = call()
        upload.timings[step] = (time.perf_counter() - started) * 1000
        return result

    def _api(self, upload: Upload, n: int, data: bytes) -> None:
        params = {"user_id": upload.owner, "filename": f"a{n}.jpg", "tags": ",".join(upload.tags)}
        reply = self._timed(
            upload,
            "POST /images",
            lambda: self.http.post(
                f"{self.api_url}/images", params=params, data=data, headers={"Content-Type": "image/jpeg"}, timeout=60
            ),
        )
        reply.raise_for_status()
        upload.image_id = reply.json()["image_id"]

    def _presigned(self, upload: Upload, n: int, data: bytes) -> None:
        method = "POST" if upload.way == "POST form" else "PUT"
        body = {
            "user_id": upload.owner,
            "filename": f"p{n}.jpg",
            "content_type": "image/jpeg",
            "size_bytes": len(data),
            "method": method,
            "tags": upload.tags,
        }
        reply = self._timed(
            upload, "POST /uploads", lambda: self.http.post(f"{self.api_url}/uploads", json=body, timeout=60)
        )
        reply.raise_for_status()
        answer = reply.json()
        upload.image_id = answer["image_id"]
        if method == "POST":
            form = answer["upload"]
            sent = self._timed(
                upload,
                "S3 presigned POST",
                lambda: self.http.post(
                    form["url"], data=form["fields"], files={"file": (f"p{n}.jpg", data, "image/jpeg")}, timeout=60
                ),
            )
        else:
            sent = self._timed(
                upload,
                "S3 presigned PUT",
                lambda: self.http.put(answer["upload_url"], data=data, headers=answer["headers"], timeout=60),
            )
        sent.raise_for_status()

    def _direct(self, upload: Upload, n: int, data: bytes) -> None:
        key = f"uploads/{upload.owner}/direct/photo {n} +été.jpg"
        self._timed(
            upload,
            "S3 put_object",
            lambda: self.s3.put_object(Bucket=self.bucket, Key=key, Body=data, ContentType="image/jpeg"),
        )
        upload.image_id = image_id_for_object(self.bucket, key)

    def send(self, uploads: list[Upload], images: list[bytes]) -> float:
        """Run every upload with `clients` at once; the seconds it took."""

        def one(n: int) -> None:
            upload = uploads[n]
            data = images[n % len(images)]
            if upload.way == "direct":
                self._direct(upload, n, data)
            elif upload.way == "API":
                self._api(upload, n, data)
            else:
                self._presigned(upload, n, data)
            upload.done_at = time.time()

        started = time.perf_counter()
        with ThreadPoolExecutor(self.clients) as pool:
            list(pool.map(one, range(len(uploads))))
        return time.perf_counter() - started

    def listing(self) -> list[dict]:
        """Every image of the run's users, page by page."""
        images = []
        for owner in self.owners:
            token = None
            while True:
                params = {"user_id": owner, "limit": 100, **({"next_token": token} if token else {})}
                reply = self.http.get(f"{self.api_url}/images", params=params, timeout=60)
                reply.raise_for_status()
                page = reply.json()
                images += page["images"]
                token = page["next_token"]
                if not token:
                    break
        return images

    def wait_settled(self, sqs, queue_url: str | None, expected: int, deadline: float) -> float:
        """Wait until the events queue is drained and every image is ready or
        rejected (a failed one is retried); when that was. Watching the queue is
        cheap; listing, which moto answers by scanning the table, is done only then."""
        while time.monotonic() < deadline:
            if queue_url:
                attrs = sqs.get_queue_attributes(
                    QueueUrl=queue_url,
                    AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
                )["Attributes"]
                if any(int(v) for v in attrs.values()):
                    time.sleep(1)
                    continue
            everything = self.listing()
            if len(everything) >= expected and all(i["status"] in ("ready", "rejected") for i in everything):
                return time.time()
            time.sleep(0.5)
        return time.time()


def percentiles(values: list[float]) -> str:
    if not values:
        return "-"
    ordered = sorted(values)
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))]  # noqa: E731
    return (
        f"p50 {statistics.median(ordered):7.0f}   p90 {pick(0.90):7.0f}   p99 {pick(0.99):7.0f}   "
        f"max {ordered[-1]:7.0f}"
    )


def slowest(steps: dict[str, list[float]]) -> tuple[str, float]:
    """The step the uploads spent the most time in, all uploads together, and its share of it."""
    spent = {step: sum(ms) for step, ms in steps.items() if ms}
    name = max(spent, key=lambda step: spent[step])
    return name, spent[name] / (sum(spent.values()) or 1)


def stack_timings(log_text: str) -> dict[str, list[float]]:
    """Milliseconds per route and per S3 handler, from a stack's log: the API's
    JSON line per request (`duration_ms`) and the bridge's `ok in N ms` lines."""
    found: dict[str, list[float]] = {}
    for line in log_text.splitlines():
        label, _, text = line.partition(" | ")
        text = text.strip()
        if label.strip() == "api" and text.startswith("{"):
            try:
                entry = json.loads(text)
            except ValueError:
                continue
            if entry.get("message") == "request" and "duration_ms" in entry:
                found.setdefault(f"API {entry['route']}", []).append(float(entry["duration_ms"]))
        elif label.strip() == "events" and ": ok in " in text and text.endswith(" ms"):
            handler = text.split(" ", 1)[0]
            found.setdefault(f"handler {handler}", []).append(float(text.rsplit(": ok in ", 1)[1][:-3]))
    return found


def _epoch(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def run(
    args: argparse.Namespace,
    api_url: str,
    s3,
    bucket: str,
    queues: tuple[str, str] | None,
    sqs,
    log: Path | None = None,
) -> bool:
    load = LoadRun(api_url, s3, bucket, args.clients, args.users)
    size = tuple(int(n) for n in args.size.lower().split("x"))
    images = photos(8, size)
    ways = (
        ["API"] * args.api
        + ["POST form", "PUT"] * (args.presigned // 2)
        + ["POST form"] * (args.presigned % 2)
        + ["direct"] * args.direct
    )
    rng = random.Random(7)
    rng.shuffle(ways)
    vocabulary = [f"tag{n}" for n in range(20)]
    uploads = [
        Upload(
            way,
            owner=load.owners[n % len(load.owners)],
            tags=rng.sample(vocabulary, args.tags) if way != "direct" else [],
        )
        for n, way in enumerate(ways)
    ]
    print(
        f"load: {len(uploads)} uploads ({args.api} through POST /images, {args.presigned} presigned, "
        f"{args.direct} straight to S3) by {args.clients} clients for {len(load.owners)} users "
        f"({load.owner}-*), {args.tags} tags each (not the direct ones); {len(images)} distinct "
        f"{size[0]}x{size[1]} JPEGs of {min(map(len, images)) / 1024:.0f}-{max(map(len, images)) / 1024:.0f} KB"
    )
    started = time.time()
    send_s = load.send(uploads, images)
    print(f"load: all uploads sent in {send_s:.1f} s; waiting for the S3 event handler...")
    settled_at = load.wait_settled(sqs, queues[0] if queues else None, len(uploads), time.monotonic() + args.timeout)

    everything = load.listing()
    by_id: dict[str, list[dict]] = {}
    for image in everything:
        by_id.setdefault(image["image_id"], []).append(image)
    expected = {u.image_id for u in uploads}
    statuses: dict[str, int] = {}
    for image in everything:
        statuses[image["status"]] = statuses.get(image["status"], 0) + 1
    lost = expected - set(by_id)
    duplicated = [i for i, found in by_id.items() if len(found) > 1]
    unexpected = set(by_id) - expected
    variants: dict[str, int] = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix="processed/"):
        for obj in page.get("Contents", []):
            image_id = obj["Key"].split("/")[1]
            if image_id in expected:
                variants[image_id] = variants.get(image_id, 0) + 1
    wrong_variants = [i for i in expected if variants.get(i) != 3]
    wrong_tags = [
        u.image_id for u in uploads if u.image_id in by_id and sorted(by_id[u.image_id][0]["tags"]) != sorted(u.tags)
    ]
    left_in_queues = {}
    if queues:
        for name, url in zip(("queue", "dead-letter queue"), queues, strict=False):
            attrs = sqs.get_queue_attributes(
                QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
            )["Attributes"]
            left_in_queues[name] = sum(int(v) for v in attrs.values())

    ready = {i: found[0] for i, found in by_id.items() if found[0]["status"] == "ready"}
    to_ready = [(_epoch(ready[u.image_id]["updated_at"]) - u.done_at) * 1000 for u in uploads if u.image_id in ready]
    steps: dict[str, list[float]] = {}
    for u in uploads:
        for step, ms in u.timings.items():
            steps.setdefault(step, []).append(ms)
    total_s = settled_at - started

    print()
    print(f"machine: {os.cpu_count()} CPUs ({cpu_model()}), Python {platform.python_version()}")
    print(f"images:  {len(uploads)} uploaded, {len(everything)} listed, statuses {statuses}")
    print(
        f"checks:  lost {len(lost)}, duplicated {len(duplicated)}, unexpected {len(unexpected)}, "
        f"without exactly 3 variants {len(wrong_variants)}, with other tags {len(wrong_tags)}, "
        f"left in queues {left_in_queues or 'n/a'}"
    )
    print(
        f"throughput: {len(uploads) / send_s:.1f} uploads/s sent ({len(uploads)} in {send_s:.1f} s); "
        f"uploaded and processed end to end {len(ready) / total_s:.1f} images/s ({total_s:.1f} s in all)"
    )
    print("latency (ms), as the clients saw it:")
    for step in ("POST /images", "POST /uploads", "S3 presigned POST", "S3 presigned PUT", "S3 put_object"):
        print(f"  {step:<30} n={len(steps.get(step, [])):<4} {percentiles(steps.get(step, []))}")
    print(f"  {'upload done -> ready':<30} n={len(to_ready):<4} {percentiles(to_ready)}")
    name, share = slowest({**steps, "upload done -> ready": to_ready})
    typical = statistics.median(steps.get(name) or to_ready or [0])
    print(f"slowest step: {name}, p50 {typical:.0f} ms ({share:.0%} of all the time the uploads took, summed)")
    if log is not None and log.exists():
        print("in the stack (ms), by its own log: the API's duration_ms, the S3 handlers' run time:")
        for step, took in sorted(stack_timings(log.read_text(errors="replace")).items()):
            print(f"  {step:<30} n={len(took):<4} {percentiles(took)}")

    ok = (
        not lost
        and not duplicated
        and not unexpected
        and not wrong_variants
        and not wrong_tags
        and statuses == {"ready": len(uploads)}
        and not any(left_in_queues.values())
    )
    print(f"\nload: {'OK: every upload became exactly one ready image' if ok else 'FAILED'}")
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="A bounded load run against the local stack.")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--api", type=int, default=100, help="uploads through POST /images")
    parser.add_argument("--presigned", type=int, default=200, help="uploads through presigned URLs")
    parser.add_argument("--direct", type=int, default=100, help="uploads straight into the bucket")
    parser.add_argument("--users", type=int, default=50, help="the uploads are spread over this many users")
    parser.add_argument("--tags", type=int, default=3, help="tags on each upload (but the direct ones)")
    parser.add_argument("--size", default=f"{PHOTO_SIZE[0]}x{PHOTO_SIZE[1]}", help="the JPEGs' size, WIDTHxHEIGHT")
    parser.add_argument("--timeout", type=float, default=600, help="seconds to wait for processing")
    parser.add_argument("--api-url", help="a running stack's API (default: start one)")
    parser.add_argument("--aws-url", default="http://127.0.0.1:5000", help="that stack's AWS endpoint")
    parser.add_argument("--stage", default="local")
    args = parser.parse_args(argv)

    from .background import BackgroundStack

    if args.api_url:
        from .runner import local_aws_environment

        os.environ.update(local_aws_environment(args.aws_url))
        import boto3
        from botocore.config import Config

        env = stage_environment(args.stage)
        s3 = boto3.client("s3", config=Config(signature_version="s3v4", max_pool_connections=args.clients))
        sqs = boto3.client("sqs")
        queue = env["S3_EVENTS_QUEUE"]
        queues = (
            sqs.get_queue_url(QueueName=queue)["QueueUrl"],
            sqs.get_queue_url(QueueName=f"{queue}-dlq")["QueueUrl"],
        )
        return 0 if run(args, args.api_url, s3, env["IMAGES_BUCKET"], queues, sqs) else 1

    log = Path(tempfile.mkdtemp(prefix="imgstore-load-")) / "stack.log"
    print(f"load: starting a local stack (its log: {log})")
    with BackgroundStack(log) as stack:
        ok = run(
            args,
            stack.api_url,
            stack.client("s3"),
            stack.bucket,
            (stack.queue_url, stack.dead_letter_queue_url),
            stack.client("sqs"),
            log,
        )
    code = stack.proc.returncode if stack.proc else None
    if code != 0:
        print(f"load: the stack did not stop cleanly (exit {code}); see {log}")
        ok = False
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
