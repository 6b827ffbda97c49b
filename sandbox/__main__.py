"""`python -m sandbox` serves; `python -m sandbox simulate` fills the database with activity."""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
from pathlib import Path

from sandbox import simulate as simulation
from sandbox.config import Settings
from sandbox.server import KeepAliveHandler, SandboxServer


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sandbox", description=__doc__)
    sub = parser.add_subparsers(dest="command")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8100)
    parser.add_argument(
        "--grpc-port", type=int, default=None, help="serve the gRPC streams on this port too"
    )
    parser.add_argument("--data", type=Path, default=Path("var/sandbox"))
    parser.add_argument(
        "--public-url", default=None, help="API base URL (default http://host:port)"
    )
    parser.add_argument("--expires-in", type=int, default=None, help="access token lifetime, s")
    parser.add_argument("--provisioning-delay", type=float, default=None)
    parser.add_argument("--no-rate-limits", action="store_true", help="for benchmarks")
    parser.add_argument(
        "--admin-token",
        default=None,
        help="token required on /_sandbox/ (env SANDBOX_ADMIN_TOKEN); unset: loopback only",
    )
    parser.add_argument("--tls-cert", type=Path, default=None, help="serve HTTPS: certificate PEM")
    parser.add_argument("--tls-key", type=Path, default=None, help="serve HTTPS: its key PEM")
    parser.add_argument("--verbose", action="store_true")
    simulate = sub.add_parser(
        "simulate",
        help="create participants with deposits and trades",
        description=simulation.__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    simulate.add_argument("--data", type=Path, dest="sim_data", default=None)
    simulate.add_argument("--participants", type=int, default=100)
    simulate.add_argument("--firm", default="Demo")
    simulate.add_argument("--seed", type=int, default=1)
    mode = simulate.add_mutually_exclusive_group()
    mode.add_argument("--bulk", action="store_true", help="fill a fresh store for benchmarks")
    mode.add_argument("--steady", type=float, metavar="RATE", help="orders a second, steadily")
    simulate.add_argument("--executions", type=int, default=1_000_000, help="with --bulk")
    simulate.add_argument("--days", type=float, default=5.0, help="with --bulk: history length")
    simulate.add_argument("--orders", type=int, default=None, help="with --steady: stop after")
    simulate.add_argument("--seconds", type=float, default=None, help="with --steady: stop after")
    tls = sub.add_parser(
        "tls-cert", help="write a self-signed certificate for --tls-cert/--tls-key"
    )
    tls.add_argument("out", type=Path, help="directory for cert.pem and key.pem")
    tls.add_argument("--for-host", default="127.0.0.1", help="the address or name it is for")
    args = parser.parse_args(argv)
    if args.command == "tls-cert":
        from sandbox.tls import self_signed

        cert, key = self_signed(args.out, args.for_host)
        sys.stdout.write(f"{cert}\n{key}\n")
        return 0
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING)
    if args.command == "simulate":
        return _simulate(args)
    settings = Settings.from_env(
        args.data,
        host=args.host,
        port=args.port,
        grpc_port=args.grpc_port,
        public_url=args.public_url,
        token_expires_in=args.expires_in,
        provisioning_delay=args.provisioning_delay,
        admin_token=args.admin_token,
        tls_cert=args.tls_cert,
        tls_key=args.tls_key,
    )
    if args.no_rate_limits:
        settings.rate_limits = False
    if args.verbose:
        KeepAliveHandler.access_log = True
    server = SandboxServer(settings)
    sys.stdout.write(f"Polymarket US sandbox on {server.url} (data in {args.data})\n")
    if settings.grpc_port is not None:
        sys.stdout.write(f"gRPC streams on {settings.host}:{settings.grpc_port}\n")
    sys.stdout.flush()
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
    return 0


def _simulate(args: argparse.Namespace) -> int:
    settings = Settings.from_env(args.sim_data or args.data, seed_market=True)
    try:
        if args.bulk:
            summary = simulation.fill(
                settings,
                participants=args.participants,
                executions=args.executions,
                firm_id=args.firm,
                seed=args.seed,
                days=args.days,
            )
        elif args.steady is not None:
            summary = simulation.steady(
                settings,
                rate=args.steady,
                firm_id=args.firm,
                seed=args.seed,
                orders=args.orders,
                seconds=args.seconds,
            )
        else:
            summary = simulation.simulate(
                settings, participants=args.participants, firm_id=args.firm, seed=args.seed
            )
    except simulation.Refused as exc:
        sys.stderr.write(f"simulate: {exc}\n")
        return 2
    sys.stdout.write(f"{summary}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
