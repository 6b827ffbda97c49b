"""Benchmark: calls per second through the gateway client against the sandbox (rate limits off),
versus a plain `requests.get` per call, and token exchanges per 1,000 calls.

    make bench-gateway            # or: ENV_FILE=tests/test.env .venv/bin/python -m bench.gateway

Starts a sandbox in its own process (`python -m sandbox`, so that it does not share this process's
GIL) on a free loopback port, registers a firm with a fresh RSA key, then times N
`GET /v1/whoami` calls three ways, each in three rounds (the median is reported):

1. the gateway (pooled session, cached token, every attempt recorded in memory), one thread;
2. the gateway shared by 8 threads (the token must still be exchanged once);
3. `requests.get(...)` per call with a token fetched once: a new connection every time.

Then the same single-threaded gateway and the fresh `requests.get` per call again against a second
sandbox serving HTTPS with a self-signed certificate (`python -m sandbox tls-cert`): production is
TLS, and a new handshake per call is what the pooled session saves.

The results are written between the markers in bench/README.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("ENV_FILE", "tests/test.env")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backoffice.settings")
# The database recorder is measured against a scratch SQLite database, never the developer's.
SCRATCH = tempfile.mkdtemp(prefix="bench-gateway-")
os.environ.setdefault("DATABASE_URL", f"sqlite:///{SCRATCH}/bench.sqlite3")
sys.path.insert(0, str(ROOT))

import django  # noqa: E402

django.setup()

import requests  # noqa: E402
from cryptography.hazmat.primitives import serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import rsa  # noqa: E402
from django.core.management import call_command  # noqa: E402

from backoffice.gateway.client import Gateway  # noqa: E402
from backoffice.gateway.config import (  # noqa: E402
    CallPolicy,
    Environment,
    GatewaySettings,
    SigningKey,
)
from backoffice.gateway.models import GatewayCall  # noqa: E402
from backoffice.gateway.recording import (  # noqa: E402
    CallRecorder,
    DatabaseRecorder,
    MemoryRecorder,
)
from backoffice.gateway.transport import RequestsTransport  # noqa: E402
from bench import write_results  # noqa: E402


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_sandbox(
    data_dir: Path, tls: tuple[Path, Path] | None = None
) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    command = [sys.executable, "-m", "sandbox", "--host", "127.0.0.1", "--port", str(port),
               "--data", str(data_dir), "--no-rate-limits"]  # fmt: skip
    if tls is not None:
        command += ["--tls-cert", str(tls[0]), "--tls-key", str(tls[1])]
    process = subprocess.Popen(command, cwd=ROOT)  # noqa: S603  (our own interpreter and package)
    base = f"{'https' if tls else 'http'}://127.0.0.1:{port}"
    verify = str(tls[0]) if tls else True
    for _ in range(100):
        try:
            if requests.get(f"{base}/v1/health", timeout=1, verify=verify).ok:
                return process, base
        except requests.ConnectionError:
            time.sleep(0.1)
    process.terminate()
    raise SystemExit("the sandbox did not start")


def self_signed(directory: Path) -> tuple[Path, Path]:
    subprocess.run(  # noqa: S603  (our own interpreter and package)
        [sys.executable, "-m", "sandbox", "tls-cert", str(directory)], cwd=ROOT, check=True,
        capture_output=True,
    )  # fmt: skip
    return directory / "cert.pem", directory / "key.pem"


def register(base: str, verify: bool | str = True) -> tuple[str, rsa.RSAPrivateKey]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    client_id = "bench-" + uuid.uuid4().hex[:10]
    response = requests.post(
        f"{base}/_sandbox/firms",
        json={"firmId": "Bench", "clientId": client_id, "publicKeys": [public.decode()]},
        timeout=10,
        verify=verify,
    )
    response.raise_for_status()
    return client_id, key


def gateway_for(
    base: str,
    client_id: str,
    key: rsa.RSAPrivateKey,
    recorder: CallRecorder | None = None,
    verify: bool | str = True,
) -> tuple[Gateway, MemoryRecorder]:
    settings = GatewaySettings(
        environment=Environment("sandbox", base, f"{base}/oauth/token", base),
        client_id=client_id,
        keys=(SigningKey("current", key),),
        connect_timeout=3.05,
        tls_verify=verify,
        backoff_base=1.0,
        backoff_cap=8.0,
        rate_limits=False,
        job=CallPolicy("job", max_attempts=5, read_timeout=35.0, max_wait=60.0, backoff=True),
        staff=CallPolicy("staff", max_attempts=1, read_timeout=10.0, max_wait=1.5, backoff=False),
    )
    memory = MemoryRecorder()
    gateway = Gateway(
        settings=settings,
        transport=RequestsTransport(verify=settings.tls_verify),
        recorder=recorder or memory,
    )
    return gateway, memory


def exchanges(recorder: MemoryRecorder) -> int:
    return sum(1 for a in recorder.attempts if a.operation == "token" and a.outcome == "ok")


def run_gateway(
    base: str, client_id: str, key: rsa.RSAPrivateKey, calls: int, verify: bool | str = True
) -> tuple[float, int]:
    gateway, recorder = gateway_for(base, client_id, key, verify=verify)
    gateway.whoami(actor=None)  # warm: one token, one connection
    started = time.perf_counter()
    for _ in range(calls):
        gateway.whoami(actor=None)
    elapsed = time.perf_counter() - started
    return calls / elapsed, exchanges(recorder)


def run_gateway_db(
    base: str, client_id: str, key: rsa.RSAPrivateKey, calls: int
) -> tuple[float, int]:
    """As run_gateway, every attempt an INSERT in autocommit (what production does)."""
    GatewayCall.objects.all().delete()
    gateway, _memory = gateway_for(base, client_id, key, DatabaseRecorder())
    gateway.whoami(actor=None)
    started = time.perf_counter()
    for _ in range(calls):
        gateway.whoami(actor=None)
    elapsed = time.perf_counter() - started
    return calls / elapsed, GatewayCall.objects.filter(operation="token", outcome="ok").count()


def run_gateway_threads(
    base: str, client_id: str, key: rsa.RSAPrivateKey, calls: int, threads: int
) -> tuple[float, int]:
    gateway, recorder = gateway_for(base, client_id, key)
    per_thread = calls // threads
    barrier = threading.Barrier(threads + 1)

    def work() -> None:
        barrier.wait()
        for _ in range(per_thread):
            gateway.whoami(actor=None)

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for worker in workers:
        worker.start()
    barrier.wait()  # the token is exchanged inside the timed part, by whichever thread is first
    started = time.perf_counter()
    for worker in workers:
        worker.join()
    elapsed = time.perf_counter() - started
    return per_thread * threads / elapsed, exchanges(recorder)


def run_plain(
    base: str,
    client_id: str,
    key: rsa.RSAPrivateKey,
    calls: int,
    *,
    pooled: bool = False,
    verify: bool | str = True,
) -> float:
    gateway, _recorder = gateway_for(base, client_id, key, verify=verify)
    token = gateway.current_token(actor=None).value
    headers = {"Authorization": f"Bearer {token}"}
    requests.get(f"{base}/v1/whoami", headers=headers, timeout=10, verify=verify).raise_for_status()
    get = requests.Session().get if pooled else requests.get
    started = time.perf_counter()
    for _ in range(calls):
        response = get(f"{base}/v1/whoami", headers=headers, timeout=10, verify=verify)
        response.raise_for_status()
        response.json()
    return calls / (time.perf_counter() - started)


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{cpu}, {os.cpu_count()} CPUs, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--write", type=Path, default=ROOT / "bench" / "README.md")
    args = parser.parse_args()

    rounds = 3
    load = os.getloadavg()[0]  # other work on the machine skews every figure below
    call_command("migrate", verbosity=0)
    with tempfile.TemporaryDirectory() as data:
        process, base = start_sandbox(Path(data))
        try:
            client_id, key = register(base)
            single = [run_gateway(base, client_id, key, args.calls) for _ in range(rounds)]
            recorded = [run_gateway_db(base, client_id, key, args.calls) for _ in range(rounds)]
            threaded = [
                run_gateway_threads(base, client_id, key, args.calls, args.threads)
                for _ in range(rounds)
            ]
            plain = [run_plain(base, client_id, key, args.calls) for _ in range(rounds)]
            pooled = [
                run_plain(base, client_id, key, args.calls, pooled=True) for _ in range(rounds)
            ]
        finally:
            process.terminate()
            process.wait(timeout=10)
    with tempfile.TemporaryDirectory() as data:
        tls = self_signed(Path(data) / "tls")
        verify = str(tls[0])
        process, base = start_sandbox(Path(data), tls)
        try:
            client_id, key = register(base, verify)
            tls_single = [
                run_gateway(base, client_id, key, args.calls, verify) for _ in range(rounds)
            ]
            tls_plain = [
                run_plain(base, client_id, key, args.calls, verify=verify) for _ in range(rounds)
            ]
        finally:
            process.terminate()
            process.wait(timeout=10)
    tls_rate = statistics.median(rate for rate, _ in tls_single)
    tls_exchanges = max(count for _, count in tls_single)
    tls_plain_rate = statistics.median(tls_plain)
    gw_rate = statistics.median(rate for rate, _ in single)
    db_rate = statistics.median(rate for rate, _ in recorded)
    db_exchanges = max(count for _, count in recorded)
    gw_exchanges = max(count for _, count in single)
    th_rate = statistics.median(rate for rate, _ in threaded)
    th_exchanges = max(count for _, count in threaded)
    plain_rate = statistics.median(plain)
    pooled_rate = statistics.median(pooled)
    per_1000 = gw_exchanges * 1000 / (args.calls + 1)
    when = f"{dt.datetime.now(tz=dt.UTC):%Y-%m-%d %H:%M} UTC"
    lines = [
        (
            f"Run {when} on {machine()}; {args.calls} calls of `GET /v1/whoami` each way, median "
            f"of {rounds} rounds, sandbox in its own process on loopback, rate limits off; "
            f"load average {load:.1f} when it began (other work shared the machine's cores)."
        ),
        "",
        "| Client | Calls/s | Token exchanges |",
        "| - | -: | -: |",
        (
            f"| gateway, 1 thread (pooled session, cached token, attempts kept in memory) "
            f"| {gw_rate:,.0f} | at most {gw_exchanges} for {args.calls + 1} calls "
            f"({per_1000:.1f} per 1,000) |"
        ),
        (
            f"| gateway, 1 thread, every attempt an INSERT (the production recorder; SQLite here) "
            f"| {db_rate:,.0f} | at most {db_exchanges} for {args.calls + 1} calls |"
        ),
        (
            f"| gateway shared by {args.threads} threads | {th_rate:,.0f} "
            f"| at most {th_exchanges} for {args.calls} calls |"
        ),
        (
            f"| plain `requests.Session().get`, pooled, default trust_env (no parsing) "
            f"| {pooled_rate:,.0f} | 1, fetched once beforehand |"
        ),
        (
            f"| plain `requests.get` per call (new connection each time) "
            f"| {plain_rate:,.0f} | 1, fetched once beforehand |"
        ),
        (
            f"| over TLS: gateway, 1 thread (one handshake, then the pooled connection) "
            f"| {tls_rate:,.0f} | at most {tls_exchanges} for {args.calls + 1} calls |"
        ),
        (
            f"| over TLS: plain `requests.get` per call (a new TLS handshake each time) "
            f"| {tls_plain_rate:,.0f} | 1, fetched once beforehand |"
        ),
        "",
        (
            f"Gateway / plain `requests.get`: {gw_rate / plain_rate:.2f}x single-threaded; "
            f"gateway / default pooled session: {gw_rate / pooled_rate:.2f}x; over TLS, "
            f"gateway / `requests.get` per call: {tls_rate / tls_plain_rate:.2f}x."
        ),
    ]
    table = "\n".join(lines)
    print(table)
    if args.write and args.write.exists():
        write_results(args.write, "gateway", table)


if __name__ == "__main__":
    try:
        main()
    finally:
        shutil.rmtree(SCRATCH, ignore_errors=True)
