"""`make load`'s report: the slowest step, and where the stack's own log says the time went."""
from __future__ import annotations

import json

from devstack.load import slowest, stack_timings


def test_the_slowest_step_is_the_one_the_uploads_spent_most_time_in_together():
    steps = {"POST /images": [100.0, 300.0], "S3 put_object": [900.0], "upload done -> ready": [250.0, 250.0, 100.0],
             "S3 presigned PUT": []}
    assert slowest(steps) == ("S3 put_object", 900 / 1900)


def test_stack_timings_reads_the_api_lines_and_the_bridge_lines_and_nothing_else():
    request = {"level": "INFO", "message": "request", "route": "POST /images", "status": 201, "duration_ms": 54.5}
    log = "\n".join([
        f"   api | {json.dumps(request)}",
        f"   api | {json.dumps({**request, 'route': 'GET /images', 'duration_ms': 7})}",
        f"   api | {json.dumps({**request, 'duration_ms': 12.0})}",
        '   api | {"level":"INFO","message":"s3 event","duration_ms":5}',
        "   api | 127.0.0.1 - - [04/Dec/2026 03:08:45] \"GET /nowhere HTTP/1.1\" 403 -",
        "events | on_upload ObjectCreated:Put uploads/a/b c.jpg: ok in 310 ms",
        "events | on_delete ObjectRemoved:Delete uploads/a/b.jpg: ok in 4 ms",
        "events | will retry in 2 s (attempt 2 of 3)",
        " setup | saved 3 objects and 4 items to x",
    ])
    assert stack_timings(log) == {"API POST /images": [54.5, 12.0], "API GET /images": [7.0],
                                  "handler on_upload": [310.0], "handler on_delete": [4.0]}
