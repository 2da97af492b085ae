"""Fixtures for integration tests: a receiver, and hosts started as separate
processes under the library (never inside the test process)."""
import os
import signal
import socket
import subprocess
import sys
import time

import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(REPO, "tests", "receiver"))
from otlp_receiver import Receiver  # noqa: E402

PY = "/usr/bin/python3"
ASAN = os.environ.get("FEAST_OTEL_ASAN") == "1"


def preload_value():
    if ASAN:
        rt = subprocess.run(["gcc", "-print-file-name=libasan.so"], capture_output=True,
                            text=True, check=True).stdout.strip()
        return f"{rt} {os.path.join(REPO, 'build', 'asan', 'libfeast_otel.so')}"
    return os.environ.get("FEAST_OTEL_LIB", os.path.join(REPO, "build", "libfeast_otel.so"))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, timeout=20.0, proc=None, addr="127.0.0.1"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"host exited early with {proc.returncode}")
        try:
            with socket.create_connection((addr, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on port {port}")


def library_env(receiver=None, **extra):
    env = dict(os.environ)
    for k in list(env):
        if k.startswith("OTEL_") or k.startswith("FEAST_OTEL_") and k not in (
                "FEAST_OTEL_LIB", "FEAST_OTEL_ASAN"):
            del env[k]
    env["LD_PRELOAD"] = preload_value()
    if ASAN:
        env["ASAN_OPTIONS"] = "detect_leaks=0:abort_on_error=0:halt_on_error=1"
        env["UBSAN_OPTIONS"] = "print_stacktrace=1:halt_on_error=1"
    if receiver is not None:
        env["OTEL_EXPORTER_OTLP_ENDPOINT"] = receiver.endpoint
    env.setdefault("OTEL_METRIC_EXPORT_INTERVAL", "500")
    env.setdefault("OTEL_BSP_SCHEDULE_DELAY", "200")
    env.update({k: str(v) for k, v in extra.items()})
    return env


class Host:
    """A server under the library, in its own process group."""

    def __init__(self, cmd, env, port, cwd=REPO, addr="127.0.0.1"):
        self.port = port
        self.stderr_path = f"/tmp/fo-host-{os.getpid()}-{port}.err"
        self.err = open(self.stderr_path, "w+")
        self.proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=subprocess.DEVNULL,
                                     stderr=self.err, start_new_session=True)
        try:
            wait_port(port, proc=self.proc, addr=addr)
        except Exception:
            self.kill()
            raise RuntimeError(f"host {cmd} did not start:\n{self.stderr()}")

    @property
    def pid(self):
        return self.proc.pid

    def stderr(self):
        self.err.flush()
        with open(self.stderr_path) as f:
            return f.read()

    def stop(self, sig=signal.SIGTERM, timeout=30, group=True):
        """Graceful stop: the library flushes at exit. group=False signals only
        the main process, as a supervisor does with a pre-fork master that
        forwards the signal to its workers (a second SIGTERM would kill a
        uvicorn worker in the middle of its exit)."""
        if self.proc.poll() is None:
            try:
                if group:
                    os.killpg(self.proc.pid, sig)
                else:
                    self.proc.send_signal(sig)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()
                raise
        self.check_sanitizers()
        return self.proc.returncode

    def kill(self):
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(timeout=10)

    def check_sanitizers(self):
        text = self.stderr()
        assert "ERROR: AddressSanitizer" not in text, text[-4000:]
        assert "runtime error:" not in text, text[-4000:]


@pytest.fixture
def receiver():
    r = Receiver().start()
    yield r
    r.stop()
    assert not r.errors, r.errors


@pytest.fixture
def hosts():
    """Collects hosts so that every one is stopped even when a test fails."""
    started = []
    yield started
    for h in started:
        if h.proc.poll() is None:
            h.kill()


def start_feature_server(hosts, receiver, variant="default", host="127.0.0.1", **extra):
    port = free_port()
    cmd = [PY, "-m", "uvicorn", "app:app", "--app-dir", "tests/feature_server",
           "--host", host, "--port", str(port), "--no-access-log"]
    if variant == "asyncio-h11":
        cmd += ["--loop", "asyncio", "--http", "h11"]
    extra.setdefault("OTEL_SERVICE_NAME", "feature-server")
    h = Host(cmd, library_env(receiver, **extra), port, addr=host)
    hosts.append(h)
    return h


def assert_span_within(s, t0, t1, *context):
    """A span lies within its exchange as the client saw it, t0 before it
    sent and t1 after it had the whole response (time.time_ns()). The
    clock mapping is good to well under a microsecond: 1 ms before t0. After
    t1, 20 ms: the hooks read the clock once the real call has returned,
    and on a busy machine the server's thread can be preempted in between
    (3.4 ms has been seen)."""
    assert t0 - 1_000_000 <= s["start"] < s["end"] <= t1 + 20_000_000, (*context, t0, s, t1)


def get(port, path, conn=None, timeout=15):
    """GET path; returns (status, body). With conn, reuses that keep-alive
    connection, else uses a new one."""
    import http.client
    c = conn or http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    c.request("GET", path)
    r = c.getresponse()
    body = r.read()
    if conn is None:
        c.close()
    return r.status, body


def raw_exchange(port, data, expect_responses, timeout=10.0):
    """Sends raw bytes on one connection and reads until expect_responses
    complete HTTP responses (Content-Length or chunked) have arrived."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.sendall(data)
    buf = b""
    deadline = time.time() + timeout
    while count_responses(buf) < expect_responses and time.time() < deadline:
        chunk = s.recv(65536)
        if not chunk:
            break
        buf += chunk
    s.close()
    return buf


def count_responses(buf):
    """How many complete responses buf holds."""
    n, pos = 0, 0
    while True:
        end = buf.find(b"\r\n\r\n", pos)
        if end < 0:
            return n
        head = buf[pos:end].decode("latin-1").lower()
        body = end + 4
        status = int(head.split(" ", 2)[1])
        if "transfer-encoding: chunked" in head:
            term = buf.find(b"\r\n0\r\n\r\n", body - 2)
            if term < 0:
                return n
            pos = term + 7
        else:
            cl = 0
            for line in head.split("\r\n"):
                if line.startswith("content-length:"):
                    cl = int(line.split(":", 1)[1])
            if status in (204, 304) or 100 <= status < 200:
                cl = 0
            if len(buf) < body + cl:
                return n
            pos = body + cl
        if not 100 <= status < 200:
            n += 1
