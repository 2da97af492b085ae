"""The Prometheus endpoint shared by all workers of a pre-fork server,
scraped by a real Prometheus server (Debian's), checked with promtool, and
compared with what the README documents."""
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request

from conftest import PY, REPO, Host, free_port, library_env, wait_port
from feast_model import ENTITY_BOUNDS, expected, status_of
from test_feast_metrics import post


def scrape(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        return r.read().decode()


def query(port, q):
    url = f"http://127.0.0.1:{port}/api/v1/query?" + urllib.parse.urlencode({"query": q})
    with urllib.request.urlopen(url, timeout=5) as r:
        body = json.load(r)
    assert body["status"] == "success", body
    return {tuple(sorted((k, v) for k, v in s["metric"].items()
                         if k not in ("__name__", "instance", "job"))): float(s["value"][1])
            for s in body["data"]["result"]}


class Prometheus:
    def __init__(self, target_port):
        self.dir = tempfile.mkdtemp(prefix="fo-prom-")
        self.port = free_port()
        with open(os.path.join(self.dir, "prometheus.yml"), "w") as f:
            f.write("global:\n  scrape_interval: 1s\n  scrape_timeout: 900ms\n"
                    "scrape_configs:\n  - job_name: feast\n    static_configs:\n"
                    f"      - targets: ['127.0.0.1:{target_port}']\n")
        self.proc = subprocess.Popen(
            ["prometheus", f"--config.file={self.dir}/prometheus.yml",
             f"--storage.tsdb.path={self.dir}/data", f"--web.listen-address=127.0.0.1:{self.port}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(self.port, timeout=30)

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=20)
        shutil.rmtree(self.dir, ignore_errors=True)


def get(port, path):
    for _ in range(50):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as r:
                return r.status
        except OSError:
            time.sleep(0.1)  # a worker recycling
    raise AssertionError("gunicorn stopped answering")


def readme_families():
    """The README's Feast table: series name -> (type, label names). In the
    labels column a parenthesis lists label values, except "(or `x`)",
    which names another label; a gauge's "per `pid`" is a label too."""
    with open(os.path.join(REPO, "README.md")) as f:
        text = f.read()
    section = text.split("### Feast's metrics", 1)[1].split("\n## ", 1)[0]
    out = {}
    for name, typ, labels in re.findall(r"^\| `(feast_[a-z_]+)` \| ([^|]*) \| ([^|]*) \|",
                                        section, re.M):
        labels = re.sub(r"\(or (`[a-z_]+`)\)", r", \1", labels)
        labels = re.sub(r"\([^)]*\)", "", labels)
        names = set(re.findall(r"`([a-z_]+)`", labels)) | set(re.findall(r"per `([a-z_]+)`", typ))
        out[name] = (typ.split(",")[0].strip(), names)
    assert len(out) >= 10, out
    return out


def page_families(page):
    """The same from a scraped page: each # TYPE'd family and the label
    names its samples carry (le aside)."""
    types = dict(re.findall(r"^# TYPE (\S+) (\S+)$", page, re.M))
    out = {name: (typ, set()) for name, typ in types.items()}
    for sample, labels in re.findall(r"^([a-z_]+)(?:\{(.*)\})? \S+$", page, re.M):
        family = sample
        if family not in types:
            family = re.sub(r"_(bucket|sum|count)$", "", sample)
        assert family in types, sample
        out[family][1].update(k for k in re.findall(r'([a-z_]+)="', labels) if k != "le")
    return out


# Feast's Prometheus series for each OTLP metric the model counts.
PROM_NAMES = {
    "feast_feature_server_request": "feast_feature_server_request_total",
    "feast_feature_server_request_latency": "feast_feature_server_request_latency_seconds_count",
    "feast_online_features_request": "feast_online_features_request_total",
    "feast_online_features_status": "feast_online_features_status_total",
    "feast_push_request": "feast_push_request_total",
    "feast_materialization_result": "feast_materialization_result_total",
    "feast_materialization_duration": "feast_materialization_duration_seconds_count",
}


def test_one_endpoint_for_all_workers_scraped_by_prometheus(receiver, hosts):
    port, mport = free_port(), free_port()
    cmd = [PY, "-m", "gunicorn", "app:app", "--chdir", "tests/feature_server",
           "-k", "uvicorn.workers.UvicornWorker", "-w", "2", "-b", f"127.0.0.1:{port}",
           "--max-requests", "6", "--max-requests-jitter", "0", "--graceful-timeout", "20"]
    h = Host(cmd, library_env(receiver, OTEL_METRICS_EXPORTER="prometheus,otlp",
                              OTEL_EXPORTER_PROMETHEUS_HOST="127.0.0.1",
                              OTEL_EXPORTER_PROMETHEUS_PORT=mport), port)
    hosts.append(h)
    prom = Prometheus(mport)
    try:
        views = {"features": ["driver_hourly_stats:conv_rate", "driver_profile:rating"],
                 "entities": {"driver_id": [1001, 9999]}}
        service = {"feature_service": "driver_activity", "entities": {"driver_id": [1002]}}
        window = {"start_ts": "2026-01-01T00:00:00", "end_ts": "2026-01-02T00:00:00"}
        requests = [
            ("/get-online-features", views),
            ("/get-online-features", service),
            ("/push", {"push_source_name": "driver_push", "df": {}}),
            ("/get-online-features", {"features": ["nope:x"], "entities": {"driver_id": [1]}}),
            ("/materialize", dict(window, feature_views=["driver_hourly_stats"])),
            ("/materialize", dict(window, feature_views=["driver_profile", "nope"])),
        ]
        sent = []
        for _ in range(6):
            for path, body in requests:
                sent.append((path, body, post(port, path, body)))
        assert [s for _, _, s in sent] == [status_of(p, b) for p, b, _ in sent]
        # The endpoint is served by whichever worker holds the port; let
        # recycled workers exit and a few scrapes happen.
        time.sleep(2.5)
        wait_port(mport, timeout=10)
        page = scrape(mport)
        check = subprocess.run(["promtool", "check", "metrics"], input=page, text=True,
                               capture_output=True)
        assert check.returncode == 0, check.stdout + check.stderr
        for family in ("feast_materialization_result_total",
                       "feast_materialization_duration_seconds"):
            assert f"# TYPE {family} " in page, "promtool saw no " + family

        model = expected(sent)
        want = {prom: dict(model[otlp]) for otlp, prom in PROM_NAMES.items()}
        want["feast_online_features_entity_count_count"] = {(): sum(model["entity_buckets"])}
        want["feast_online_features_entity_count_sum"] = {(): model["entity_sum"]}
        # Requests to /health below make a live worker serve; they are left
        # out of the comparison.
        deadline = time.time() + 20
        while True:
            got = {name: query(prom.port, name + '{endpoint!="/health"}') for name in want}
            if got == want or time.time() > deadline:
                break
            time.sleep(0.5)
        assert got == want
        # Entity rows per request, bucket by bucket (cumulative on the page).
        page = scrape(mport)
        cumulative = [sum(model["entity_buckets"][:i + 1]) for i in range(len(ENTITY_BOUNDS) + 1)]
        les = [str(b) for b in ENTITY_BOUNDS] + ["+Inf"]
        for le, n in zip(les, cumulative):
            assert f'feast_online_features_entity_count_bucket{{le="{le}"}} {n}\n' in page, le
        # Gauges: one per live worker that served requests, never the master.
        # The workers alive now may all be fresh ones that served nothing yet
        # (each exits after about 6 requests): then one more request is sent.
        for _ in range(10):
            page = scrape(mport)
            gauge_pids = set(re.findall(r'feast_feature_server_cpu_usage\{pid="(\d+)"\}', page))
            if gauge_pids:
                break
            get(port, "/health")
            time.sleep(1.5)
        assert gauge_pids and str(h.pid) not in gauge_pids, (gauge_pids, h.pid)
        for pid in gauge_pids:
            assert os.path.exists(f"/proc/{pid}"), "a gauge of an exited process"
        # Prometheus holds the gauge once one of its 1 s scrapes has found a
        # worker that served: a scrape taken before the request above, or
        # after that worker was recycled, has none, so give it a few.
        deadline = time.time() + 10
        while not query(prom.port, "feast_feature_server_memory_usage") and \
                time.time() < deadline:
            get(port, "/health")
            time.sleep(0.5)
        assert query(prom.port, "feast_feature_server_memory_usage")
        # Workers were recycled: the counts above include exited workers.
        assert len(set(re.findall(r"Worker exiting \(pid: (\d+)\)", h.stderr()))) >= 2, \
            "no worker was recycled"
        # The README lists exactly the families a scrape shows, with their
        # types and label names.
        assert page_families(page) == readme_families()
    finally:
        prom.stop()
        h.stop(group=False)
