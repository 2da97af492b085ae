"""The host must not be able to tell that the library is loaded: exact
pass-through, signals, fork/vfork/exec, threads, hostile traffic, memory
checkers, and programs that are not servers."""
import http.client
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time

import pytest

from conftest import (get, ASAN, PY, REPO, Host, free_port, library_env, raw_exchange,
                      start_feature_server)

C_SERVER = os.path.join(REPO, "build", "hosts", "c_server")




def bare_env():
    env = dict(os.environ)
    env.pop("LD_PRELOAD", None)
    return env


def test_every_interposed_call_passes_through_exactly(receiver):
    prog = os.path.join(REPO, "build", "hosts", "passthrough")
    bare = subprocess.run([prog], env=bare_env(), capture_output=True, timeout=30)
    under = subprocess.run([prog], env=library_env(receiver), capture_output=True, timeout=30)
    assert bare.returncode == under.returncode == 0
    assert bare.stdout.count(b"\n") > 100
    assert under.stdout.decode() == bare.stdout.decode()
    assert b"feast-otel" not in under.stderr
    # ... and the accepted TCP socket really was followed, through peek,
    # the fortified reads and sendfile.
    assert receiver.wait_for(lambda: receiver.spans(), timeout=10)
    spans = receiver.spans()
    assert len(spans) == 1
    assert spans[0]["name"] == "POST /push"
    assert spans[0]["attributes"]["http.response.status_code"] == 200


