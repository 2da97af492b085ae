"""A Feast-style feature server for tests and the demo.

It answers Feast's HTTP API with exactly Feast's request and response shapes
(column-major /get-online-features, /push, /materialize*, /health) over a
SQLite online store seeded with a small driver-statistics feature view.
Test-only routes provoke a 500, a slow response and a chunked response.
"""
import asyncio
import os
import sqlite3
import tempfile
import time
from datetime import datetime, timezone

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse

FEATURE_VIEWS = {
    "driver_hourly_stats": {
        "join_key": "driver_id",
        "features": ["conv_rate", "acc_rate", "avg_daily_trips"],
    },
    "driver_profile": {
        "join_key": "driver_id",
        "features": ["rating", "years_active"],
    },
}
FEATURE_SERVICES = {
    "driver_activity": ["driver_hourly_stats:conv_rate", "driver_hourly_stats:acc_rate",
                        "driver_profile:rating"],
}
DRIVERS = {
    1001: {"conv_rate": 0.61, "acc_rate": 0.91, "avg_daily_trips": 12, "rating": 4.8,
           "years_active": 3},
    1002: {"conv_rate": 0.42, "acc_rate": 0.77, "avg_daily_trips": 30, "rating": 4.5,
           "years_active": 1},
    1003: {"conv_rate": 0.88, "acc_rate": 0.65, "avg_daily_trips": 7, "rating": 4.9,
           "years_active": 6},
    1004: {"conv_rate": 0.15, "acc_rate": 0.99, "avg_daily_trips": 21, "rating": 3.9,
           "years_active": 2},
    1005: {"conv_rate": 0.53, "acc_rate": 0.81, "avg_daily_trips": 16, "rating": 4.2,
           "years_active": 4},
}

_db_path = os.environ.get("FEATURE_SERVER_DB") or os.path.join(
    tempfile.mkdtemp(prefix="fo-online-store-"), "online_store.db")


def _seed():
    con = sqlite3.connect(_db_path)
    con.execute("CREATE TABLE IF NOT EXISTS online_store (view TEXT, entity INTEGER, "
                "feature TEXT, value REAL, ts TEXT, PRIMARY KEY (view, entity, feature))")
    ts = datetime(2026, 1, 1, tzinfo=timezone.utc).isoformat()
    for view, spec in FEATURE_VIEWS.items():
        for driver, values in DRIVERS.items():
            for f in spec["features"]:
                con.execute("INSERT OR REPLACE INTO online_store VALUES (?, ?, ?, ?, ?)",
                            (view, driver, f, values[f], ts))
    con.commit()
    con.close()


_seed()
app = FastAPI()


def _read(view, entity, feature):
    con = sqlite3.connect(_db_path)
    try:
        return con.execute("SELECT value, ts FROM online_store WHERE view=? AND entity=? "
                           "AND feature=?", (view, entity, feature)).fetchone()
    finally:
        con.close()


def _error(status, message):
    return JSONResponse(status_code=status, content={"detail": message})


@app.post("/get-online-features")
async def get_online_features(request: Request):
    try:
        body = await request.json()
    except ValueError:
        return _error(422, "request body is not JSON")
    if not isinstance(body, dict) or "entities" not in body:
        return _error(422, "entities is required")
    if "feature_service" in body:
        refs = FEATURE_SERVICES.get(body["feature_service"])
        if refs is None:
            return _error(404, f"Feature service {body['feature_service']} does not exist")
    else:
        refs = body.get("features")
        if not isinstance(refs, list) or not refs:
            return _error(422, "features or feature_service is required")
    parsed = []
    for ref in refs:
        view, _, feature = str(ref).partition(":")
        spec = FEATURE_VIEWS.get(view)
        if spec is None or feature not in spec["features"]:
            return _error(404, f"Feature view {view} does not exist")
        parsed.append((view, feature))
    entities = body["entities"]
    if not isinstance(entities, dict) or len(entities) != 1:
        return _error(422, "exactly one join key is expected")
    join_key, rows = next(iter(entities.items()))
    full = bool(body.get("full_feature_names", False))
    names = [join_key] + [f"{v}__{f}" if full else f for v, f in parsed]
    results = [{"values": list(rows), "statuses": ["PRESENT"] * len(rows),
                "event_timestamps": ["1970-01-01T00:00:00Z"] * len(rows)}]
    for view, feature in parsed:
        col = {"values": [], "statuses": [], "event_timestamps": []}
        for entity in rows:
            hit = _read(view, entity, feature)
            if hit is None:
                col["values"].append(None)
                col["statuses"].append("NOT_FOUND")
                col["event_timestamps"].append("1970-01-01T00:00:00Z")
            else:
                col["values"].append(hit[0])
                col["statuses"].append("PRESENT")
                col["event_timestamps"].append(hit[1])
        results.append(col)
    return {"metadata": {"feature_names": names}, "results": results}


@app.post("/push")
async def push(request: Request):
    body = await request.json()
    if "push_source_name" not in body or "df" not in body:
        return _error(422, "push_source_name and df are required")
    if body.get("to", "online") not in ("online", "offline", "online_and_offline"):
        return _error(422, "to must be online, offline or online_and_offline")
    return None


@app.post("/write-to-online-store")
async def write_to_online_store(request: Request):
    body = await request.json()
    if body.get("feature_view_name") not in FEATURE_VIEWS:
        return _error(404, "Feature view does not exist")
    return None


@app.post("/materialize")
async def materialize(request: Request):
    body = await request.json()
    for view in body.get("feature_views") or []:
        if view not in FEATURE_VIEWS:
            return _error(404, f"Feature view {view} does not exist")
    return None


@app.post("/materialize-incremental")
async def materialize_incremental(request: Request):
    return await materialize(request)


@app.get("/health")
async def health():
    return {"status": "healthy"}


@app.get("/test/error")
async def test_error():
    raise RuntimeError("provoked failure")


@app.get("/test/slow")
async def test_slow(ms: int = 200):
    await asyncio.sleep(ms / 1000.0)
    return {"slept_ms": ms}


@app.get("/test/stream")
async def test_stream():
    async def parts():
        for i in range(3):
            yield f"part {i}\n".encode()
            await asyncio.sleep(0.01)
    return StreamingResponse(parts(), media_type="text/plain")


@app.get("/test/pid")
async def test_pid():
    return {"pid": os.getpid(), "time": time.time()}


@app.get("/test/spawn")
async def test_spawn():
    """Runs a child process the way Python code does (vfork or posix_spawn,
    then exec of another binary that inherits LD_PRELOAD)."""
    import subprocess
    out = subprocess.run(["/bin/echo", "spawned"], capture_output=True, check=True)
    return {"child": out.stdout.decode().strip()}
