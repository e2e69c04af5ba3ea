"""What devstack/moto_fixes.py changes for the local stack's moto, side by side.

    .venv/bin/python bench/local_stack.py [--uploads 1000] [--rounds 1]

Each variant (moto as is; with the fixes) runs in a fresh process with the
stack's own moto server and table (scripts/bootstrap.py's definition). The
writes are an upload's, as the store makes them with three tags: one
transaction putting the record and its three tag items, then two more
updating all four (pending -> processing -> ready). It prints the time per
upload as the table grows, the process's memory at the end, and how long the
process took to exit after its last request (the interpreter's final garbage
collection: more than ten minutes at 1,600 items, issue 20). A benchmark,
not a test: compare the ratios of one run, not figures across machines.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

VARIANTS = {"moto as is": False, "with devstack/moto_fixes.py": True}
TAGS = ("beach", "family", "2026")


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _upload(ddb, table: str, n: int) -> None:
    image = f"IMG#{n:06}"
    stamp = f"2026-12-04T00:00:00.{n:06}Z#{n:06}"

    def item(sk: str, index_keys: dict[str, str]) -> dict:
        return {"pk": {"S": image}, "sk": {"S": sk}, "gsk": {"S": stamp}, "status": {"S": "pending"},
                **{k: {"S": v} for k, v in index_keys.items()}}

    record = item("REC", {"g1pk": "IMG", "g2pk": f"U#user{n % 50}", "g3pk": "S#pending"})
    tags = [item(f"TAG#{t}", {"g4pk": f"T#{t}", "g3pk": f"T#{t}#S#pending"}) for t in TAGS]
    ddb.transact_write_items(TransactItems=[
        {"Put": {"TableName": table, "Item": i, "ConditionExpression": "attribute_not_exists(pk)"}}
        for i in [record, *tags]])
    for status in ("processing", "ready"):
        ddb.transact_write_items(TransactItems=[
            {"Update": {"TableName": table, "Key": {"pk": i["pk"], "sk": i["sk"]},
                        "UpdateExpression": "SET #s = :s", "ExpressionAttributeNames": {"#s": "status"},
                        "ExpressionAttributeValues": {":s": {"S": status}}}}
            for i in [record, *tags]])


def child(fixed: bool, uploads: int, step: int) -> None:
    import boto3

    from devstack.server import MotoServer
    from scripts.bootstrap import table_definition

    server = MotoServer("127.0.0.1", 0, fix_moto=fixed).start()
    ddb = boto3.client("dynamodb", endpoint_url=f"http://127.0.0.1:{server.port}", region_name="us-east-1",
                       aws_access_key_id="testing", aws_secret_access_key="testing")
    ddb.create_table(**table_definition("bench"))
    per_upload = []
    for start in range(0, uploads, step):
        began = time.perf_counter()
        for n in range(start, start + step):
            _upload(ddb, "bench", n)
        per_upload.append((time.perf_counter() - began) * 1000 / step)
    server.stop()
    print(json.dumps({"ms_per_upload": per_upload, "rss_mb": _rss_mb()}), flush=True)
    # then the interpreter exits: the parent times that


def run_variant(fixed: bool, uploads: int, step: int) -> dict:
    proc = subprocess.Popen([sys.executable, __file__, "--child", "1" if fixed else "0", "--uploads", str(uploads),
                             "--step", str(step)], cwd=ROOT, stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "AWS_DEFAULT_REGION": "us-east-1"})
    assert proc.stdout is not None
    result = json.loads(proc.stdout.readline())
    printed = time.perf_counter()
    proc.wait()
    result["exit_s"] = time.perf_counter() - printed
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--uploads", type=int, default=1000)
    parser.add_argument("--step", type=int, default=100, help="report the time per upload every STEP uploads")
    parser.add_argument("--rounds", type=int, default=1, help="alternate the variants this many times")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        child(args.child == "1", args.uploads, args.step)
        return
    results: dict[str, list[dict]] = {name: [] for name in VARIANTS}
    for _ in range(args.rounds):
        for name, fixed in VARIANTS.items():
            results[name].append(run_variant(fixed, args.uploads, args.step))
    print(f"{args.uploads} uploads of 4 items (a record, 3 tags), 3 transactions each; "
          f"{os.cpu_count()} CPUs, Python {sys.version.split()[0]}; medians of {args.rounds} round(s)")
    marks = list(range(args.step, args.uploads + 1, args.step))
    print(f"{'ms per upload, at items':<30}" + "".join(f"{m * 4:>8}" for m in marks) + f"{'RSS MB':>9}{'exit s':>9}")
    for name, runs in results.items():
        ms = [statistics.median(r["ms_per_upload"][i] for r in runs) for i in range(len(marks))]
        rss = statistics.median(r["rss_mb"] for r in runs)
        exit_s = statistics.median(r["exit_s"] for r in runs)
        print(f"{name:<30}" + "".join(f"{v:>8.1f}" for v in ms) + f"{rss:>9.0f}{exit_s:>9.1f}")
    slow, fast = (statistics.median(r["ms_per_upload"][-1] for r in results[n]) for n in VARIANTS)
    print(f"at {marks[-1] * 4} items an upload's writes take {slow / fast:.0f}x as long without the fixes")


if __name__ == "__main__":
    main()
