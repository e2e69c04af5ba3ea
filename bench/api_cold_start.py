"""What powertools adds to the API function's cold start, measured side by side.

    .venv/bin/python bench/api_cold_start.py [--runs 21]

Each run is a fresh interpreter, as a cold Lambda is: `import app` alone, then
`import app` plus the first structured log line (telemetry imports powertools
on first use). The two are interleaved so machine noise hits both alike.
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CASES = {
    "import app": "import app",
    "import app + first log line": ("import app, io, contextlib\nfrom chalicelib.adapters import observability\n"
                                    "with contextlib.redirect_stdout(io.StringIO()):\n"
                                    "    observability.logger().info('request', extra={'status': 200})"),
}
TIMER = "import time\nstart = time.perf_counter()\n{code}\nprint((time.perf_counter() - start) * 1000)\n"


def once(code: str) -> float:
    env = {"AWS_DEFAULT_REGION": "us-east-1", "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-c", TIMER.format(code=code)], cwd=ROOT, env=env,
                         capture_output=True, text=True, check=True)
    return float(out.stdout.split()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=21)
    runs = parser.parse_args().runs
    times: dict[str, list[float]] = {name: [] for name in CASES}
    for name, code in CASES.items():
        once(code)  # warm the .pyc files and the page cache
    for _ in range(runs):
        for name, code in CASES.items():
            times[name].append(once(code))
    base = statistics.median(times["import app"])
    for name, values in times.items():
        median = statistics.median(values)
        print(f"{name:32s} median {median:7.1f} ms   x{median / base:.2f}")
    print(f"powertools on the API's cold path: +{statistics.median(times['import app + first log line']) - base:.1f} ms "
          f"({runs} runs each, {sys.version.split()[0]})")


if __name__ == "__main__":
    main()
