"""Start, watch and stop the web server, Celery worker and Celery beat.

The commands are the Procfile's, from the project's venv, except that the
web server writes no access log: both endpoints under comparison run with
the same settings, and a log line per request would measure the terminal.
Every process started is recorded in a pid file, so the shell entrypoint's
trap can still stop it if this interpreter dies.
"""

import contextlib
import logging
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request

from memory import process_tree

logger = logging.getLogger(__name__)


class ServiceError(RuntimeError):
    pass


class Service:
    def __init__(self, name, argv, *, env, log_dir, pid_file):
        self.name = name
        self.argv = argv
        self.env = env
        self.log_path = log_dir / f"{name}.log"
        self.pid_file = pid_file
        self.process = None

    @property
    def pid(self):
        return self.process.pid

    def start(self):
        log = open(self.log_path, "ab")  # noqa: SIM115 - the child keeps it open
        # A session of its own keeps Ctrl-C away from the service, so teardown
        # happens in order, from here.
        self.process = subprocess.Popen(
            self.argv,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        with open(self.pid_file, "a") as pids:
            pids.write(f"{self.process.pid}\n")
        logger.info("Started %s (pid %s)", self.name, self.process.pid)

    def alive(self):
        return self.process is not None and self.process.poll() is None

    def log_tail(self, lines=20):
        try:
            return "\n".join(self.log_path.read_text().splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self, timeout=15):
        if not self.alive():
            return
        tree = process_tree(self.pid)
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            logger.warning("%s did not stop in %ss; killing it", self.name, timeout)
        # Children that outlived their parent (a killed worker) go by pid too.
        for pid in reversed(tree):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.process.wait(5)


def free_port(ports):
    for port in ports:
        with socket.socket() as probe:
            # As gunicorn binds: a socket in TIME_WAIT from the last run is no
            # obstacle, a listener is.
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise ServiceError(f"No free port in {ports[0]}-{ports[-1]}")


def wait_for_health(url, service, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not service.alive():
            raise ServiceError(f"{service.name} exited:\n{service.log_tail()}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.2)
    raise ServiceError(f"{url} not healthy after {timeout}s:\n{service.log_tail()}")


def wait_for_log(service, marker, timeout=60):
    """Wait until ``marker`` appears in the service's log; False on timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not service.alive():
            raise ServiceError(f"{service.name} exited:\n{service.log_tail()}")
        try:
            if marker in service.log_path.read_text(errors="replace"):
                return True
        except OSError:
            pass
        time.sleep(0.2)
    return False


class Stack:
    """gunicorn (2 sync workers), a Celery worker (concurrency 2) and beat."""

    def __init__(self, *, repo, env, port, log_dir, pid_file, worker_pool="threads"):
        bin_dir = repo / ".venv" / "bin"
        self.base_url = f"http://127.0.0.1:{port}"
        common = {"env": env, "log_dir": log_dir, "pid_file": pid_file}
        self.web = Service(
            "web",
            [
                str(bin_dir / "gunicorn"),
                "workbench.wsgi",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                "2",
                "--log-level",
                "warning",
            ],
            **common,
        )
        self.worker = Service(
            "worker",
            [
                str(bin_dir / "celery"),
                "-A",
                "workbench",
                "worker",
                "--loglevel",
                "INFO",
                "--pool",
                worker_pool,
                "--concurrency",
                "2",
                "--without-gossip",
                "--without-mingle",
            ],
            **common,
        )
        self.beat = Service(
            "beat",
            [str(bin_dir / "celery"), "-A", "workbench", "beat", "--loglevel", "INFO"],
            **common,
        )
        self.services = [self.web, self.worker, self.beat]

    def start(self):
        for service in self.services:
            service.start()
        health = f"{self.base_url}/api/public/health"
        wait_for_health(health, self.web)
        # Django loads the URLconf (every view module) on a worker's first
        # request: idle memory is read once both workers have served some.
        for _ in range(20):
            wait_for_health(health, self.web)
        # Tasks sent before the worker consumes would only wait in Redis, but
        # the idle memory reading must see a worker that finished booting.
        if not wait_for_log(self.worker, " ready."):
            logger.warning("Celery worker did not log 'ready.' in time")
        wait_for_log(self.beat, "beat: Starting", timeout=30)

    def check_alive(self):
        for service in self.services:
            if not service.alive():
                raise ServiceError(f"{service.name} died:\n{service.log_tail()}")

    def stop(self):
        for service in reversed(self.services):
            try:
                service.stop()
            except Exception:
                logger.exception("Stopping %s failed", service.name)
        if not any(service.alive() for service in self.services):
            # Nothing is left for the shell trap to stop, and pids get reused.
            for service in self.services:
                with contextlib.suppress(FileNotFoundError):
                    service.pid_file.unlink()
