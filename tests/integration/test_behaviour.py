"""How the library behaves as a guest: configuration, inertness, the CLI,
and commands that are not servers."""
import http.client
import os
import subprocess
import time

import pytest

from conftest import get, PY, REPO, Host, free_port, library_env, start_feature_server




def test_sdk_disabled_is_inert(receiver, hosts):
    h = start_feature_server(hosts, receiver, OTEL_SDK_DISABLED="true")
    for _ in range(3):
        assert get(h.port, "/health")[0] == 200
    h.stop()
    time.sleep(0.5)
    assert receiver.requests == []
    assert "feast-otel" not in h.stderr()


def test_traces_exporter_none_still_exports_metrics(receiver, hosts):
    h = start_feature_server(hosts, receiver, OTEL_TRACES_EXPORTER="none")
    for _ in range(4):
        assert get(h.port, "/health")[0] == 200
    h.stop()
    assert receiver.spans() == []
    points = receiver.latest_points("http.server.request.duration")
    assert sum(p["point"].count for p in points) == 4


def test_sampler_always_off_counts_every_request_in_metrics(receiver, hosts):
    h = start_feature_server(hosts, receiver, OTEL_TRACES_SAMPLER="always_off")
    for _ in range(3):
        assert get(h.port, "/health")[0] == 200
    h.stop()
    assert receiver.spans() == []
    assert sum(p["point"].count for p in
               receiver.latest_points("http.server.request.duration")) == 3


def test_a_full_batch_is_exported_without_waiting_for_the_delay(receiver, hosts):
    """The batch span processor sends a full batch at once; only a partial
    batch waits for OTEL_BSP_SCHEDULE_DELAY."""
    h = start_feature_server(hosts, receiver, OTEL_BSP_SCHEDULE_DELAY="60000",
                             OTEL_BSP_MAX_EXPORT_BATCH_SIZE="4", OTEL_METRICS_EXPORTER="none")
    for _ in range(9):
        assert get(h.port, "/health")[0] == 200
    assert receiver.wait_for(lambda: len(receiver.spans()) == 8, timeout=5), \
        len(receiver.spans())
    time.sleep(0.3)
    assert len(receiver.spans()) == 8  # the ninth waits for the delay, or exit
    h.stop()
    assert len(receiver.spans()) == 9


def test_malformed_variable_gives_one_line_and_the_default(receiver, hosts):
    h = start_feature_server(hosts, receiver, OTEL_BSP_SCHEDULE_DELAY="abc",
                             OTEL_EXPORTER_OTLP_HEADERS="api-key=s3cr3t,broken")
    assert get(h.port, "/health")[0] == 200
    h.stop()
    lines = [l for l in h.stderr().splitlines() if l.startswith("feast-otel:")]
    assert len([l for l in lines if "OTEL_BSP_SCHEDULE_DELAY" in l]) == 1, lines
    assert any("OTEL_EXPORTER_OTLP_HEADERS" in l for l in lines), lines
    assert "s3cr3t" not in h.stderr()
    assert len(receiver.spans()) == 1  # exported with the default delay at exit


def test_headers_are_sent_with_every_export(receiver, hosts):
    h = start_feature_server(hosts, receiver,
                             OTEL_EXPORTER_OTLP_HEADERS="x-api-key=abc%20def,x-tenant=t1")
    assert get(h.port, "/health")[0] == 200
    h.stop()
    assert receiver.requests
    for _, _, headers in receiver.requests:
        assert headers.get("x-api-key") == "abc def"
        assert headers.get("x-tenant") == "t1"


def test_default_service_name_is_unknown_service_with_executable(receiver, hosts):
    port = free_port()
    cmd = [PY, "-m", "uvicorn", "app:app", "--app-dir", "tests/feature_server",
           "--port", str(port)]
    env = library_env(receiver)
    h = Host(cmd, env, port)
    hosts.append(h)
    assert get(port, "/health")[0] == 200
    h.stop()
    res = receiver.spans()[0]["resource"]
    assert res["service.name"] == "unknown_service:" + os.path.basename(
        os.path.realpath(PY))
    assert res["process.executable.name"] == os.path.basename(os.path.realpath(PY))


