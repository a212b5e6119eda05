"""Prompt fetch against the bare JSON view: req/s and latency by concurrency.

The load comes from wrk (one thread, so that it leaves the two cores to the
server as far as it can). Without wrk a Python load generator stands in; it
needs far more CPU per request than wrk, so its figures are lower bounds
and the report says so.
"""

import http.client
import json
import logging
import os
import shutil
import statistics
import subprocess
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

logger = logging.getLogger(__name__)

LUA_SCRIPT = Path(__file__).with_name("wrk_auth.lua")


def have_wrk():
    return shutil.which("wrk") is not None


def run_wrk(url, *, concurrency, duration, auth, etag=None):
    env = {"WB_BENCH_AUTH": auth, "WB_BENCH_IF_NONE_MATCH": etag or ""}
    argv = [
        "wrk",
        "-t1",
        f"-c{concurrency}",
        f"-d{duration}s",
        "--timeout",
        "5s",
        "--latency",
        "-s",
        str(LUA_SCRIPT),
        url,
    ]
    done = subprocess.run(
        argv,
        env=env | {"PATH": "/usr/bin:/bin:/usr/local/bin"},
        capture_output=True,
        text=True,
        timeout=duration + 30,
        check=False,
    )
    line = next(
        (row for row in done.stdout.splitlines() if row.startswith("WRK_JSON ")), None
    )
    if line is None:
        raise RuntimeError(f"wrk gave no figures:\n{done.stdout}\n{done.stderr}")
    raw = json.loads(line.removeprefix("WRK_JSON "))
    errors = sum(value for key, value in raw.items() if key.startswith("errors_"))
    return {
        "requests": raw["requests"],
        "rps": raw["requests"] / (raw["duration_us"] / 1e6),
        "p50_ms": raw["p50_us"] / 1000,
        "p90_ms": raw["p90_us"] / 1000,
        "p99_ms": raw["p99_us"] / 1000,
        "max_ms": raw["max_us"] / 1000,
        "errors": errors,
        "bytes_per_response": raw["bytes"] / max(raw["requests"], 1),
    }


def _percentile(sorted_values, fraction):
    if not sorted_values:
        return 0.0
    index = min(len(sorted_values) - 1, int(fraction * len(sorted_values)))
    return sorted_values[index]


def run_python(url, *, concurrency, duration, auth, etag=None):
    """A stand-in for wrk: one thread per connection, a new connection per
    request (gunicorn's sync workers close every connection anyway)."""
    parts = urlsplit(url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    headers = {"Authorization": auth}
    if etag:
        headers["If-None-Match"] = etag
    latencies = []
    errors = [0]
    lock = threading.Lock()
    deadline = time.monotonic() + duration

    def client():
        mine = []
        failed = 0
        while time.monotonic() < deadline:
            started = time.perf_counter()
            try:
                connection = http.client.HTTPConnection(
                    parts.hostname, parts.port, timeout=5
                )
                connection.request("GET", target, headers=headers)
                response = connection.getresponse()
                response.read()
                connection.close()
                if response.status >= 400:
                    failed += 1
            except OSError:
                failed += 1
            mine.append(time.perf_counter() - started)
        with lock:
            latencies.extend(mine)
            errors[0] += failed

    started = time.monotonic()
    threads = [threading.Thread(target=client) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(duration + 30)
    elapsed = time.monotonic() - started
    latencies.sort()
    return {
        "requests": len(latencies),
        "rps": len(latencies) / elapsed,
        "p50_ms": _percentile(latencies, 0.50) * 1000,
        "p90_ms": _percentile(latencies, 0.90) * 1000,
        "p99_ms": _percentile(latencies, 0.99) * 1000,
        "max_ms": (latencies[-1] if latencies else 0) * 1000,
        "errors": errors[0],
    }


def _median_of(runs):
    keys = ("rps", "p50_ms", "p90_ms", "p99_ms", "max_ms")
    summary = {key: statistics.median(run[key] for run in runs) for key in keys}
    summary["errors"] = sum(run["errors"] for run in runs)
    summary["runs"] = runs
    return summary


def compare(targets, *, auth, concurrencies, runs, duration, warmup):
    """Median figures per target and concurrency, runs interleaved.

    ``targets`` maps a name to ``(url, etag)``; an etag is sent as
    If-None-Match. Runs alternate between the targets so that a drift of the
    machine (another tenant, a CPU going hot) hits all of them alike.
    """
    runner = run_wrk if have_wrk() else run_python
    for name, (url, etag) in targets.items():
        logger.info("Warm-up %s for %ss", name, warmup)
        runner(url, concurrency=8, duration=warmup, auth=auth, etag=etag)
    results = {}
    for concurrency in concurrencies:
        collected = {name: [] for name in targets}
        for _ in range(runs):
            for name, (url, etag) in targets.items():
                run = runner(
                    url,
                    concurrency=concurrency,
                    duration=duration,
                    auth=auth,
                    etag=etag,
                )
                logger.info(
                    "%s c=%s: %.0f req/s, p50 %.2f ms, p99 %.2f ms, %s errors",
                    name,
                    concurrency,
                    run["rps"],
                    run["p50_ms"],
                    run["p99_ms"],
                    run["errors"],
                )
                run["loadavg_1m"] = os.getloadavg()[0]
                collected[name].append(run)
        results[concurrency] = {
            name: _median_of(runs) for name, runs in collected.items()
        }
    return {"load_generator": runner.__name__.removeprefix("run_"), "by_c": results}
