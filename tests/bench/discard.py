"""A collector that takes OTLP exports and throws them away undecoded, so
that the benchmark measures the exporter, not the receiver. Both transports:
OTLP/HTTP (keep-alive, 200 with an empty response) and OTLP/gRPC (a generic
handler that never deserialises)."""
import http.server
import threading
from concurrent import futures


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        while n > 0:
            chunk = self.rfile.read(min(n, 1 << 20))
            if not chunk:
                return
            n -= len(chunk)
        self.server.owner.count(n)
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


class Discard:
    def __init__(self, grpc=False):
        self.grpc = grpc
        self.requests = 0
        self.lock = threading.Lock()
        self.port = None
        self._server = None

    def count(self, _n):
        with self.lock:
            self.requests += 1

    def start(self):
        if self.grpc:
            import grpc

            owner = self

            class Generic(grpc.GenericRpcHandler):
                def service(self, details):
                    if details.method.endswith("/Export"):
                        return grpc.unary_unary_rpc_method_handler(self.export)
                    return None

                def export(self, request, context):
                    owner.count(len(request))
                    return b""  # an empty Export*ServiceResponse

            self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=4),
                                       options=[("grpc.max_receive_message_length", 64 << 20)])
            self._server.add_generic_rpc_handlers((Generic(),))
            self.port = self._server.add_insecure_port("127.0.0.1:0")
            self._server.start()
        else:
            self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
            self._server.daemon_threads = True
            self._server.owner = self
            self.port = self._server.server_address[1]
            threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    @property
    def endpoint(self):
        return f"http://127.0.0.1:{self.port}"

    def stop(self):
        if self.grpc:
            self._server.stop(0)
        else:
            self._server.shutdown()
            self._server.server_close()
