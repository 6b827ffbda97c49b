"""The mirror's consumer: run it as a service (the README gives a systemd unit). Several may run;
one holds the lease and applies, the others wait as hot standbys."""

from __future__ import annotations

import os
import signal
import socket
import threading
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from backoffice.context import command_context
from backoffice.gateway.client import process_gateway
from backoffice.gateway.errors import GatewayError
from backoffice.gateway.streams import stream_client
from trading.consumer import Consumer
from trading.models import Stream


class Command(BaseCommand):
    help = (
        "Follow the exchange's Drop Copy, trade capture, position, instrument and order streams "
        "into the trading mirror (one active consumer per environment; others stand by)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--once",
            action="store_true",
            help="Catch every stream up to the present, then exit (instead of following).",
        )
        parser.add_argument(
            "--stream",
            action="append",
            choices=Stream.values,
            help="Follow only this stream (repeatable; default: all of them).",
        )
        parser.add_argument(
            "--holder",
            default=f"{socket.gethostname()}:{os.getpid()}",
            help="This instance's name on the lease (default: host:pid).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        stop = threading.Event()
        for number in (signal.SIGTERM, signal.SIGINT):
            signal.signal(number, lambda *_: stop.set())
        with command_context("trading_stream"):
            try:
                gateway = process_gateway()
                client = stream_client()
            except GatewayError as exc:
                raise CommandError(f"The exchange connection is not usable: {exc}") from None
            consumer = Consumer(
                environment=str(settings.POLYMARKET_ENVIRONMENT),
                holder=options["holder"],
                gateway=gateway,
                client=client,
                streams=options["stream"] or Stream.values,
                once=options["once"],
            )
            self.stdout.write(f"{options['holder']}: waiting for the stream lease")
            try:
                consumer.run(stop=stop)
            except RuntimeError as exc:
                raise CommandError(str(exc)) from None
        self.stdout.write(f"{options['holder']}: stopped")
