"""Delivery: both OTLP transports decoded by an independent receiver, and a
misbehaving collector that never hurts the host nor loses data silently."""
import http.client
import os
import statistics
import threading
import time

import pytest

from conftest import ASAN, Host, PY, REPO, Receiver, free_port, library_env


def start_server(hosts, receiver, **extra):
    """The Feast-style feature server (uvicorn defaults) under the library."""
    port = free_port()
    cmd = [PY, "-m", "uvicorn", "app:app", "--app-dir", "tests/feature_server",
           "--host", "127.0.0.1", "--port", str(port), "--no-access-log"]
    extra.setdefault("OTEL_SERVICE_NAME", "feature-server")
    h = Host(cmd, library_env(receiver, **extra), port)
    hosts.append(h)
    return h


def transport_env(grpc, gzip=False, timeout_ms=1000):
    env = {"OTEL_EXPORTER_OTLP_TIMEOUT": timeout_ms}
    if grpc:
        env["OTEL_EXPORTER_OTLP_PROTOCOL"] = "grpc"
    if gzip:
        env["OTEL_EXPORTER_OTLP_COMPRESSION"] = "gzip"
    return env


class Load:
    """Sequential keep-alive GET /health from a thread; records latencies."""

    def __init__(self, port):
        self.port = port
        self.latencies = []
        self.sent = 0
        self.errors = 0
        self.stop_flag = threading.Event()
        self.thread = None

    def run_for(self, seconds):
        """Drives load for that long; returns the latencies of that phase."""
        start = len(self.latencies)
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            t0 = time.perf_counter()
            try:
                conn.request("GET", "/health")
                r = conn.getresponse()
                r.read()
                ok = r.status == 200
            except OSError:
                ok = False
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
            self.sent += 1
            if ok:
                self.latencies.append(time.perf_counter() - t0)
            else:
                self.errors += 1
        conn.close()
        return self.latencies[start:]


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def latest_sum(receiver, name, **attrs):
    """Sum over the newest point of each series of `name` matching attrs."""
    total = 0
    for p in receiver.latest_points(name):
        if all(p["attributes"].get(k) == v for k, v in attrs.items()):
            total += p["point"].as_int
    return total


def accounting(receiver):
    """What the library says became of every span, from its own metrics."""
    return {
        "exported": latest_sum(receiver, "feast_otel.spans.exported"),
        "queue_full": latest_sum(receiver, "feast_otel.spans.dropped", reason="queue_full"),
        "export_failed": latest_sum(receiver, "feast_otel.spans.dropped",
                                    reason="export_failed"),
        "rejected": latest_sum(receiver, "feast_otel.spans.dropped", reason="rejected"),
        "ring_full": latest_sum(receiver, "feast_otel.records.dropped", reason="ring_full"),
    }


def health_spans(receiver):
    return sum(1 for s in receiver.spans() if s["name"] == "GET /health")


def health_span_ids(receiver):
    return {s["span_id"] for s in receiver.spans() if s["name"] == "GET /health"}


def path_span_ids(receiver, path):
    return {s["span_id"] for s in receiver.spans()
            if s["attributes"].get("url.path") == path}


RECOVERED_PATH, RECOVERED_N = "/test/pid", 20