def test_resource_attributes_from_the_environment(receiver, hosts):
    h = start_feature_server(hosts, receiver,
                             OTEL_RESOURCE_ATTRIBUTES="deployment.environment=test,team=ml%2Fops")
    assert get(h.port, "/health")[0] == 200
    h.stop()
    res = receiver.spans()[0]["resource"]
    assert res["deployment.environment"] == "test"
    assert res["team"] == "ml/ops"


def run(cmd, env):
    return subprocess.run(cmd, env=env, capture_output=True, timeout=30)


def test_short_lived_commands_behave_exactly_as_without(receiver):
    bare = dict(os.environ)
    bare.pop("LD_PRELOAD", None)
    under = library_env(receiver)
    for cmd in (["/bin/true"], ["/bin/false"], ["sh", "-c", "echo hi; echo err >&2; exit 3"],
                ["ls", "/"], [PY, "-c", "import socket,sys; print(sys.argv); sys.exit(4)"]):
        a, b = run(cmd, bare), run(cmd, under)
        assert (a.returncode, a.stdout, a.stderr) == (b.returncode, b.stdout, b.stderr), cmd
    time.sleep(0.3)
    assert receiver.requests == [], "a command that served nothing exported something"


@pytest.mark.skipif(os.environ.get("FEAST_OTEL_ASAN") == "1",
                    reason="the CLI preloads the plain build; ASan needs its runtime first")
def test_cli_runs_a_server_under_the_library(receiver, hosts):
    port = free_port()
    cmd = [os.path.join(REPO, "scripts", "feast-otel"), "run", "--endpoint", receiver.endpoint,
           "--service-name", "via-cli", "--", PY, "-m", "uvicorn", "app:app", "--app-dir",
           "tests/feature_server", "--port", str(port)]
    env = dict(os.environ)
    env.pop("LD_PRELOAD", None)
    env["OTEL_BSP_SCHEDULE_DELAY"] = "200"
    h = Host(cmd, env, port)
    hosts.append(h)
    assert get(port, "/health")[0] == 200
    h.stop()
    spans = receiver.spans()
    assert len(spans) == 1
    assert spans[0]["resource"]["service.name"] == "via-cli"


def test_cli_refuses_clearly_without_a_library(tmp_path):
    r = subprocess.run([os.path.join(REPO, "scripts", "feast-otel"), "run", "--library",
                        str(tmp_path / "missing.so"), "--", "true"], capture_output=True,
                       text=True, timeout=10)
    assert r.returncode == 2
    assert r.stderr.startswith("feast-otel: ") and "missing.so" in r.stderr
    assert r.stderr.count("\n") == 1
    r = subprocess.run([os.path.join(REPO, "scripts", "feast-otel"), "--help"],
                       capture_output=True, text=True, timeout=10)
    assert r.returncode == 0 and "--endpoint" in r.stdout


def test_console_exporter_prints_spans_on_stderr_only(hosts):
    port = free_port()
    cmd = [PY, "-m", "uvicorn", "app:app", "--app-dir", "tests/feature_server",
           "--port", str(port), "--no-access-log"]
    env = library_env(None, OTEL_TRACES_EXPORTER="console", OTEL_METRICS_EXPORTER="none")
    h = Host(cmd, env, port)
    hosts.append(h)
    assert get(port, "/health")[0] == 200
    h.stop()
    lines = [l for l in h.stderr().splitlines() if l.startswith("feast-otel: span")]
    assert len(lines) == 1 and "GET /health status=200" in lines[0], h.stderr()


def test_vfork_child_closing_a_followed_fd_leaves_the_parent_alone(receiver, hosts):
    """A vfork child shares the parent's memory: its close() of the
    connection must not end the parent's exchange."""
    port = free_port()
    h = Host([os.path.join(REPO, "build", "hosts", "c_server"), str(port), "vfork"],
             library_env(receiver, OTEL_SERVICE_NAME="c-vfork"), port)
    hosts.append(h)
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    for _ in range(3):
        c.request("GET", "/v")
        r = c.getresponse()
        assert (r.status, r.read()) == (200, b"ok\n")
    c.close()
    h.stop()
    spans = receiver.spans()
    assert len(spans) == 3
    assert all(s["attributes"]["http.response.status_code"] == 200 and
               "error.type" not in s["attributes"] for s in spans)


