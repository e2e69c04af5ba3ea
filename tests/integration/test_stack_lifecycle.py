"""`make run`'s promises about starting and stopping: nothing left behind,
clear words for a taken port, data kept across restarts when asked."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from devstack.background import ROOT, BackgroundStack
from tests.conftest import image_bytes

pytestmark = pytest.mark.slow


def children_of(pid: int) -> set[int]:
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.add(int(stat.parent.name))
    return found


def port_of(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


def port_free(port: int) -> bool:
    """Whether a server could listen there now (as servers do, with SO_REUSEADDR,
    so closed connections still in TIME_WAIT do not count)."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
            sock.listen()
        except OSError:
            return False
    return True


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"


def wait_until(condition, timeout=10.0) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_a_signal_stops_every_process_and_frees_every_port(tmp_path, sig):
    stack = BackgroundStack(tmp_path / "stack.log").start()
    children = children_of(stack.pid)
    assert len(children) == 2, stack.log_tail()  # chalice local and the event bridge
    ports = [port_of(stack.api_url), port_of(stack.aws_url)]
    assert not any(port_free(p) for p in ports)

    assert stack.stop(sig) == 0, stack.log_tail()
    assert wait_until(lambda: not any(alive(p) for p in children)), stack.log_tail()
    assert all(port_free(p) for p in ports)
    assert "Traceback" not in stack.log_tail(200)


def test_a_child_that_dies_stops_the_rest(tmp_path):
    stack = BackgroundStack(tmp_path / "stack.log").start()
    children = children_of(stack.pid)
    os.kill(min(children), signal.SIGKILL)
    assert stack.proc.wait(30) == 1, stack.log_tail()
    assert wait_until(lambda: not any(alive(p) for p in children))
    assert port_free(port_of(stack.api_url)) and port_free(port_of(stack.aws_url))
    assert "exited with code -9; stopping everything" in stack.log_tail()


