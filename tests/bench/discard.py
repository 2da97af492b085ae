"""A collector that takes OTLP exports and throws them away undecoded, so
that the benchmark measures the exporter, not the receiver. Both transports:
OTLP/HTTP by build/bench/discard_http (C: keep-alive, 200 with an empty
response) and OTLP/gRPC by grpcio (a generic handler that never
deserialises)."""
import os
import signal
import subprocess
import threading
from concurrent import futures

DISCARD_HTTP = os.path.join(os.path.dirname(__file__), "..", "..", "build", "bench",
                            "discard_http")


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
            self._proc = subprocess.Popen([DISCARD_HTTP], stdout=subprocess.PIPE, text=True)
            self.port = int(self._proc.stdout.readline())
        return self

    @property
    def endpoint(self):
        return f"http://127.0.0.1:{self.port}"

    def stop(self):
        if self.grpc:
            self._server.stop(0)
        else:
            self._proc.send_signal(signal.SIGTERM)
            out = self._proc.communicate(timeout=10)[0]
            self.requests = int(out.split()[-1])
