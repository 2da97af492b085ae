"""Feast's metric families measured from the wire: a known mix of requests
to the feature server under gunicorn (2 workers, recycled), and every value
the receiver decodes (summed over the workers' latest cumulative points)
equal to what was sent."""
import http.client
import json
import time
from collections import Counter

import pytest

from conftest import PY, Host, free_port, library_env


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


def total(receiver, name, **attrs):
    """Sum over workers of the newest point of every series of `name` whose
    attributes include attrs (None: the attribute is absent)."""
    out = 0
    for p in receiver.latest_points(name):
        a = p["attributes"]
        if all(a.get(k) == v for k, v in attrs.items()):
            out += p["point"].count if p["kind"] == "histogram" else p["point"].as_int
    return out


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
    sent = []
    for _ in range(4):
        sent.append(("gof-views", post(port, "/get-online-features", views)))
        sent.append(("gof-service", post(port, "/get-online-features", service)))
        sent.append(("gof-one", post(port, "/get-online-features", one)))
        sent.append(("push", post(port, "/push", {"push_source_name": "driver_push",
                                                   "df": {"driver_id": [1]}, "to": "online"})))
        sent.append(("push-both", post(port, "/push", {"push_source_name": "driver_push",
                                                        "df": {}, "to": "online_and_offline"})))
        sent.append(("materialize", post(port, "/materialize", {
            "start_ts": "2026-01-01T00:00:00", "end_ts": "2026-01-02T00:00:00",
            "feature_views": ["driver_hourly_stats"]})))
        sent.append(("missing-view", post(port, "/get-online-features", {
            "features": ["nope:x"], "entities": {"driver_id": [1]}})))
        time.sleep(0.05)
    assert [s for _, s in sent].count(200) == 24 and [s for _, s in sent].count(404) == 4
    time.sleep(1.5)  # let a worker that reached --max-requests exit on its own
    h.stop(group=False)
    r = receiver

    # Requests by endpoint and outcome; latency by endpoint and feature counts.
    assert total(r, "feast_feature_server_request", endpoint="/get-online-features",
                 status="success") == 12
    assert total(r, "feast_feature_server_request", endpoint="/get-online-features",
                 status="error") == 4
    assert total(r, "feast_feature_server_request", endpoint="/push", status="success") == 8
    assert total(r, "feast_feature_server_request", endpoint="/materialize") == 4
    assert total(r, "feast_feature_server_request", feature_service="driver_activity") == 4
    assert total(r, "feast_feature_server_request_latency", endpoint="/get-online-features",
                 feature_count="3", feature_view_count="2") == 4
    assert total(r, "feast_feature_server_request_latency", endpoint="/get-online-features",
                 feature_count="1", feature_view_count="1") == 8  # gof-one + missing-view
    assert total(r, "feast_feature_server_request_latency",
                 feature_service="driver_activity") == 4
    lat = r.latest_points("feast_feature_server_request_latency")
    assert lat and all(p["metric"].unit == "s" for p in lat)
    assert list(lat[0]["point"].explicit_bounds) == [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                                                     1, 2.5, 5, 10]

    # Online feature retrieval: requests, entity rows, values by view and status.
    assert total(r, "feast_online_features_request") == 16
    ent = r.latest_points("feast_online_features_entity_count")
    assert sum(p["point"].count for p in ent) == 16
    assert sum(p["point"].sum for p in ent) == 4 * (3 + 2 + 1 + 1)
    assert list(ent[0]["point"].explicit_bounds) == [1, 5, 10, 25, 50, 100, 250, 500, 1000]
    assert series(r, "feast_online_features_status") == Counter({
        (("feature_view", "driver_hourly_stats"), ("status", "present")): 4 * 4,
        (("feature_view", "driver_hourly_stats"), ("status", "not_found")): 4 * 2,
        (("feature_view", "driver_profile"), ("status", "present")): 4 * (2 + 1),
        (("feature_view", "driver_profile"), ("status", "not_found")): 4 * 1,
        (("feature_service", "driver_activity"), ("status", "present")): 4 * 6,
    })

    # Push and materialization.
    assert series(r, "feast_push_request") == Counter({
        (("mode", "online"), ("push_source", "driver_push")): 4,
        (("mode", "online_and_offline"), ("push_source", "driver_push")): 4,
    })
    assert series(r, "feast_materialization_result") == Counter({
        (("feature_view", "driver_hourly_stats"), ("status", "success")): 4})
    md = r.latest_points("feast_materialization_duration")
    assert sum(p["point"].count for p in md) == 4 and md[0]["metric"].unit == "s"

    # Spans carry the same statistics.
    spans = [s for s in r.spans() if s["name"] == "POST /get-online-features"
             and s["attributes"].get("http.response.status_code") == 200]
    assert len(spans) == 12
    by_service = [s for s in spans if "feast.feature_service" in s["attributes"]]
    assert len(by_service) == 4
    a = by_service[0]["attributes"]
    assert a["feast.feature_service"] == "driver_activity" and a["feast.entity_count"] == 2
    assert a["feast.status.present"] == 6 and a["feast.status.not_found"] == 0
    a = next(s["attributes"] for s in spans if s["attributes"].get("feast.feature_count") == 3)
    assert (a["feast.entity_count"], a["feast.feature_view_count"]) == (3, 2)
    assert (a["feast.status.present"], a["feast.status.not_found"]) == (6, 3)
    # Workers were recycled, and every worker's counts arrived.
    pids = {p["resource"]["process.pid"] for p in r.latest_points("feast_feature_server_request")}
    assert len(pids) > 2, pids
