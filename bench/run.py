"""`make bench`: prompt fetch, ingestion end to end and memory, on PostgreSQL + Redis.

Every run starts from an empty bench database and Redis database, starts the
three services from the project's venv, measures, stops them and prints the
figures with their targets; the JSON record goes to bench/results/.

Settings come from the environment (defaults in brackets): BENCH_DATABASE_URL
[postgres://postgres@127.0.0.1:5432/wb_bench], BENCH_REDIS_URL
[redis://127.0.0.1:6379/10], BENCH_VAR_DIR [/tmp/wb_bench-var], BENCH_PORTS
[8150-8159], BENCH_RUNS [5], BENCH_DURATION [2], BENCH_WARMUP [2],
BENCH_GENERATIONS [20000], BENCH_BATCH_SIZE [100], BENCH_CLIENTS [4],
BENCH_INGEST_TIMEOUT [300], BENCH_ONLY [fetch,ingest], BENCH_WORKER_POOL
[threads], BENCH_PROFILE [0] (1: sample the servers with py-spy), BENCH_EXPERIMENTS [1]
(0: skip the fetch variants of workbench/bench_views.py).
"""

import base64
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import quote, urlparse

import cpu
import fetch
import ingest
import psycopg
import redis
import report
import sampling
from memory import tree_memory, tree_rss_kib
from services import ServiceError, Stack, free_port

logger = logging.getLogger("bench")

REPO = Path(__file__).resolve().parent.parent
PYTHON = REPO / ".venv" / "bin" / "python"


def setting(name, default):
    return os.environ.get(name, default)


def config():
    low, _, high = setting("BENCH_PORTS", "8150-8159").partition("-")
    return {
        "database_url": setting(
            "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/wb_bench"
        ),
        "redis_url": setting("BENCH_REDIS_URL", "redis://127.0.0.1:6379/10"),
        "var_dir": Path(setting("BENCH_VAR_DIR", "/tmp/wb_bench-var")),
        "ports": list(range(int(low), int(high or low) + 1)),
        "runs": int(setting("BENCH_RUNS", "5")),
        "duration": int(setting("BENCH_DURATION", "2")),
        "warmup": int(setting("BENCH_WARMUP", "2")),
        "generations": int(setting("BENCH_GENERATIONS", "20000")),
        "batch_size": int(setting("BENCH_BATCH_SIZE", "100")),
        "clients": int(setting("BENCH_CLIENTS", "4")),
        "ingest_timeout": int(setting("BENCH_INGEST_TIMEOUT", "300")),
        "only": setting("BENCH_ONLY", "fetch,ingest").split(","),
        # The Procfile's pool is threads (one process); "prefork" shows what a
        # process per slot buys in throughput and costs in memory.
        "worker_pool": setting("BENCH_WORKER_POOL", "threads"),
        "profile": setting("BENCH_PROFILE", "0") == "1",
        "experiments": setting("BENCH_EXPERIMENTS", "1") == "1",
    }


def service_env(cfg):
    env = {
        key: value
        for key, value in os.environ.items()
        if key in {"PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR"}
    }
    env.update(
        DJANGO_SETTINGS_MODULE="workbench.settings",
        DATABASE_URL=cfg["database_url"],
        REDIS_URL=cfg["redis_url"],
        CACHE_KEY_PREFIX="wbbench",
        WORKBENCH_VAR_DIR=str(cfg["var_dir"]),
        WORKBENCH_BENCH_VIEWS="1",
        SECRET_KEY="bench-secret-key-not-for-production-0123456789",
        DEBUG="0",
        LOG_LEVEL="WARNING",
        PYTHONPATH=str(REPO),
    )
    env["PATH"] = f"{REPO / '.venv' / 'bin'}:{env.get('PATH', '/usr/bin:/bin')}"
    return env


def reset_database(database_url):
    """Drop and recreate the bench database; refuse any other database."""
    url = urlparse(database_url)
    name = url.path.lstrip("/")
    if not name.startswith("wb_bench"):
        raise SystemExit(f"Refusing to reset database {name!r}: not a wb_bench* name")
    admin_url = url._replace(path="/postgres").geturl()
    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    subprocess.run(
        [str(PYTHON), str(REPO / "scripts" / "ensure-database"), database_url],
        check=True,
    )


