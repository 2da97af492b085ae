"""Other servers under the library: gunicorn with recycled workers, nginx,
and Node.js."""
import http.client
import json
import os
import shutil
import tempfile
import time

import pytest

from conftest import (get, PY, Host, assert_span_within, free_port, library_env,
                      raw_exchange, REPO)




def server_spans(receiver):
    return [s for s in receiver.spans() if s["kind"] == 2]


def test_gunicorn_workers_each_export_and_recycling_loses_nothing(receiver, hosts):
    port = free_port()
    cmd = [PY, "-m", "gunicorn", "app:app", "--chdir", "tests/feature_server",
           "-k", "uvicorn.workers.UvicornWorker", "-w", "2", "-b", f"127.0.0.1:{port}",
           "--max-requests", "15", "--max-requests-jitter", "0",
           "--graceful-timeout", "20"]
    h = Host(cmd, library_env(receiver, OTEL_SERVICE_NAME="gunicorn-fs"), port)
    hosts.append(h)
    pids = set()
    windows = []
    n = 60
    for i in range(n):
        t0 = time.time_ns()
        # A new connection each time, so the kernel spreads them over workers;
        # a worker that just hit max-requests closes and is replaced.
        for attempt in range(50):
            try:
                status, body = get(port, f"/test/pid?i={i}")
                break
            except (ConnectionError, http.client.HTTPException, OSError):
                time.sleep(0.1)
        else:
            pytest.fail("gunicorn stopped answering")
        assert status == 200
        windows.append((t0, time.time_ns()))
        pids.add(json.loads(body)["pid"])
        # uvicorn checks max-requests on a 0.1 s tick: give it ticks.
        time.sleep(0.03)
    # A worker that reached --max-requests with the last request is exiting
    # on its own; a SIGTERM during that exit would kill it at once (uvicorn
    # workers leave SIGTERM at its default action then), so let it finish.
    time.sleep(1.5)
    h.stop(group=False)
    spans = server_spans(receiver)
    assert len(spans) == n, f"{len(spans)} spans for {n} requests"
    assert len(pids) > 2, f"workers were not recycled: {pids}"
    # Workers forked from the master keep its clock: each span lies within
    # its request's window as the client saw it (requests went one at a
    # time, so the spans in order of start are the requests in order).
    for (t0, t1), s in zip(windows, sorted(spans, key=lambda s: s["start"])):
        assert_span_within(s, t0, t1)
    span_pids = {s["resource"]["process.pid"] for s in spans}
    assert span_pids == pids
    instances = {s["resource"]["service.instance.id"] for s in spans}
    assert len(instances) == len(pids)
    # Each worker's cumulative histogram counts its own requests.
    points = receiver.latest_points("http.server.request.duration")
    assert sum(p["point"].count for p in points) == n
    gauge_pids = {p["resource"]["process.pid"] for p in
                  receiver.metric_points("feast_feature_server_cpu_usage")}
    assert pids <= gauge_pids


NGINX_CONF = """
daemon off;
master_process on;
worker_processes 2;
pid {dir}/nginx.pid;
error_log stderr warn;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    sendfile {sendfile};
    server {{
        listen 127.0.0.1:{port};
        root {dir}/www;
        location /missing {{ return 404; }}
        location /fail {{ return 500; }}
    }}
}}
"""


@pytest.mark.skipif(not os.path.exists("/usr/sbin/nginx"), reason="nginx not installed")
@pytest.mark.parametrize("sendfile", ["off", "on"])
def test_nginx(receiver, hosts, sendfile):
    d = tempfile.mkdtemp(prefix="fo-nginx-")
    os.chmod(d, 0o755)  # workers run as an unprivileged user
    os.makedirs(f"{d}/www")
    with open(f"{d}/www/index.html", "w") as f:
        f.write("<p>hello</p>\n" * 100)
    port = free_port()
    with open(f"{d}/nginx.conf", "w") as f:
        f.write(NGINX_CONF.format(dir=d, port=port, sendfile=sendfile))
    h = Host(["/usr/sbin/nginx", "-c", f"{d}/nginx.conf", "-p", d],
             library_env(receiver, OTEL_SERVICE_NAME="nginx"), port)
    hosts.append(h)
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    for _ in range(20):
        status, body = get(port, "/index.html", c)
        assert status == 200 and len(body) == 1300
    c.close()
    assert get(port, "/missing")[0] == 404
    assert get(port, "/fail")[0] == 500
    out = raw_exchange(port, b"GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n" * 3, 3)
    assert out.count(b"HTTP/1.1 200") == 3
    h.stop(timeout=20)
    shutil.rmtree(d, ignore_errors=True)
    spans = server_spans(receiver)
    assert len(spans) == 25, len(spans)
    codes = sorted(s["attributes"]["http.response.status_code"] for s in spans)
    assert codes == [200] * 23 + [404, 500]
    assert all(s["attributes"]["url.path"] in ("/index.html", "/missing", "/fail") for s in spans)
    assert [s for s in spans if s["attributes"]["http.response.status_code"] == 500][0][
        "attributes"]["error.type"] == "500"


@pytest.mark.skipif(shutil.which("node") is None, reason="node not installed")
def test_node_http_server(receiver, hosts):
    port = free_port()
    h = Host(["node", os.path.join(REPO, "tests", "hosts", "node_server.js"), str(port)],
             library_env(receiver, OTEL_SERVICE_NAME="node"), port)
    hosts.append(h)
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    for _ in range(10):
        assert get(port, "/hello", c) == (200, b"hello\n")
    assert get(port, "/chunked", c) == (200, b"one\ntwo\n")
    c.close()
    assert get(port, "/fail")[0] == 500
    assert get(port, "/nothing")[0] == 404
    out = raw_exchange(port, b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n" * 3, 3)
    assert out.count(b"HTTP/1.1 200") == 3
    h.stop()
    spans = server_spans(receiver)
    assert len(spans) == 16, len(spans)
    paths = sorted(s["attributes"]["url.path"] for s in spans)
    assert paths == sorted(["/hello"] * 13 + ["/chunked", "/fail", "/nothing"])
    assert spans[0]["resource"]["service.name"] == "node"