def client_load(port, n, conns=4):
    """n requests over `conns` parallel keep-alive connections; returns the
    number answered 200 with the right body."""
    ok = [0] * conns

    def run(i):
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
        for _ in range(n // conns):
            if get(port, "/x", c) == (200, b"ok\n"):
                ok[i] += 1
        c.close()
    ts = [threading.Thread(target=run, args=(i,)) for i in range(conns)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return sum(ok)


def test_signal_storm_during_load(receiver, hosts):
    port = free_port()
    h = Host([C_SERVER, str(port), "signals"], library_env(receiver), port)
    hosts.append(h)
    done = threading.Event()
    sent = [0]

    def storm():
        while not done.is_set():
            os.kill(h.pid, signal.SIGUSR1)
            sent[0] += 1
    t = threading.Thread(target=storm)
    t.start()
    t0 = time.time()
    answered = client_load(port, 400)
    elapsed = time.time() - t0
    done.set()
    t.join()
    h.stop()
    assert answered == 400
    assert sent[0] / elapsed > 1000, f"only {sent[0] / elapsed:.0f} signals/s"
    spans = receiver.spans()
    assert len(spans) == 400
    assert all(s["attributes"]["http.response.status_code"] == 200 for s in spans)


def test_fork_storm_children_neither_deadlock_nor_export(receiver, hosts):
    port = free_port()
    h = Host([C_SERVER, str(port), "fork"], library_env(receiver), port)
    hosts.append(h)
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
    for _ in range(150):
        assert get(port, "/f", c) == (200, b"ok\n")
    c.close()
    h.stop()
    spans = receiver.spans()
    assert len(spans) == 150
    assert {s["resource"]["process.pid"] for s in spans} == {h.pid}
    pids = {p["resource"]["process.pid"] for _, m, _ in receiver.requests
            for p in [{"resource": {a.key: a.value.int_value for a in rm.resource.attributes}}
                      for rm in getattr(m, "resource_metrics", [])]}
    assert pids <= {h.pid}, "a forked child exported"


def test_threads_with_fds_closed_and_reused(receiver, hosts):
    port = free_port()
    h = Host([C_SERVER, str(port), "threads"], library_env(receiver), port)
    hosts.append(h)
    total = [0]
    lock = threading.Lock()

    def worker():
        for i in range(40):
            # new connections, so fd numbers are closed and reused under load
            status, body = get(port, f"/t{i}")
            with lock:
                total[0] += (status, body) == (200, b"ok\n")
    ts = [threading.Thread(target=worker) for _ in range(8)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    h.stop()
    assert total[0] == 320
    spans = receiver.spans()
    assert len(spans) == 320
    assert sorted(s["attributes"]["url.path"] for s in spans) == sorted(
        f"/t{i}" for i in range(40) for _ in range(8))


def test_one_connection_read_and_written_by_two_threads(receiver, hosts):
    """Reads and writes of one connection from two threads at once: the host
    gets every byte right; what the library reports is a subset of the
    truth (each span it does emit is a real, correct exchange)."""
    port = free_port()
    h = Host([C_SERVER, str(port), "duplex"], library_env(receiver), port)
    hosts.append(h)
    n = 0
    for _ in range(10):
        data = b"".join(f"GET /d{i} HTTP/1.1\r\nHost: x\r\n\r\n".encode() for i in range(60))
        out = raw_exchange(port, data, 60)
        assert [int(x) for x in re.findall(rb"HTTP/1\.1 (\d{3}) ", out)] == \
            [200 + i % 3 for i in range(60)]
        n += 60
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
    for _ in range(20):
        assert get(port, "/seq", c) == (200, b"ok\n")
    c.close()
    h.stop()
    spans = receiver.spans()
    assert len(spans) <= n + 20
    for s in spans:
        path, status = s["attributes"]["url.path"], s["attributes"]["http.response.status_code"]
        want = 200 + int(path[2:]) % 3 if path.startswith("/d") else 200
        assert status == want, f"{path} reported with {status}"


def test_subprocess_and_exec_under_load(receiver, hosts):
    h = start_feature_server(hosts, receiver)
    c = http.client.HTTPConnection("127.0.0.1", h.port, timeout=15)
    for _ in range(30):
        status, body = get(h.port, "/test/spawn", c)
        assert status == 200 and b"spawned" in body
    c.close()
    h.stop()
    spans = receiver.spans()
    assert len(spans) == 30
    assert {s["resource"]["process.pid"] for s in spans} == {h.pid}


HOSTILE = {
    "slowloris": None,  # byte at a time, below
    "huge_header_line": b"GET /health HTTP/1.1\r\nX-Big: " + b"a" * (1 << 20) + b"\r\n\r\n",
    "many_headers": b"GET /health HTTP/1.1\r\n" + b"X-H: 1\r\n" * 100000 + b"\r\n",
    "garbage": bytes(range(256)) * 64,
    "tls_client_hello": bytes.fromhex("16030100f4010000f00303") + os.urandom(200),
    "h2_preface": b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + b"\x00\x00\x00\x04\x00\x00\x00\x00\x00",
}


def send_hostile(port, name):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    try:
        if name == "slowloris":
            for b in b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n":
                s.send(bytes([b]))
                time.sleep(0.002)
        else:
            try:
                s.sendall(HOSTILE[name])
            except OSError:
                pass
        try:
            s.shutdown(socket.SHUT_WR)
        except OSError:  # the server already answered and reset the connection
            pass
        out = b""
        while True:
            try:
                chunk = s.recv(65536)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
        return out.split(b"\r\n", 1)[0]  # the status line, or b"" if closed
    finally:
        s.close()


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_traffic_gets_the_same_answer(receiver, hosts, name):
    port = free_port()
    cmd = [PY, "-m", "uvicorn", "app:app", "--app-dir", "tests/feature_server",
           "--port", str(port), "--no-access-log"]
    bare = Host(cmd, bare_env(), port)
    hosts.append(bare)
    want = send_hostile(port, name)
    bare.stop()
    port2 = free_port()
    h = Host(cmd[:-3] + ["--port", str(port2), "--no-access-log"], library_env(receiver), port2)
    hosts.append(h)
    got = send_hostile(port2, name)
    assert got == want
    # the host goes on serving, and is still measured
    assert get(port2, "/health") == (200, b'{"status":"healthy"}')
    rss_kb = int([l for l in open(f"/proc/{h.pid}/status") if l.startswith("VmRSS")][0].split()[1])
    h.stop()
    # A hostile request whose request line was HTTP and that the host answered
    # is an exchange like any other: measured with the status the host sent.
    health = [s["attributes"]["http.response.status_code"] for s in receiver.spans()
              if s["attributes"]["url.path"] == "/health"]
    if name in ("slowloris", "huge_header_line", "many_headers") and want.startswith(b"HTTP/1."):
        assert sorted(health) == sorted([200, int(want.split()[1])])
    else:
        assert health == [200]
    assert rss_kb < 200 * 1024


def listening_ports(pid):
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            t = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if t.startswith("socket:["):
            inodes.add(t[8:-1])
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6", "/proc/net/udp", "/proc/net/udp6"):
        for line in open(table).readlines()[1:]:
            f = line.split()
            if f[9] in inodes and (f[3] == "0A" or "udp" in table):
                ports.add(int(f[1].split(":")[1], 16))
    return ports


def test_no_listening_socket_of_its_own(receiver, hosts):
    h = start_feature_server(hosts, receiver)
    assert get(h.port, "/health")[0] == 200
    time.sleep(0.7)  # the exporter thread is up and has exported
    assert listening_ports(h.pid) == {h.port}
    h.stop()


def test_short_lived_command_gets_no_thread(receiver):
    p = subprocess.Popen(["sleep", "2"], env=library_env(receiver))
    time.sleep(0.5)
    threads = [l for l in open(f"/proc/{p.pid}/status") if l.startswith("Threads:")][0]
    p.wait()
    assert threads.split()[1] == "1"
    assert receiver.requests == []


@pytest.mark.parametrize("include,exclude,exported", [
    ("", "python3*", False),
    ("nginx,node", "", False),
    ("python3*", "", True),
    ("*/python3*", "uvicorn", True),
])
def test_include_exclude_by_executable(receiver, hosts, include, exclude, exported):
    h = start_feature_server(hosts, receiver, FEAST_OTEL_INCLUDE=include,
                             FEAST_OTEL_EXCLUDE=exclude)
    assert get(h.port, "/health")[0] == 200
    h.stop()
    time.sleep(0.3)
    assert (len(receiver.spans()) == 1) == exported


def test_static_binary_is_unaffected(receiver, hosts, tmp_path):
    exe = tmp_path / "c_server_static"
    r = subprocess.run(["gcc", "-static", "-O2", "-pthread", "-o", str(exe),
                        os.path.join(REPO, "tests", "hosts", "c_server.c")], capture_output=True)
    if r.returncode != 0:
        pytest.skip("no static libc here: " + r.stderr.decode()[-200:])
    port = free_port()
    h = Host([str(exe), str(port), "plain"], library_env(receiver), port)
    hosts.append(h)
    assert get(port, "/s") == (200, b"ok\n")
    h.stop()
    time.sleep(0.3)
    assert receiver.requests == []


@pytest.mark.skipif(ASAN or shutil.which("valgrind") is None,
                    reason="valgrind cannot run an ASan build")
def test_valgrind_memcheck_reports_nothing(receiver, hosts, tmp_path):
    port = free_port()
    log = tmp_path / "vg.log"
    env = library_env(receiver)
    cmd = ["valgrind", "--error-exitcode=99", "--leak-check=no", "--track-fds=no",
           f"--log-file={log}", C_SERVER, str(port), "plain"]
    h = Host(cmd, env, port)
    hosts.append(h)
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    for _ in range(20):
        assert get(port, "/v", c) == (200, b"ok\n")
    c.close()
    assert h.stop(timeout=60) == 0, log.read_text()[-3000:]
    text = log.read_text()
    assert "ERROR SUMMARY: 0 errors" in text, text[-3000:]
    assert len(receiver.spans()) == 20


@pytest.mark.skipif(os.geteuid() != 0 or ASAN, reason="needs root to make a setuid program")
def test_secure_execution_mode_does_nothing(receiver, hosts, tmp_path):
    """In secure-execution mode (AT_SECURE: uid differs from euid) ld.so only
    preloads set-user-ID libraries from trusted directories; even then the
    library must stay inert."""
    libdir = "/usr/lib/x86_64-linux-gnu"
    name = f"libfeast_otel_secure_test_{os.getpid()}.so"
    trusted = os.path.join(libdir, name)
    exe = tmp_path / "c_server_setuid"
    shutil.copy(C_SERVER, exe)
    os.chmod(tmp_path, 0o755)
    os.chown(exe, 65534, 65534)  # nobody
    os.chmod(exe, 0o4755)
    shutil.copy(os.path.join(REPO, "build", "libfeast_otel.so"), trusted)
    os.chmod(trusted, 0o4755)
    try:
        port = free_port()
        env = library_env(receiver)
        env["LD_PRELOAD"] = name
        h = Host([str(exe), str(port), "plain"], env, port)
        hosts.append(h)
        maps = open(f"/proc/{h.pid}/maps").read()
        status = open(f"/proc/{h.pid}/status").read()
        uids = [l for l in status.splitlines() if l.startswith("Uid:")][0].split()
        assert uids[1] == "0" and uids[2] == "65534", uids  # real root, effective nobody
        assert name in maps, "ld.so did not preload the library: the test proves nothing"
        assert get(port, "/secure") == (200, b"ok\n")
        h.stop()
        time.sleep(0.5)
        assert receiver.requests == []
    finally:
        os.unlink(trusted)


@pytest.mark.skipif(shutil.which("go") is None or ASAN,
                    reason="go not installed, or the ASan runtime (it maps a Go binary differently)")
def test_go_binary_is_unaffected(receiver, hosts, tmp_path):
    """A Go server links the C library (for its resolver) so ours is loaded,
    but Go makes its own system calls: it must run exactly as without us."""
    exe = tmp_path / "go_server"
    env = dict(bare_env(), GOCACHE=os.path.join(REPO, "build", "gocache"),
               GOPATH=str(tmp_path / "gopath"), GO111MODULE="off", CGO_ENABLED="1", CC="gcc")
    subprocess.run(["go", "build", "-o", str(exe),
                    os.path.join(REPO, "tests", "hosts", "go_server.go")],
                   env=env, check=True, capture_output=True, timeout=300)
    port = free_port()
    h = Host([str(exe), str(port)], library_env(receiver), port)
    hosts.append(h)
    assert "libfeast_otel" in open(f"/proc/{h.pid}/maps").read()
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
    for _ in range(10):
        assert get(port, "/g", c) == (200, b"ok\n")
    c.close()
    h.stop()
    time.sleep(0.3)
    assert receiver.requests == []