@pytest.mark.parametrize("taken", ["--api-port", "--aws-port"])
def test_a_port_in_use_is_a_clear_message_not_a_traceback(taken):
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        ports = {"--api-port": "0", "--aws-port": "0", taken: str(port)}
        run = subprocess.run([sys.executable, "-m", "devstack", "--no-persist", "--quiet", *sum(ports.items(), ())],
                             cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert run.returncode == 2
    setting = {"--api-port": "API_PORT", "--aws-port": "AWS_PORT"}[taken]
    assert f"port {port} on 127.0.0.1 is already in use" in run.stderr
    assert f"make run {setting}={port + 1}" in run.stderr
    assert "Traceback" not in run.stderr + run.stdout


def test_data_survives_a_restart_unless_fresh(tmp_path):
    import requests

    data_dir = tmp_path / "data"
    photo = image_bytes("JPEG", (500, 400))
    with BackgroundStack(tmp_path / "first.log", data_dir=data_dir) as stack:
        reply = requests.post(f"{stack.api_url}/images", data=photo, timeout=30,
                              params={"user_id": "keeper", "filename": "kept.jpg", "tags": "kept"},
                              headers={"Content-Type": "image/jpeg"})
        image_id = reply.json()["image_id"]
        status = lambda: requests.get(f"{stack.api_url}/images/{image_id}", timeout=30).json()["status"]  # noqa: E731
        assert wait_until(lambda: status() == "ready", 45), stack.log_tail()
    assert stack.proc.returncode == 0, stack.log_tail()

    with BackgroundStack(tmp_path / "second.log", data_dir=data_dir) as stack:
        reply = requests.get(f"{stack.api_url}/images/{image_id}", timeout=30)
        assert reply.status_code == 200, f"{reply.text}\n{stack.log_tail()}"
        body = reply.json()
        assert (body["status"], body["tags"]) == ("ready", ["kept"]), f"{body}\n{stack.log_tail()}"
        assert requests.get(body["urls"]["original"], timeout=30).content == photo
        assert requests.get(body["urls"]["thumb"], timeout=30).status_code == 200
        listed = requests.get(f"{stack.api_url}/images", params={"tag": "kept"}, timeout=30).json()
        assert [i["image_id"] for i in listed["images"]] == [image_id], f"{listed}\n{stack.log_tail()}"
    assert stack.proc.returncode == 0, stack.log_tail()

    with BackgroundStack(tmp_path / "third.log", data_dir=data_dir, fresh=True) as stack:
        assert requests.get(f"{stack.api_url}/images/{image_id}", timeout=30).status_code == 404


def _saved_stack(directory: Path, objects: int, items: int) -> tuple[dict[str, bytes], list[dict]]:
    """A saved stack (devstack/snapshot.py's layout) of `objects` variants and `items` items."""
    import hashlib
    import json

    (directory / "objects").mkdir(parents=True)
    bodies, manifest = {}, []
    for n in range(objects):
        key = f"processed/img{n:04}/thumb.jpg"  # nothing subscribes there: restoring runs no handler
        bodies[key] = f"variant {n} ".encode() * 40
        name = hashlib.sha256(key.encode()).hexdigest()
        (directory / "objects" / name).write_bytes(bodies[key])
        manifest.append({"key": key, "file": name, "content_type": "image/jpeg", "metadata": {"n": str(n)}})
    (directory / "objects.json").write_text(json.dumps(manifest))
    rows = [{"pk": {"S": f"IMG#{n:04}"}, "sk": {"S": "REC"}, "g1pk": {"S": "IMG"}, "gsk": {"S": f"{n:04}"},
             "status": {"S": "ready"}} for n in range(items)]
    (directory / "items.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return bodies, rows


def test_a_stack_holding_a_thousand_images_exits_within_seconds_of_stopping(tmp_path):
    """Issue 20: after `saved 1644 objects and 1611 items ... stopped` the process spun
    in its final garbage collection for more than ten minutes. moto had kept every
    Item it ever made, among them a copy of the whole table per item of every
    transaction (devstack/moto_fixes.py). Here: a thousand objects and items, and
    100 transactions shaped like uploads (a record and three tags); then Ctrl-C."""
    import json

    data = tmp_path / "data"
    bodies, rows = _saved_stack(data / "local", objects=1000, items=1000)
    log = tmp_path / "stack.log"
    stack = BackgroundStack(log, data_dir=data).start()
    try:
        ddb = stack.client("dynamodb")
        for n in range(100):
            ddb.transact_write_items(TransactItems=[
                {"Put": {"TableName": stack.table, "ConditionExpression": "attribute_not_exists(pk)",
                         "Item": {"pk": {"S": f"IMG#new{n:03}"}, "sk": {"S": sk}, "g1pk": {"S": "IMG"},
                                  "gsk": {"S": f"new{n:03}"}}}}
                for sk in ("REC", "TAG#a", "TAG#b", "TAG#c")])
    except BaseException:
        stack.stop(signal.SIGKILL)
        raise

    stack.proc.send_signal(signal.SIGINT)
    stopped_at = None
    deadline = time.monotonic() + 120  # the save itself: about 6 s for a thousand objects here
    while stack.proc.poll() is None and time.monotonic() < deadline:
        if stopped_at is None and log.read_text().rstrip().endswith("\nstopped"):
            stopped_at = time.monotonic()
        if stopped_at is not None and time.monotonic() - stopped_at > 10:
            break
        time.sleep(0.05)
    code = stack.proc.poll()
    if code is None:
        stack.proc.kill()
    assert stopped_at is not None or code is not None, stack.log_tail()
    assert code == 0, f"still running 10 s after 'stopped' (exit code {code}):\n{stack.log_tail()}"

    assert "saved 1000 objects and 1400 items" in stack.log_tail(), stack.log_tail()
    manifest = json.loads((data / "local" / "objects.json").read_text())
    saved = {e["key"]: (data / "local" / "objects" / e["file"]).read_bytes() for e in manifest}
    assert saved == bodies
    assert {e["key"]: e["metadata"] for e in manifest} == {k: {"n": str(int(k[13:17]))} for k in bodies}
    items = [json.loads(line) for line in (data / "local" / "items.jsonl").read_text().splitlines()]
    key = lambda i: (i["pk"]["S"], i["sk"]["S"])  # noqa: E731
    expected = rows + [{"pk": {"S": f"IMG#new{n:03}"}, "sk": {"S": sk}, "g1pk": {"S": "IMG"},
                        "gsk": {"S": f"new{n:03}"}} for n in range(100) for sk in ("REC", "TAG#a", "TAG#b", "TAG#c")]
    assert sorted(items, key=key) == sorted(expected, key=key)