def send_recovered_batch(port):
    """A batch the fault phases never saw: another path, on one connection."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    for _ in range(RECOVERED_N):
        conn.request("GET", RECOVERED_PATH)
        r = conn.getresponse()
        r.read()
        assert r.status == 200
    conn.close()


@pytest.mark.parametrize("grpc", [False, True], ids=["http", "grpc"])
@pytest.mark.parametrize("gzip", [False, True], ids=["plain", "gzip"])
def test_every_signal_decoded_by_the_official_protos(hosts, grpc, gzip):
    rec = Receiver(grpc=grpc).start()
    try:
        h = start_server(hosts, rec, OTEL_EXPORTER_OTLP_HEADERS="x-api-key=s3cret%21",
                         **transport_env(grpc, gzip))
        load = Load(h.port)
        load.run_for(0.5)
        n = load.sent
        assert rec.wait_for(lambda: health_spans(rec) == n), (health_spans(rec), n)
        assert rec.wait_for(lambda: sum(p["point"].count for p in rec.latest_points(
            "http.server.request.duration")) == n)
        assert rec.wait_for(lambda: rec.latest_points("process.cpu.time"))
        span = next(s for s in rec.spans() if s["name"] == "GET /health")
        assert span["attributes"]["http.response.status_code"] == 200
        assert span["resource"]["service.name"] == "feature-server"
        with rec.lock:
            headers = [{k.lower(): v for k, v in hdr.items()} for _, _, hdr in rec.requests]
        assert headers and all(hd.get("x-api-key") == "s3cret!" for hd in headers)
        flags = rec.grpc_compressed if grpc else rec.compressed
        assert flags and all(c == gzip for c in flags), flags
        # One connection per signal, kept for every export that follows.
        with rec.lock:
            exports = len(rec.requests)
        assert exports >= 4 and rec.connections <= 2, (exports, rec.connections)
        assert h.stop() == 0
        assert "feast-otel:" not in h.stderr(), h.stderr()
    finally:
        rec.stop()
    assert not rec.errors, rec.errors


def test_grpc_answers_the_collectors_pings_on_one_connection(hosts):
    """A collector that PINGs its clients (gRPC keepalive, here every 100 ms;
    grpcio also PINGs to size its windows) closes a connection that does not
    answer within its keepalive timeout. The library answers every PING, so
    one connection per signal carries every export."""
    rec = Receiver(grpc=True, ping_ms=100).start()
    try:
        h = start_server(hosts, rec, OTEL_METRIC_EXPORT_INTERVAL=300,
                         **transport_env(True))
        load = Load(h.port)
        load.run_for(2.0)
        n = load.sent
        assert rec.wait_for(lambda: health_spans(rec) == n), (health_spans(rec), n)
        assert rec.wait_for(lambda: rec.ping_acks >= 5), rec.ping_acks
        assert rec.connections <= 2, rec.connections
        assert h.stop() == 0
        assert "feast-otel:" not in h.stderr(), h.stderr()
    finally:
        rec.stop()
    assert not rec.errors, rec.errors


FAULTS = [
    ("refuse", {}),
    ("blackhole", {}),
    ("status503", {"mode": "status", "code": 503, "retry_after": 1,
                   "grpc_code": "UNAVAILABLE"}),
    ("status429", {"mode": "status", "code": 429, "grpc_code": "RESOURCE_EXHAUSTED",
                   "retry_delay": 0.5}),
    ("status400", {"mode": "status", "code": 400, "grpc_code": "INVALID_ARGUMENT"}),
    ("close_mid", {}),
    ("garbage", {}),
    ("slow", {"delay": 2.0}),
    ("restart", {}),
]


ROUNDS, PHASE = 8, 0.25


def apply_fault(rec, name, kw):
    """A restart is the collector going away for a phase and coming back."""
    kw = dict(kw)
    mode = kw.pop("mode", name)
    rec.set_fault("refuse" if name == "restart" else mode, **kw)


@pytest.mark.parametrize("grpc", [False, True], ids=["http", "grpc"])
@pytest.mark.parametrize("fault,kw", FAULTS, ids=[f[0] for f in FAULTS])
def test_a_misbehaving_collector_never_hurts_the_host(hosts, grpc, fault, kw):
    if ASAN and not grpc:
        pytest.skip("the ASan run covers the fault matrix over gRPC only")
    rec = Receiver(grpc=grpc).start()
    timeout_ms = 5000 if fault == "slow" else 3000
    try:
        h = start_server(hosts, rec, OTEL_METRIC_EXPORT_INTERVAL=300, OTEL_BSP_SCHEDULE_DELAY=100,
                         **transport_env(grpc, timeout_ms=timeout_ms))
        load = Load(h.port)
        load.run_for(0.3)  # warm up
        rss_before = rss_kib(h.pid)
        # Healthy and faulty phases alternate, so that the noise of a client,
        # a host and a receiver sharing two cores falls on both alike. The
        # host did not wait for the collector if its latency and throughput
        # while the collector misbehaved are those of the healthy phases
        # (measured: within about 5 %; asserted: within 10 %). Requests take
        # ~0.2 ms, so a burst of noise on a shared machine can tip one series
        # of phases; a host that waits for the collector fails every series.
        for attempt in range(3):
            healthy, faulty = [], []
            for _ in range(ROUNDS):
                healthy += load.run_for(PHASE)
                apply_fault(rec, fault, kw)
                faulty += load.run_for(PHASE)
                rec.set_fault(None)
            assert max(faulty) < 0.5, max(faulty)
            p50_ok, p50_bad = statistics.median(healthy), statistics.median(faulty)
            rate_ok, rate_bad = len(healthy), len(faulty)
            if p50_bad <= p50_ok * 1.1 and rate_bad >= rate_ok * 0.9:
                break
        rss_during = rss_kib(h.pid)
        load.run_for(0.5)  # after recovery
        n = load.sent
        assert load.errors == 0
        assert p50_bad <= p50_ok * 1.1, (p50_ok, p50_bad)
        assert rate_bad >= rate_ok * 0.9, (rate_ok, rate_bad)
        # Memory stays bounded (ring and span queue are fixed-size). ASan keeps
        # freed memory in quarantine, so RSS says nothing in that run.
        if not ASAN:
            assert rss_during - rss_before < 20 * 1024, (rss_before, rss_during)

        # Nothing vanishes: every request is exported or counted as dropped,
        # and delivery resumed once the collector recovered. A connection cut
        # after the collector took an export but before its answer arrived
        # makes the collector hold spans the library counts as not delivered
        # (at-least-once), so what arrived is at least what was exported.
        def settled():
            a = accounting(rec)
            return sum(a.values()) == n and n >= len(health_span_ids(rec)) >= a["exported"]
        ok = rec.wait_for(settled, timeout=20)
        a = accounting(rec)
        assert ok, (n, a, len(health_span_ids(rec)), h.stderr()[-3000:])
        assert a["exported"] > 0
        if fault in ("status400",):
            assert a["rejected"] > 0, a
        elif fault in ("blackhole", "refuse", "status503", "status429", "close_mid", "garbage"):
            assert a["export_failed"] + a["queue_full"] > 0, a
        elif fault in ("slow", "restart"):
            assert a["rejected"] == 0, a
        if fault != "slow" and fault != "restart":
            assert "feast-otel:" in h.stderr(), "data loss is reported"

        # (d) Delivery resumed once the collector recovered: with everything
        # before accounted for, a batch of requests to another path, sent
        # after the last fault phase, arrives whole and is counted exported.
        send_recovered_batch(h.port)

        def resumed():
            b = accounting(rec)
            return (len(path_span_ids(rec, RECOVERED_PATH)) == RECOVERED_N
                    and b["exported"] == a["exported"] + RECOVERED_N)
        ok = rec.wait_for(resumed, timeout=20)
        b = accounting(rec)
        assert ok, (a, b, len(path_span_ids(rec, RECOVERED_PATH)), h.stderr()[-3000:])
        assert {k: v for k, v in b.items() if k != "exported"} == \
            {k: v for k, v in a.items() if k != "exported"}, (a, b)
        h.stop()
        lines = [ln for ln in h.stderr().splitlines() if ln.startswith("feast-otel:")]
        assert len([ln for ln in lines if "drop" in ln]) <= 1, lines  # once a minute
    finally:
        rec.stop()


def one_request(port):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", "/health")
    assert conn.getresponse().read()
    conn.close()


@pytest.mark.parametrize("retry_after", [None, 2])
def test_retries_back_off_or_wait_as_told(hosts, retry_after):
    """503 is retried: after the server's Retry-After, else after an
    exponential backoff (1 s, 1.5 s, ... with 20 % jitter), and never past
    the export timeout."""
    rec = Receiver().start()
    try:
        rec.set_fault("status", code=503, retry_after=retry_after)
        h = start_server(hosts, rec, OTEL_METRICS_EXPORTER="none",
                         **transport_env(False, timeout_ms=4500))
        one_request(h.port)
        time.sleep(5.5)
        times = [t for p, t in rec.attempt_log if p == "/v1/traces"]
        gaps = [b - a for a, b in zip(times, times[1:])]
        # No attempt starts past the timeout, nor in its last 100 ms.
        assert times[-1] - times[0] < 4.45, gaps
        if retry_after is None:
            # 1 s, 1.5 s, 2.25 s, each +-20 %: 3 or 4 attempts fit in 4.5 s
            assert 3 <= len(times) <= 4, gaps
            lo, hi = (0.75, 1.15, 1.75), (1.3, 1.9, 2.8)
            assert all(lo[i] < g < hi[i] for i, g in enumerate(gaps)), gaps
        else:
            assert len(times) == 3, gaps  # 0, 2 s, 4 s
            assert all(1.95 < g < 2.4 for g in gaps), gaps
        h.stop()
    finally:
        rec.stop()


def test_grpc_goaway_moves_to_a_new_connection(hosts):
    rec = Receiver(grpc=True).start()
    try:
        h = start_server(hosts, rec, **transport_env(True, timeout_ms=3000))
        load = Load(h.port)
        load.run_for(0.5)
        conns = rec.connections
        rec.goaway()
        load.run_for(0.5)
        n = load.sent
        assert rec.wait_for(lambda: sum(accounting(rec).values()) == n), accounting(rec)
        a = accounting(rec)
        assert a["export_failed"] == 0 and a["rejected"] == 0, a
        assert a["exported"] == health_spans(rec) > 0
        assert rec.connections > conns, "a new connection after the GOAWAY"
        h.stop()
    finally:
        rec.stop()


def test_resource_exhausted_is_retried_only_with_retry_info(hosts):
    """gRPC RESOURCE_EXHAUSTED is retried only when the server says when
    (RetryInfo), and then after the delay it asked for."""
    for retry_delay in (None, 0.3):
        rec = Receiver(grpc=True).start()
        try:
            kw = {"grpc_code": "RESOURCE_EXHAUSTED"}
            if retry_delay is not None:
                kw["retry_delay"] = retry_delay
            rec.set_fault("status", **kw)
            h = start_server(hosts, rec, OTEL_METRICS_EXPORTER="none",
                             **transport_env(True, timeout_ms=2000))
            conn = http.client.HTTPConnection("127.0.0.1", h.port, timeout=10)
            conn.request("GET", "/health")
            assert conn.getresponse().read()
            conn.close()
            assert rec.wait_for(lambda: rec.attempts.get("/v1/traces", 0) >= 1)
            time.sleep(2.5)  # past the export timeout
            attempts = rec.attempts.get("/v1/traces", 0)
            h.stop()
            if retry_delay is None:
                assert attempts == 1, attempts
            else:
                assert 4 <= attempts <= 7, attempts  # 2 s / (0.3 s + a round trip)
        finally:
            rec.stop()


@pytest.mark.parametrize("grpc", [False, True], ids=["http", "grpc"])
def test_exit_with_a_black_hole_collector_stays_within_the_timeout(hosts, grpc):
    rec = Receiver(grpc=grpc).start()
    try:
        h = start_server(hosts, rec, **transport_env(grpc, timeout_ms=2000))
        Load(h.port).run_for(0.3)
        rec.set_fault("blackhole")
        Load(h.port).run_for(0.3)
        t0 = time.monotonic()
        h.stop()
        took = time.monotonic() - t0
        # uvicorn's own shutdown takes a few hundred ms; the flush at most 2 s.
        assert took < 2.0 + 1.0, took
    finally:
        rec.stop()


@pytest.mark.parametrize("grpc", [False, True], ids=["http", "grpc"])
def test_partial_success_is_counted_and_not_retried(hosts, grpc):
    rec = Receiver(grpc=grpc).start()
    try:
        rec.set_fault("partial", rejected=1, message="one span too many")
        h = start_server(hosts, rec, **transport_env(grpc))
        load = Load(h.port)
        load.run_for(0.5)
        n = load.sent

        def settled():
            a = accounting(rec)
            return a["exported"] + a["rejected"] == n and a["rejected"] > 0
        assert rec.wait_for(settled, timeout=15), accounting(rec)
        with rec.lock:
            traces = [m for p, m, _ in rec.requests if p == "/v1/traces"]
        assert rec.attempts.get("/v1/traces", 0) == len(traces), "never retried"
        assert accounting(rec)["rejected"] == len(traces)
        h.stop()
        err = h.stderr()
        assert err.count("partially") == 1, err
        assert "one span too many" in err
    finally:
        rec.stop()


def test_a_request_that_cannot_be_sent_is_dropped_at_once(hosts):
    """Trace headers too large for a request (16 of 250 bytes each): nothing
    reaches the collector and nothing would next time, so each batch is
    dropped at once, counted as export_failed, and said so in one line,
    instead of being retried until the export timeout (10 s here)."""
    rec = Receiver().start()
    try:
        big = ",".join(f"x-h{i}={'v' * 240}" for i in range(16))
        h = start_server(hosts, rec, OTEL_EXPORTER_OTLP_TRACES_HEADERS=big,
                         OTEL_BSP_SCHEDULE_DELAY=100, **transport_env(False, timeout_ms=10000))
        load = Load(h.port)
        load.run_for(0.5)
        n = load.sent
        t0 = time.monotonic()
        # (A starved exporter thread may let the span queue fill first.)
        lost = ("export_failed", "queue_full", "ring_full")
        assert rec.wait_for(lambda: sum(accounting(rec)[k] for k in lost) == n, timeout=15), \
            (n, accounting(rec))
        # Retried, the first batch alone would hold the exporter for ~9 s.
        assert time.monotonic() - t0 < 4.0
        a = accounting(rec)
        assert a["exported"] == a["rejected"] == 0 and a["export_failed"] > 0, a
        assert rec.attempts.get("/v1/traces", 0) == 0
        h.stop()
        lines = [ln for ln in h.stderr().splitlines() if "too large" in ln]
        assert len(lines) == 1 and "not retried" in lines[0], lines  # once a minute
        assert "v" * 240 not in h.stderr(), "headers are never printed"
    finally:
        rec.stop()
