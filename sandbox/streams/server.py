"""The gRPC server of a sandbox: grpcio, on its own port, over the same store as the REST API."""

from __future__ import annotations

from concurrent import futures

import grpc

from polymarket.v1 import dropcopy_pb2_grpc, funding_pb2_grpc, order_entry_pb2_grpc
from sandbox.env import Env
from sandbox.streams.service import DropCopy, Funding, OrderEntry, StreamServer


class GrpcServer:
    """Serves the streams on `host:port` (port 0: a free one, then `.port` says which)."""

    def __init__(self, env: Env, host: str, port: int) -> None:
        settings = env.settings
        self._server = grpc.server(
            futures.ThreadPoolExecutor(
                max_workers=settings.grpc_workers, thread_name_prefix="sandbox-grpc"
            ),
            # The exchange's ALB keeps idle streams for an hour; keepalive pings stay allowed.
            options=[("grpc.keepalive_permit_without_calls", 1)],
            # Each open stream holds a thread: past the pool, refuse (RESOURCE_EXHAUSTED) rather
            # than queue a stream that would never start.
            maximum_concurrent_rpcs=settings.grpc_workers,
        )
        streams = StreamServer(env, env.streams)
        dropcopy_pb2_grpc.add_DropCopyAPIServicer_to_server(DropCopy(streams), self._server)
        funding_pb2_grpc.add_FundingAPIServicer_to_server(Funding(streams), self._server)
        order_entry_pb2_grpc.add_OrderEntryAPIServicer_to_server(OrderEntry(streams), self._server)
        address = f"{host}:{port}"
        if settings.tls_cert and settings.tls_key:
            # The same certificate as the REST side (--tls-cert/--tls-key): TLS, as production's
            # streams are served.
            credentials = grpc.ssl_server_credentials(
                [(settings.tls_key.read_bytes(), settings.tls_cert.read_bytes())]
            )
            self.port = self._server.add_secure_port(address, credentials)
        else:
            self.port = self._server.add_insecure_port(address)
        self._streams = env.streams

    def start(self) -> None:
        self._server.start()

    def stop(self) -> None:
        # Open streams end UNAVAILABLE at once; a client reconnects to the next sandbox.
        self._streams.drop_all()
        self._server.stop(grace=1).wait()
