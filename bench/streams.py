"""Benchmark: how fast the sandbox replays Drop Copy executions to a client that does nothing.

    make bench-streams        # or: .venv/bin/python -m bench.streams [--executions N]

Fills a fresh sandbox store with N executions (default 1,000,000: NEW and FILL of N/2 orders,
spread over 10,000 participant accounts of one firm), the way the order book writes them, then
starts the sandbox in its own process (`python -m sandbox --grpc-port`, so it does not share this
process's GIL), and times a `CreateDropCopySubscription` from `resume_time` = the epoch until the
client has received all N (it only counts them). `--data DIR` replays an existing store instead
(its firm `--firm`), e.g. one filled by `python -m sandbox simulate`. The result is written between
the markers in bench/README.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import grpc
import jwt
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from google.protobuf.timestamp_pb2 import Timestamp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import write_results  # noqa: E402
from polymarket.v1 import dropcopy_pb2, dropcopy_pb2_grpc  # noqa: E402
from sandbox import firms, wire  # noqa: E402
from sandbox.messages import order_json  # noqa: E402
from sandbox.store import Store  # noqa: E402

FIRM = "Bench"
ACCOUNTS = 10_000
SYMBOL = "aec-nfl-ne-den-2026-01-25"


def _pem(key: rsa.RSAPrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def fill(data: Path, executions: int, key: rsa.RSAPrivateKey) -> tuple[str, float]:
    """N executions on the firm's accounts; returns the firm's client id and the seconds taken."""
    started = time.perf_counter()
    store = Store(data)
    client_id = "bench-" + uuid.uuid4().hex[:8]
    firms.firm_upsert(store, {"firm_id": FIRM, "client_id": client_id, "public_keys": [_pem(key)]})
    stamp, day = wire.ts(), wire.business_date().isoformat()
    accounts = [firms.new_account_name(FIRM) for _ in range(ACCOUNTS)]
    with store.write() as db:
        db.executemany(
            "INSERT INTO accounts (account, firm_id, participant_id, kind, display_name, "
            "created_at) VALUES (?, ?, ?, 'participant', 'bench', ?)",
            [(a, FIRM, firms.participant_id(FIRM, f"b{i}"), stamp) for i, a in enumerate(accounts)],
        )
    base = {
        "type": "LIMIT", "side": "BUY", "order_qty": 500, "symbol": SYMBOL,
        "time_in_force": "IMMEDIATE_OR_CANCEL", "price": 60, "insert_time": stamp,
        "last_transact_time": stamp, "commission_total": 0, "price_scale": 100, "frac_scale": 100,
        "cash_order_qty": 0, "good_till_time": "", "last_trade_id": "",
        "manual_order_indicator": "MANUAL_ORDER_INDICATOR_AUTOMATED", "cross_id": "",
    }  # fmt: skip
    chunk = 50_000
    for first in range(0, executions // 2, chunk):
        rows = []
        for n in range(first, min(first + chunk, executions // 2)):
            account = accounts[n % ACCOUNTS]
            order = {**base, "id": f"O{n:011d}", "account": account, "clord_id": f"c{n}"}
            order.update(participant="p", cum_qty=0, leaves_qty=500, notional=0, fills="{}")
            order["state"] = "NEW"
            new = json.dumps(order_json(order))
            order.update(cum_qty=500, leaves_qty=0, notional=25_000, state="FILLED")
            order["fills"] = '{"50": 500}'
            filled = json.dumps(order_json(order))
            common = (order["id"], account, SYMBOL)
            rows.append((f"N{n:011d}", *common, "NEW", 0, 0, "", 0, 0, stamp, day, new))
            trade = f"T{n:011d}"
            rows.append((f"F{n:011d}", *common, "FILL", 500, 50, trade, 1, 35, stamp, day, filled))
        with store.write() as db:
            db.executemany(
                "INSERT INTO executions (id, order_id, account, symbol, type, last_shares, "
                "last_px, trade_id, aggressor, commission, transact_time, trade_date, order_json) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
    store.close()
    return client_id, time.perf_counter() - started


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_sandbox(data: Path) -> tuple[subprocess.Popen[bytes], str, int]:
    port, grpc_port = free_port(), free_port()
    process = subprocess.Popen(  # noqa: S603  (our own interpreter and package)
        [sys.executable, "-m", "sandbox", "--host", "127.0.0.1", "--port", str(port),
         "--grpc-port", str(grpc_port), "--data", str(data), "--no-rate-limits"],
        cwd=ROOT,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            if requests.get(f"{base}/v1/health", timeout=5).ok:
                return process, base, grpc_port
        except requests.RequestException:  # not listening yet, or slow on a busy machine
            time.sleep(0.05)
    process.terminate()
    raise SystemExit("the sandbox did not start")


def token(base: str, client_id: str, key: rsa.RSAPrivateKey) -> str:
    now = int(time.time())
    claims = {"iss": client_id, "sub": client_id, "aud": f"{base}/oauth/token", "iat": now,
              "exp": now + 300, "jti": str(uuid.uuid4())}  # fmt: skip
    response = requests.post(
        f"{base}/oauth/token",
        json={
            "client_id": client_id,
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": jwt.encode(claims, key, algorithm="RS256"),
            "audience": base,
            "grant_type": "client_credentials",
        },
        timeout=10,
    )
    response.raise_for_status()
    return str(response.json()["access_token"])


def replay(grpc_port: int, access_token: str, expected: int) -> tuple[float, int, int]:
    """Seconds to receive `expected` executions from the start; also batches and events seen."""
    with grpc.insecure_channel(f"127.0.0.1:{grpc_port}") as channel:
        stub = dropcopy_pb2_grpc.DropCopyAPIStub(channel)
        request = dropcopy_pb2.CreateDropCopySubscriptionRequest(resume_time=Timestamp(seconds=1))
        started = time.perf_counter()
        call = stub.CreateDropCopySubscription(
            request, metadata=(("authorization", f"Bearer {access_token}"),)
        )
        events = batches = 0
        for response in call:
            batches += 1
            events += len(response.executions)
            if events >= expected:
                break
        elapsed = time.perf_counter() - started
        call.cancel()
    return elapsed, batches, events


def peak_memory(pid: int) -> str:
    """The process's peak resident memory (Linux), e.g. "183 MiB"."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return f"{int(line.split()[1]) // 1024} MiB"
    return "unknown"


