"""The feature server on uvicorn (uvloop + httptools, and asyncio + h11)
under the library: what arrives at the receiver, request by request."""
import http.client
import json
import os
import time

import pytest

from conftest import assert_span_within, raw_exchange, start_feature_server

VARIANTS = ["default", "asyncio-h11"]

GOF = json.dumps({"features": ["driver_hourly_stats:conv_rate", "driver_profile:rating"],
                  "entities": {"driver_id": [1001, 1002, 9999]}})


def request(port, method, path, body=None, headers=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    c.request(method, path, body=body, headers=headers or {})
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, data


def server_spans(receiver):
    return [s for s in receiver.spans() if s["kind"] == 2]


@pytest.mark.parametrize("variant", VARIANTS)
def test_one_span_per_request_with_http_attributes(receiver, hosts, variant):
    h = start_feature_server(hosts, receiver, variant)
    assert request(h.port, "POST", "/get-online-features?secret=1", GOF,
                   {"Content-Type": "application/json", "User-Agent": "fo-test/1"})[0] == 200
    assert request(h.port, "GET", "/health")[0] == 200
    assert request(h.port, "GET", "/no/such/path")[0] == 404
    assert request(h.port, "GET", "/test/error")[0] == 500
    h.stop()
    spans = server_spans(receiver)
    assert len(spans) == 4, [s["name"] for s in spans]
    by_path = {s["attributes"]["url.path"]: s for s in spans}

    gof = by_path["/get-online-features"]
    assert gof["name"] == "POST /get-online-features"
    a = gof["attributes"]
    assert a["http.request.method"] == "POST"
    assert a["http.route"] == "/get-online-features"
    assert a["http.response.status_code"] == 200
    assert a["url.scheme"] == "http"
    assert a["network.protocol.version"] == "1.1"
    assert a["server.port"] == h.port
    assert a["client.address"] == "127.0.0.1"
    assert a["user_agent.original"] == "fo-test/1"
    assert "error.type" not in a
    assert all("secret" not in str(v) for v in a.values()), "query string leaked"
    assert gof["status_code"] == 0
    assert gof["parent_span_id"] == ""
    assert gof["resource"]["service.name"] == "feature-server"
    assert gof["resource"]["process.pid"] == h.pid

    assert by_path["/health"]["name"] == "GET /health"
    missing = by_path["/no/such/path"]
    assert missing["name"] == "GET"
    assert "http.route" not in missing["attributes"]
    assert missing["attributes"]["http.response.status_code"] == 404
    assert "error.type" not in missing["attributes"]
    assert missing["status_code"] == 0

    err = by_path["/test/error"]
    assert err["attributes"]["http.response.status_code"] == 500
    assert err["attributes"]["error.type"] == "500"
    assert err["status_code"] == 2  # STATUS_CODE_ERROR

    assert len({s["trace_id"] for s in spans}) == 4
    assert len({s["span_id"] for s in spans}) == 4
    for s in spans:
        assert 0 < s["start"] <= s["end"]


@pytest.mark.parametrize("variant", VARIANTS)
def test_keep_alive_hundred_requests_on_one_connection(receiver, hosts, variant):
    h = start_feature_server(hosts, receiver, variant)
    c = http.client.HTTPConnection("127.0.0.1", h.port, timeout=10)
    for i in range(100):
        c.request("GET", f"/health?i={i}")
        r = c.getresponse()
        r.read()
        assert r.status == 200
    c.close()
    h.stop()
    spans = server_spans(receiver)
    assert len(spans) == 100
    assert {s["attributes"]["client.port"] for s in spans} == {spans[0]["attributes"]["client.port"]}
    points = receiver.latest_points("http.server.request.duration")
    assert sum(p["point"].count for p in points) == 100


@pytest.mark.parametrize("variant", VARIANTS)
def test_pipelined_requests(receiver, hosts, variant):
    h = start_feature_server(hosts, receiver, variant)
    data = b"".join(f"GET /health?p={i} HTTP/1.1\r\nHost: x\r\n\r\n".encode() for i in range(3))
    out = raw_exchange(h.port, data, 3)
    assert out.count(b"HTTP/1.1 200") == 3
    h.stop()
    spans = server_spans(receiver)
    assert len(spans) == 3
    assert all(s["name"] == "GET /health" for s in spans)


@pytest.mark.parametrize("variant", VARIANTS)
def test_chunked_response_and_slow_request_timing(receiver, hosts, variant):
    h = start_feature_server(hosts, receiver, variant)
    status, body = request(h.port, "GET", "/test/stream")
    assert status == 200 and body == b"part 0\npart 1\npart 2\n"
    assert request(h.port, "GET", "/test/slow?ms=200")[0] == 200
    h.stop()
    spans = {s["attributes"]["url.path"]: s for s in server_spans(receiver)}
    assert len(spans) == 2
    assert spans["/test/stream"]["attributes"]["http.response.status_code"] == 200
    slow = spans["/test/slow"]
    # The span covers the 200 ms sleep. uvloop (libuv) starts the sleep's
    # timer from the loop time cached at the start of the loop iteration that
    # read the request, with millisecond granularity: the timer can fire a
    # little less than 200 ms after that read (199.975 ms has been seen).
    assert slow["end"] - slow["start"] >= 199_000_000
    assert slow["end"] - slow["start"] < 5_000_000_000


def tsc_expected(clock):
    """Which clock the library should pick here, from what the kernel says."""
    if clock == "monotonic" or os.uname().machine != "x86_64":
        return False
    with open("/proc/cpuinfo") as f:
        if " nonstop_tsc" not in f.read():
            return False
    if clock == "tsc":
        return True
    with open("/sys/devices/system/clocksource/clocksource0/current_clocksource") as f:
        return f.read() == "tsc\n"


@pytest.mark.parametrize("clock", ["auto", "tsc", "monotonic"])
def test_span_times_are_the_exchange_in_unix_time(receiver, hosts, clock):
    """Whichever clock the hooks read (the CPU's time-stamp counter or
    CLOCK_MONOTONIC), each span starts after the client sent its request and
    ends before the client had the whole response, in Unix time, and the
    duration metric is the span's length."""
    h = start_feature_server(hosts, receiver, FEAST_OTEL_CLOCK=clock,
                             FEAST_OTEL_LOG_LEVEL="debug")
    c = http.client.HTTPConnection("127.0.0.1", h.port, timeout=10)
    c.connect()
    windows = []
    for ms in (0, 40, 300):
        t0 = time.time_ns()
        c.request("GET", f"/test/slow?ms={ms}")
        r = c.getresponse()
        r.read()
        windows.append((ms, t0, time.time_ns()))
        assert r.status == 200
    c.close()
    h.stop()
    want = ("the CPU's time-stamp counter" if tsc_expected(clock) else "CLOCK_MONOTONIC")
    assert f"timestamps from {want}" in h.stderr()
    # In the order sent (no query string is exported to tell them apart).
    spans = sorted(server_spans(receiver), key=lambda s: s["start"])
    assert len(spans) == 3
    # A rate off either way moves the start before the client sent (the
    # ticks before a drain map too early) or shortens the slow exchange
    # below its sleep.
    for (ms, t0, t1), s in zip(windows, spans):
        assert_span_within(s, t0, t1, ms)
        # uvloop's timer may fire up to a millisecond early (see above).
        assert s["end"] - s["start"] >= (ms - 1) * 1_000_000
    points = receiver.latest_points("http.server.request.duration")
    assert sum(p["point"].count for p in points) == 3
    total = sum(p["point"].sum for p in points)
    assert total == pytest.approx(sum(s["end"] - s["start"] for s in spans) / 1e9, abs=1e-6)


@pytest.mark.parametrize("variant", VARIANTS)
def test_traceparent_continues_the_trace(receiver, hosts, variant):
    h = start_feature_server(hosts, receiver, variant)
    trace = "4bf92f3577b34da6a3ce929d0e0e4736"
    parent = "00f067aa0ba902b7"
    assert request(h.port, "GET", "/health",
                   headers={"traceparent": f"00-{trace}-{parent}-01"})[0] == 200
    # An unsampled parent: the span is not exported, but still counted.
    assert request(h.port, "GET", "/health",
                   headers={"traceparent": f"00-{trace}-{parent}-00"})[0] == 200
    # Malformed: a new root trace.
    assert request(h.port, "GET", "/health",
                   headers={"traceparent": f"00-{'0' * 32}-{parent}-01"})[0] == 200
    h.stop()
    spans = server_spans(receiver)
    assert len(spans) == 2
    child = [s for s in spans if s["trace_id"] == trace]
    assert len(child) == 1
    assert child[0]["parent_span_id"] == parent
    assert child[0]["span_id"] not in (parent, "")
    root = [s for s in spans if s["trace_id"] != trace]
    assert len(root) == 1 and root[0]["parent_span_id"] == ""
    points = receiver.latest_points("http.server.request.duration")
    assert sum(p["point"].count for p in points) == 3


@pytest.mark.parametrize("variant", VARIANTS)
def test_http10_request(receiver, hosts, variant):
    h = start_feature_server(hosts, receiver, variant)
    out = raw_exchange(h.port, b"GET /health HTTP/1.0\r\n\r\n", 1)
    assert out.startswith(b"HTTP/1.1 200") or out.startswith(b"HTTP/1.0 200")
    h.stop()
    spans = server_spans(receiver)
    assert len(spans) == 1
    assert spans[0]["attributes"]["network.protocol.version"] == "1.0"


def test_metrics_histogram_gauges_and_process_metrics(receiver, hosts):
    h = start_feature_server(hosts, receiver)
    for _ in range(5):
        assert request(h.port, "POST", "/get-online-features", GOF,
                       {"Content-Type": "application/json"})[0] == 200
    for _ in range(3):
        assert request(h.port, "GET", "/nope")[0] == 404
    h.stop()
    points = receiver.latest_points("http.server.request.duration")
    assert points and points[0]["metric"].unit == "s"
    assert points[0]["metric"].histogram.aggregation_temporality == 2  # CUMULATIVE
    by = {(p["attributes"].get("http.route"), p["attributes"]["http.response.status_code"]):
          p["point"] for p in points}
    assert by[("/get-online-features", 200)].count == 5
    assert by[(None, 404)].count == 3
    for p in by.values():
        assert sum(p.bucket_counts) == p.count
        assert list(p.explicit_bounds) == [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5,
                                           0.75, 1, 2.5, 5, 7.5, 10]
        assert p.sum > 0
    for name in ("feast_feature_server_cpu_usage", "feast_feature_server_memory_usage"):
        gauge = receiver.metric_points(name)
        assert gauge, name
        assert gauge[-1]["kind"] == "gauge"
        assert gauge[-1]["resource"]["process.pid"] == h.pid
        assert gauge[-1]["point"].as_double >= 0
    mem = receiver.metric_points("feast_feature_server_memory_usage")[-1]["point"].as_double
    assert 0 < mem < 100
    cpu = receiver.latest_points("process.cpu.time")
    assert {p["attributes"]["cpu.mode"] for p in cpu} == {"user", "system"}
    assert sum(p["point"].as_double for p in cpu) > 0
    rss = receiver.latest_points("process.memory.usage")[0]["point"].as_int
    assert rss > 1 << 20
    assert receiver.latest_points("process.memory.virtual")[0]["point"].as_int > rss
    assert receiver.latest_points("process.thread.count")[0]["point"].as_int >= 2
    res = receiver.metric_points("process.thread.count")[0]["resource"]
    assert res["service.instance.id"]
    assert res["telemetry.sdk.name"] == "feast-otel"
