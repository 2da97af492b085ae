"""Feast's metric families measured from the wire: a known mix of requests
to the feature server under gunicorn (2 workers, recycled), and every value
the receiver decodes (summed over the workers' latest cumulative points)
equal to what feast_model computes from the requests sent."""
import http.client
import json
import time
from collections import Counter

import pytest

from conftest import PY, Host, free_port, library_env
from feast_model import ENTITY_BOUNDS, LATENCY_BOUNDS, MATERIALIZE_BOUNDS, expected, status_of


def post(port, path, body):
    for _ in range(50):
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
            c.request("POST", path, json.dumps(body), {"Content-Type": "application/json"})
            r = c.getresponse()
            r.read()
            c.close()
            time.sleep(0.03)  # uvicorn checks --max-requests on a 0.1 s tick
            return r.status
        except (ConnectionError, http.client.HTTPException, OSError):
            time.sleep(0.1)  # a worker recycling
    pytest.fail("gunicorn stopped answering")


def series(receiver, name):
    """Every series of `name`, summed over the workers."""
    out = Counter()
    for p in receiver.latest_points(name):
        key = tuple(sorted(p["attributes"].items()))
        out[key] += p["point"].count if p["kind"] == "histogram" else p["point"].as_int
    return out


def test_feast_families_over_otlp_equal_what_was_sent(receiver, hosts):
    port = free_port()
    cmd = [PY, "-m", "gunicorn", "app:app", "--chdir", "tests/feature_server",
           "-k", "uvicorn.workers.UvicornWorker", "-w", "2", "-b", f"127.0.0.1:{port}",
           "--max-requests", "6", "--max-requests-jitter", "0", "--graceful-timeout", "20"]
    h = Host(cmd, library_env(receiver, OTEL_SERVICE_NAME="feast"), port)
    hosts.append(h)

    views = {"features": ["driver_hourly_stats:conv_rate", "driver_hourly_stats:acc_rate",
                          "driver_profile:rating"],
             "entities": {"driver_id": [1001, 1002, 9999]}}  # 9999 is not in the store
    service = {"feature_service": "driver_activity", "entities": {"driver_id": [1003, 1004]}}
    one = {"features": ["driver_profile:years_active"], "entities": {"driver_id": [1005]}}
    many_rows = {"features": ["driver_profile:rating"],
                 "entities": {"driver_id": list(range(1001, 1013))}}  # 12 rows: 5 found
    # A response body of ~30 KB: too large to hand to the exporter thread
    # (exporter/later.h), so read on the server's thread.
    large = {"features": ["driver_hourly_stats:acc_rate"],
             "entities": {"driver_id": list(range(1001, 1401))}}
    requests = [
        ("/get-online-features", views),
        ("/get-online-features", service),
        ("/get-online-features", one),
        ("/get-online-features", many_rows),
        ("/get-online-features", large),
        ("/push", {"push_source_name": "driver_push", "df": {"driver_id": [1]}, "to": "online"}),
        ("/push", {"push_source_name": "driver_push", "df": {}, "to": "online_and_offline"}),
        ("/materialize", {"start_ts": "2026-01-01T00:00:00", "end_ts": "2026-01-02T00:00:00",
                          "feature_views": ["driver_hourly_stats"]}),
        ("/materialize", {"start_ts": "2026-01-01T00:00:00", "end_ts": "2026-01-02T00:00:00",
                          "feature_views": ["driver_profile", "nope", "driver_profile"]}),
        ("/get-online-features", {"features": ["nope:x"], "entities": {"driver_id": [1]}}),
    ]
    sent = []
    for _ in range(4):
        for path, body in requests:
            sent.append((path, body, post(port, path, body)))
        time.sleep(0.05)
    assert [s for _, _, s in sent] == [status_of(p, b) for p, b, _ in sent]
    assert {s for _, _, s in sent} == {200, 404}, "both outcomes are exercised"
    time.sleep(1.5)  # let a worker that reached --max-requests exit on its own
    h.stop(group=False)
    r = receiver
    want = expected(sent)

    # Every series of every family, with exactly its value (summed over the
    # workers, live and recycled), and nothing else.
    for name in ("feast_feature_server_request", "feast_feature_server_request_latency",
                 "feast_online_features_request", "feast_online_features_status",
                 "feast_push_request", "feast_materialization_result",
                 "feast_materialization_duration"):
        assert series(r, name) == want[name], name

    # Histograms: units, bounds, and bucket counts that add up.
    for name, bounds in (("feast_feature_server_request_latency", LATENCY_BOUNDS),
                         ("feast_online_features_entity_count", ENTITY_BOUNDS),
                         ("feast_materialization_duration", MATERIALIZE_BOUNDS)):
        points = r.latest_points(name)
        assert points, name
        for p in points:
            assert list(p["point"].explicit_bounds) == bounds, name
            assert sum(p["point"].bucket_counts) == p["point"].count, name
            assert p["metric"].unit == ("" if name.endswith("entity_count") else "s"), name
    # Entity rows per request: every bucket exactly, and the sum.
    ent = r.latest_points("feast_online_features_entity_count")
    assert all(p["attributes"] == {} for p in ent)
    assert [sum(c) for c in zip(*(p["point"].bucket_counts for p in ent))] == \
        want["entity_buckets"]
    assert sum(p["point"].sum for p in ent) == want["entity_sum"]
    assert sum(p["point"].count for p in ent) == sum(want["entity_buckets"])
    # Materialization takes well under a second here: all in the first bucket.
    md = r.latest_points("feast_materialization_duration")
    assert sum(p["point"].bucket_counts[0] for p in md) == \
        sum(want["feast_materialization_duration"].values())

    # Spans carry the same statistics.
    spans = [s for s in r.spans() if s["name"] == "POST /get-online-features"
             and s["attributes"].get("http.response.status_code") == 200]
    assert len(spans) == sum(1 for p, _, st in sent if p == "/get-online-features" and st == 200)
    by_service = [s for s in spans if "feast.feature_service" in s["attributes"]]
    assert len(by_service) == sum(1 for _, b, _ in sent if b is service)
    a = by_service[0]["attributes"]
    assert a["feast.feature_service"] == "driver_activity" and a["feast.entity_count"] == 2
    assert a["feast.status.present"] == 6 and a["feast.status.not_found"] == 0
    a = next(s["attributes"] for s in spans if s["attributes"].get("feast.feature_count") == 3)
    assert (a["feast.entity_count"], a["feast.feature_view_count"]) == (3, 2)
    assert (a["feast.status.present"], a["feast.status.not_found"]) == (6, 3)
    # Workers were recycled, and every worker's counts arrived.
    pids = {p["resource"]["process.pid"] for p in r.latest_points("feast_feature_server_request")}
    assert len(pids) > 2, pids
