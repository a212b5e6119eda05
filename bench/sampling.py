"""Where the server's CPU time goes, sampled with py-spy while the load runs.

py-spy is not a project dependency: BENCH_PROFILE=1 uses the binary named by
PY_SPY, else ``py-spy`` on PATH, else /tmp/pyspy/bin/py-spy (``pip install
--target /tmp/pyspy py-spy``). Idle samples (a worker waiting in accept or
for a task) are left out, so the shares are shares of busy CPU time.

Each sample goes to the innermost frame that falls in a known part of the
stack, so a socket read under the cache client counts as "Redis cache" and
json.dumps under JsonResponse counts as "JSON".
"""

import logging
import os
import shutil
import signal
import subprocess
from collections import Counter
from pathlib import Path

logger = logging.getLogger(__name__)

# (start of a frame's file path, bucket): py-spy names files relative to
# their sys.path entry, e.g. "redis/connection.py", "workbench/auth.py".
BUCKETS = [
    ("redis/", "Redis cache client (incl. round-trip wait)"),
    ("django/core/cache/", "Redis cache client (incl. round-trip wait)"),
    ("psycopg/", "PostgreSQL (psycopg, incl. wait)"),
    ("django/db/models/sql/", "ORM query building"),
    ("django/db/models/", "ORM models / querysets"),
    ("django/db/backends/", "PostgreSQL (Django backend)"),
    ("django/db/", "Django db (connections, transactions)"),
    ("json/", "JSON encode/decode"),
    ("gzip.py", "gzip"),
    ("google/protobuf/", "protobuf decode"),
    ("opentelemetry/", "protobuf decode"),
    ("genai_prices/", "pricing (genai-prices)"),
    ("pydantic", "pricing (genai-prices)"),
    ("kombu/", "Celery / kombu (broker)"),
    ("celery/", "Celery / kombu (broker)"),
    ("billiard/", "Celery / kombu (broker)"),
    ("workbench/auth.py", "API key auth (parse, hash)"),
    ("prompts/cache.py", "prompt cache logic"),
    ("prompts/api/", "prompt fetch view"),
    ("tracing/", "tracing app code"),
    ("django/contrib/sessions/", "middleware: sessions"),
    ("django/middleware/csrf.py", "middleware: CSRF"),
    ("django/contrib/auth/middleware.py", "middleware: auth"),
    ("django/contrib/messages/", "middleware: messages"),
    ("simple_history/middleware.py", "middleware: simple_history"),
    ("whitenoise/", "middleware: whitenoise"),
    ("django/middleware/", "middleware: security/common/clickjacking"),
    ("django/urls/", "URL resolving"),
    ("django/http/", "HttpRequest / HttpResponse"),
    ("django/dispatch/", "request signals"),
    ("django/core/handlers/", "Django handler"),
    ("workbench/bench_views.py", "bare view"),
    ("gunicorn/", "gunicorn (accept, parse, write, close)"),
]
# Helpers that many parts call: they count for their caller when it is known.
GENERIC = [
    ("socket.py", "sockets"),
    ("django/utils/", "Django utils"),
    ("logging/", "logging"),
    ("email/", "email.utils (HTTP dates)"),
]


def _path(frame):
    inside = frame[frame.rfind("(") + 1 :]
    return inside.rpartition(":")[0] or inside


def _match(path, table):
    for fragment, bucket in table:
        if path.startswith(fragment) or f"/{fragment}" in path:
            return bucket
    return None


def py_spy_path():
    for candidate in (
        os.environ.get("PY_SPY"),
        shutil.which("py-spy"),
        "/tmp/pyspy/bin/py-spy",
    ):
        if candidate and Path(candidate).is_file():
            return candidate
    return None


def start(pids, *, seconds, out_dir, label):
    """Start one py-spy per pid; returns (process, output path) pairs."""
    binary = py_spy_path()
    if binary is None:
        return []
    out_dir.mkdir(parents=True, exist_ok=True)
    recorders = []
    for pid in pids:
        output = out_dir / f"{label}-{pid}.txt"
        process = subprocess.Popen(
            [
                binary,
                "record",
                "--pid",
                str(pid),
                "--duration",
                str(seconds),
                "--rate",
                "250",
                "--nonblocking",
                "--format",
                "raw",
                "--output",
                str(output),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        recorders.append((process, output))
    return recorders


def finish(recorders, timeout, *, interrupt=False):
    """Wait for the recorders (or stop them now: py-spy writes on SIGINT)."""
    outputs = []
    for process, _ in recorders:
        if interrupt and process.poll() is None:
            process.send_signal(signal.SIGINT)
    for process, output in recorders:
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
        if output.exists():
            outputs.append(output)
    return outputs


def bucket_of(stack):
    fallback = None
    for frame in reversed(stack.split(";")):
        path = _path(frame)
        bucket = _match(path, BUCKETS)
        if bucket:
            return bucket
        fallback = fallback or _match(path, GENERIC)
    return fallback or "other"


def summarize(outputs):
    """Busy samples per bucket, largest first, with shares."""
    counts = Counter()
    for output in outputs:
        for line in output.read_text(errors="replace").splitlines():
            stack, _, count = line.rpartition(" ")
            if stack and count.isdigit():
                counts[bucket_of(stack)] += int(count)
    total = sum(counts.values())
    return {
        "samples": total,
        "buckets": [
            {"bucket": bucket, "samples": n, "share": round(n / total, 3)}
            for bucket, n in counts.most_common()
        ]
        if total
        else [],
    }