def machine() -> str:
    model = platform.machine()
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    return f"{model}, {os.cpu_count()} CPUs, Python {platform.python_version()}"


def existing(data: Path, firm_id: str) -> tuple[str, rsa.RSAPrivateKey, int]:
    """A store filled by `python -m sandbox simulate`: the firm's client id, its key (the
    simulation writes it beside the store) and how many executions it has."""
    store = Store(data)
    client_id = str(firms.firm_row(store.db, firm_id)["client_id"])
    count = store.db.execute(
        "SELECT COUNT(*) FROM executions e JOIN accounts a ON a.account = e.account "
        "WHERE a.firm_id = ?",
        (firm_id,),
    ).fetchone()[0]
    store.close()
    key = serialization.load_pem_private_key(
        (data / f"{firm_id}-private.pem").read_bytes(), password=None
    )
    assert isinstance(key, rsa.RSAPrivateKey)
    return client_id, key, int(count)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--executions", type=int, default=1_000_000)
    parser.add_argument("--data", type=Path, default=None, help="replay this store, unfilled")
    parser.add_argument("--firm", default="Demo", help="with --data: the simulated firm")
    parser.add_argument("--write", type=Path, default=ROOT / "bench" / "README.md")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        if args.data is not None:
            data = args.data
            client_id, key, expected = existing(data, args.firm)
            source = f"a store filled by `python -m sandbox simulate` ({expected:,} executions)"
        else:
            data = Path(scratch)
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            client_id, fill_seconds = fill(data, args.executions, key)
            expected = args.executions
            source = (
                f"the benchmark's own fill ({expected:,} executions over {ACCOUNTS:,} accounts, "
                f"written straight to the store in {fill_seconds:.0f} s)"
            )
        process, base, grpc_port = start_sandbox(data)
        load = os.getloadavg()[0]  # how much else the shared cores were doing
        try:
            elapsed, batches, events = replay(grpc_port, token(base, client_id, key), expected)
            peak = peak_memory(process.pid)
        finally:
            process.terminate()
            process.wait(timeout=10)
    when = f"{dt.datetime.now(tz=dt.UTC):%Y-%m-%d %H:%M} UTC"
    table = "\n".join(
        [
            (
                f"Run {when} on {machine()}; sandbox in its own process on loopback, default "
                f"batch size (500); other work shared the machine's 2 cores (load average "
                f"{load:.1f} as the replay began)."
            ),
            "",
            "| Replay | Executions | Batches | Seconds | Executions/s |",
            "| - | -: | -: | -: | -: |",
            (
                f"| `CreateDropCopySubscription` from the epoch, client only counts | {events:,} "
                f"| {batches:,} | {elapsed:.1f} | {events / elapsed:,.0f} |"
            ),
            "",
            f"Over {source}; the sandbox's peak resident memory over the replay was {peak}.",
        ]
    )
    print(table)
    write_results(args.write, "streams", table)


if __name__ == "__main__":
    main()
