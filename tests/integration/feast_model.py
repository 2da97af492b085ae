"""What Feast's metric families must say about a list of requests sent to
tests/feature_server/app.py: the test's requests are the one source of the
expected values, computed here with the app's own data (read from its
source, so importing it does not seed a store) and Feast's rules as
FEAST.md and the README state them."""
import ast
import bisect
import os
from collections import Counter

APP = os.path.join(os.path.dirname(__file__), "..", "feature_server", "app.py")

ENTITY_BOUNDS = [1, 5, 10, 25, 50, 100, 250, 500, 1000]
LATENCY_BOUNDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
MATERIALIZE_BOUNDS = [1, 5, 10, 30, 60, 120, 300, 600, 1800, 3600]


def _app_constants():
    with open(APP) as f:
        tree = ast.parse(f.read())
    out = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and \
                isinstance(node.targets[0], ast.Name) and \
                node.targets[0].id in ("FEATURE_VIEWS", "FEATURE_SERVICES", "DRIVERS"):
            out[node.targets[0].id] = ast.literal_eval(node.value)
    return out["FEATURE_VIEWS"], out["FEATURE_SERVICES"], set(out["DRIVERS"])


VIEWS, SERVICES, DRIVERS = _app_constants()


def _refs(ref_list):
    return [str(r).partition(":")[::2] for r in ref_list]


def _known_ref(view, feature):
    return view in VIEWS and feature in VIEWS[view]["features"]


def status_of(path, body):
    """The HTTP status the app answers with (only the cases the tests send)."""
    if path == "/get-online-features":
        refs = SERVICES.get(body["feature_service"]) if "feature_service" in body \
            else body["features"]
        if refs is None or not all(_known_ref(v, f) for v, f in _refs(refs)):
            return 404
        return 200
    if path in ("/materialize", "/materialize-incremental"):
        return 404 if any(v not in VIEWS for v in body.get("feature_views") or []) else 200
    if path == "/push":
        return 200
    raise ValueError(path)


def _distinct(names):
    out = []
    for n in names:
        if n not in out:
            out.append(n)
    return out


def _key(**attrs):
    return tuple(sorted(attrs.items()))


def expected(sent):
    """sent: (path, body, status) per request. Returns, per OTLP metric
    name, a Counter of attribute tuples to the counter's value or the
    histogram's count, plus 'entity_buckets' (bucket counts of
    feast_online_features_entity_count) and 'entity_sum'."""
    want = {n: Counter() for n in (
        "feast_feature_server_request", "feast_feature_server_request_latency",
        "feast_online_features_request", "feast_online_features_status",
        "feast_push_request", "feast_materialization_result",
        "feast_materialization_duration")}
    buckets = [0] * (len(ENTITY_BOUNDS) + 1)
    entity_sum = 0
    for path, body, status in sent:
        ok = 200 <= status < 400
        service = body.get("feature_service") if path == "/get-online-features" else None
        extra = {"feature_service": service} if service else {}
        want["feast_feature_server_request"][
            _key(endpoint=path, status="success" if ok else "error", **extra)] += 1
        if path == "/get-online-features" and not service:
            refs = _refs(body["features"])
            views = _distinct(v for v, _ in refs)
            want["feast_feature_server_request_latency"][
                _key(endpoint=path, feature_count=str(len(refs)),
                     feature_view_count=str(len(views)))] += 1
        else:
            want["feast_feature_server_request_latency"][_key(endpoint=path, **extra)] += 1

        if path == "/get-online-features":
            want["feast_online_features_request"][()] += 1
            rows = max(len(v) for v in body["entities"].values())
            buckets[bisect.bisect_left(ENTITY_BOUNDS, rows)] += 1
            entity_sum += rows
            if ok:  # an error answer has no statuses
                (join_key, entities), = body["entities"].items()
                for view, feature in _refs(SERVICES[service] if service else body["features"]):
                    label = {"feature_service": service} if service else {"feature_view": view}
                    for e in entities:
                        st = "present" if e in DRIVERS else "not_found"
                        want["feast_online_features_status"][_key(status=st, **label)] += 1
        elif path == "/push" and ok:
            want["feast_push_request"][
                _key(push_source=body["push_source_name"], mode=body.get("to", "online"))] += 1
        elif path in ("/materialize", "/materialize-incremental"):
            for view in _distinct(body["feature_views"]):
                want["feast_materialization_result"][
                    _key(feature_view=view, status="success" if ok else "failure")] += 1
                want["feast_materialization_duration"][_key(feature_view=view)] += 1
    want["entity_buckets"] = buckets
    want["entity_sum"] = entity_sum
    return want