def test_an_unusable_endpoint_says_so_once_and_the_host_works(hosts):
    port = free_port()
    cmd = [PY, "-m", "uvicorn", "app:app", "--app-dir", "tests/feature_server",
           "--port", str(port), "--no-access-log"]
    h = Host(cmd, library_env(None, OTEL_EXPORTER_OTLP_ENDPOINT="https://collector:4318"), port)
    hosts.append(h)
    for _ in range(3):
        assert get(port, "/health")[0] == 200
    h.stop()
    lines = [l for l in h.stderr().splitlines() if l.startswith("feast-otel:")]
    assert sorted(lines) == sorted([
        "feast-otel: cannot export traces to https://collector:4318/v1/traces: "
        "Protocol not supported",
        "feast-otel: cannot export metrics to https://collector:4318/v1/metrics: "
        "Protocol not supported"]), lines


def test_a_metrics_exporter_not_implemented_says_so(receiver, hosts):
    h = start_feature_server(hosts, receiver, OTEL_METRICS_EXPORTER="console,otlp")
    assert get(h.port, "/health")[0] == 200
    h.stop()
    lines = [l for l in h.stderr().splitlines() if l.startswith("feast-otel:")]
    assert len(lines) == 1 and "console" in lines[0], lines
    assert len(receiver.spans()) == 1
    assert receiver.latest_points("http.server.request.duration")


def test_configured_routes_name_other_paths_and_the_rest_stay_bounded(receiver, hosts):
    h = start_feature_server(hosts, receiver, FEAST_OTEL_ROUTES="/test/{what}")
    assert get(h.port, "/test/pid")[0] == 200
    assert get(h.port, "/docs")[0] == 200
    assert get(h.port, "/no/such/path/123")[0] == 404
    h.stop()
    names = sorted(s["name"] for s in receiver.spans())
    assert names == ["GET", "GET", "GET /test/{what}"], names
    routed = next(s for s in receiver.spans() if s["name"] == "GET /test/{what}")
    assert routed["attributes"]["http.route"] == "/test/{what}"
    endpoints = {p["attributes"]["endpoint"]
                 for p in receiver.latest_points("feast_feature_server_request")}
    assert endpoints == {"/test/{what}", "GET"}, endpoints


def test_paths_and_user_agents_of_every_short_length_reach_the_span_exactly(receiver, hosts):
    """Short strings are copied by fixed-size moves: every length around
    their sizes, each after a longer one on the same connection (whose
    bytes must not show through), arrives whole and alone."""
    h = start_feature_server(hosts, receiver, OTEL_METRICS_EXPORTER="none")
    conn = http.client.HTTPConnection("127.0.0.1", h.port, timeout=15)
    sent = {}
    for n in [40, *range(1, 36), 127, 128, 129, 200, 300]:
        path = "/" + "".join(chr(ord("a") + (n + i) % 26) for i in range(n - 1))
        ua = "".join(chr(ord("A") + (3 * n + i) % 26) for i in range(n))
        conn.request("GET", path, headers={"User-Agent": ua})
        r = conn.getresponse()
        r.read()
        sent[ua[:128]] = path[:256]
    conn.close()
    h.stop()
    got = {s["attributes"]["user_agent.original"]: s["attributes"]["url.path"]
           for s in receiver.spans()}
    assert got == sent


def test_an_ipv6_client_is_reported_with_its_address_and_ports(receiver, hosts):
    h = start_feature_server(hosts, receiver, host="::1", OTEL_METRICS_EXPORTER="none")
    port = h.port
    conn = http.client.HTTPConnection("::1", port, timeout=15)
    conn.request("GET", "/health")
    assert conn.getresponse().status == 200
    client_port = conn.sock.getsockname()[1]
    conn.close()
    h.stop()
    spans = [s for s in receiver.spans() if s["attributes"].get("client.address") == "::1"]
    assert len(spans) == 1, [s["attributes"] for s in receiver.spans()]
    a = spans[0]["attributes"]
    assert a["client.port"] == client_port
    assert a["server.port"] == port
    assert a["url.scheme"] == "http"