def prepare(cfg, env):
    logger.info("Resetting %s and %s", cfg["database_url"], cfg["redis_url"])
    shutil.rmtree(cfg["var_dir"], ignore_errors=True)
    cfg["var_dir"].mkdir(parents=True)
    (cfg["var_dir"] / "logs").mkdir()
    reset_database(cfg["database_url"])
    redis.Redis.from_url(cfg["redis_url"]).flushdb()
    subprocess.run(
        [str(PYTHON), "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=REPO,
        env=env,
        check=True,
    )
    seeded = subprocess.run(
        [str(PYTHON), str(REPO / "bench" / "seed_data.py")],
        cwd=REPO,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(seeded.stdout.strip().splitlines()[-1])


def basic_auth(seed):
    token = base64.b64encode(f"{seed['public_key']}:{seed['secret']}".encode())
    return f"Basic {token.decode()}"


def fetch_url(base_url, seed):
    # The SDK percent-encodes the folder slash; WSGI hands the view a "/".
    return (
        f"{base_url}/api/public/v2/prompts/{quote(seed['prompt_name'], safe='')}"
        "?label=production"
    )


def check_fetch(url, auth, seed):
    """The fetch must answer 200 with the prompt and an ETag before it is timed."""
    request = urllib.request.Request(url, headers={"Authorization": auth})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            body = json.loads(response.read())
            etag = response.headers.get("ETag")
    except urllib.error.HTTPError as error:
        return None, f"prompt fetch answered {error.code}: {error.read()[:200]!r}"
    except (urllib.error.URLError, OSError, ValueError) as error:
        return None, f"prompt fetch failed: {error}"
    if body.get("name") != seed["prompt_name"] or "production" not in body.get(
        "labels", []
    ):
        return None, f"prompt fetch returned an unexpected body: {str(body)[:200]}"
    return etag, None


def measure_memory(stack):
    readings = {
        service.name: tree_memory(service.pid).as_dict() for service in stack.services
    }
    readings["total"] = {
        key: round(sum(readings[name][key] for name in ("web", "worker", "beat")), 1)
        for key in ("rss_mib", "pss_mib", "hwm_mib")
    }
    return readings


class PeakMemory:
    """Keeps the largest tree RSS seen per service while the load runs."""

    def __init__(self, stack):
        self.stack = stack
        self.peak_kib = {}

    def sample(self):
        services = {service.pid: service.name for service in self.stack.services}
        readings = tree_rss_kib(services)
        for pid, kib in readings.items():
            name = services[pid]
            self.peak_kib[name] = max(kib, self.peak_kib.get(name, 0))
        self.peak_kib["total"] = max(
            sum(readings.values()), self.peak_kib.get("total", 0)
        )

    def result(self):
        # High-water marks cover the whole run, load spikes between samples too.
        final = measure_memory(self.stack)
        return {
            name: {
                "rss_mib": round(self.peak_kib.get(name, 0) / 1024, 1),
                "hwm_mib": final[name]["hwm_mib"],
            }
            for name in final
        }


def run_fetch(cfg, stack, seed, auth, result):
    if "prompt_version" not in seed:
        result["notes"].append(f"prompt fetch skipped: {seed.get('prompt_error')}")
        return
    url = fetch_url(stack.base_url, seed)
    etag, problem = check_fetch(url, auth, seed)
    if problem:
        result["notes"].append(f"prompt fetch skipped: {problem}")
        return
    if not fetch.have_wrk():
        result["notes"].append(
            "wrk is not installed: a Python load generator stood in; it burns "
            "CPU the server needs, so these req/s are lower bounds"
        )
    targets = {
        "fetch": (url, None),
        "bare": (f"{stack.base_url}/bench/bare", None),
    }
    if etag:
        targets["fetch_revalidate"] = (url, etag)
    else:
        result["notes"].append("the prompt fetch sent no ETag")
    measured = fetch.compare(
        targets,
        auth=auth,
        concurrencies=(1, 8, 64),
        runs=cfg["runs"],
        duration=cfg["duration"],
        warmup=cfg["warmup"],
    )
    measured.update(runs=cfg["runs"], duration=cfg["duration"], url=url, etag=etag)
    result["fetch"] = measured
    result["fetch_cpu_at_8"] = fetch_cpu(cfg, stack, auth, targets)
    if cfg["experiments"]:
        run_fetch_experiments(cfg, stack, seed, auth, targets, result)
    if cfg["profile"]:
        profile_fetch(cfg, stack, auth, targets, result)


def fetch_cpu(cfg, stack, auth, targets):
    """CPU microseconds per request by part, one c=8 run per endpoint."""
    database = urlparse(cfg["database_url"]).path.lstrip("/")
    readings = {}
    for name in ("fetch", "bare"):
        url, etag = targets[name]
        meter = cpu.Meter(stack.services, database=database)
        started = time.perf_counter()
        run = fetch.run_wrk(
            url, concurrency=8, duration=cfg["duration"], auth=auth, etag=etag
        )
        reading = meter.read(time.perf_counter() - started)
        reading["requests"] = run["requests"]
        reading["us_per_request"] = {
            part: round(seconds / run["requests"] * 1e6, 1)
            for part, seconds in reading["parts_cpu_s"].items()
        }
        readings[name] = reading
    return readings


def run_fetch_experiments(cfg, stack, seed, auth, targets, result):
    """The same fetch with one cache round trip and with none (bench_views)."""
    name = quote(seed["prompt_name"], safe="")
    variants = {
        "fetch": targets["fetch"],
        "bare": targets["bare"],
        "one_trip": (
            f"{stack.base_url}/bench/fetch-one-trip/{name}?label=production",
            None,
        ),
        "in_process": (
            f"{stack.base_url}/bench/fetch-in-process/{name}?label=production",
            None,
        ),
    }
    for variant, (url, _) in variants.items():
        _, problem = check_fetch(url, auth, seed)
        if problem and variant != "bare":
            result["notes"].append(f"experiment {variant} skipped: {problem}")
            return
    measured = fetch.compare(
        variants,
        auth=auth,
        concurrencies=(8,),
        runs=cfg["runs"],
        duration=cfg["duration"],
        warmup=1,
    )
    result["fetch_experiments"] = measured["by_c"][8]


def worker_pids(service):
    """The pids doing the work: a pre-forking master's children, or itself."""
    tree = tree_memory(service.pid).pids
    return tree[1:] or tree


def profile_fetch(cfg, stack, auth, targets, result):
    seconds = max(cfg["duration"], 5)
    for name in ("fetch", "bare"):
        url, etag = targets[name]
        recorders = sampling.start(
            worker_pids(stack.web),
            seconds=seconds,
            out_dir=cfg["var_dir"] / "profiles",
            label=name,
        )
        if not recorders:
            result["notes"].append("BENCH_PROFILE=1 but no py-spy found")
            return
        fetch.run_wrk(url, concurrency=8, duration=seconds, auth=auth, etag=etag)
        outputs = sampling.finish(recorders, timeout=seconds + 20)
        result.setdefault("profile", {})[f"web: {name} at c=8"] = sampling.summarize(
            outputs
        )


def run_ingest(cfg, stack, seed, auth, result, peak):
    prompt = {
        "name": seed["prompt_name"],
        "version": seed.get("prompt_version"),
        # The generation's input carries the compiled prompt, as in production.
        "text": seed["prompt_text"],
    }

    def tick():
        peak.sample()
        stack.check_alive()

    recorders = {}
    if cfg["profile"]:
        for name, service in (("web", stack.web), ("worker", stack.worker)):
            recorders[name] = sampling.start(
                tree_memory(service.pid).pids,
                seconds=cfg["ingest_timeout"],
                out_dir=cfg["var_dir"] / "profiles",
                label=f"ingest-{name}",
            )
    bodies = ingest.build_batches(
        generations=cfg["generations"],
        batch_size=cfg["batch_size"],
        public_key=seed["public_key"],
        prompt=prompt,
    )
    database = urlparse(cfg["database_url"]).path.lstrip("/")
    meter = cpu.Meter(stack.services, database=database)
    result["ingest"] = ingest.run(
        bodies=bodies,
        base_url=stack.base_url,
        database_url=cfg["database_url"],
        project_id=seed["project_id"],
        auth=auth,
        public_key=seed["public_key"],
        generations=cfg["generations"],
        batch_size=cfg["batch_size"],
        clients=cfg["clients"],
        timeout=cfg["ingest_timeout"],
        on_tick=tick,
    )
    result["ingest"]["cpu"] = meter.read(result["ingest"]["end_to_end_seconds"])
    for name, started in recorders.items():
        outputs = sampling.finish(started, timeout=20, interrupt=True)
        result.setdefault("profile", {})[f"{name}: ingestion"] = sampling.summarize(
            outputs
        )


def main():
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S"
    )
    cfg = config()
    env = service_env(cfg)
    result = {
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "git_commit": subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip(),
        "cpus": os.cpu_count(),
        "config": {key: str(value) for key, value in cfg.items()},
        "notes": [],
    }
    load = result["loadavg_before"] = os.getloadavg()
    if load[0] > 0.5:
        # Other work on the two cores takes CPU from the server and skews
        # the figures; the medians over several runs soften it, no more.
        result["notes"].append(
            f"the machine was busy before the run (load {load[0]:.2f})"
        )
    seed = prepare(cfg, env)
    auth = basic_auth(seed)
    port = free_port(cfg["ports"])
    stack = Stack(
        repo=REPO,
        env=env,
        port=port,
        log_dir=cfg["var_dir"] / "logs",
        pid_file=cfg["var_dir"] / "pids",
        worker_pool=cfg["worker_pool"],
    )
    # SIGTERM (the shell trap, a CI timeout) must still stop the services.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        stack.start()
        time.sleep(3)
        result["memory"] = {"idle": measure_memory(stack)}
        peak = PeakMemory(stack)
        if "fetch" in cfg["only"]:
            run_fetch(cfg, stack, seed, auth, result)
        if "ingest" in cfg["only"]:
            run_ingest(cfg, stack, seed, auth, result, peak)
            result["memory"]["peak"] = peak.result()
        stack.check_alive()
    except ServiceError as error:
        result["notes"].append(f"service failure: {error}")
        logger.error("%s", error)
    finally:
        stack.stop()
    result["loadavg_after"] = os.getloadavg()
    print()
    print(report.render(result))
    path = report.save(result)
    print(f"\nResults: {path.relative_to(REPO)}; service logs in {cfg['var_dir']}/logs")


if __name__ == "__main__":
    main()
