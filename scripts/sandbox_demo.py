"""Register the demo firm with the local sandbox exchange, idempotently, for `make run`.

Generates the firm's RSA key pair on first run into var/sandbox/ (kept out of git), waits for the
sandbox to answer, registers (or re-registers) the firm through /_sandbox/firms, and writes the
POLYMARKET_* lines the back-office reads into .env, replacing older values. Prints the client id.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

FIRM_ID = "Demo"
CLIENT_ID = "demo-partner-client"


def key_pair(directory: Path) -> tuple[Path, str]:
    directory.mkdir(parents=True, exist_ok=True)
    private = directory / "demo-firm-private.pem"
    if not private.exists():
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        private.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        private.chmod(0o600)
    loaded = serialization.load_pem_private_key(private.read_bytes(), password=None)
    assert isinstance(loaded, rsa.RSAPrivateKey)
    public = loaded.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private.resolve(), public.decode()


def wait_for(url: str, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(f"{url}/v1/health", timeout=2):  # noqa: S310 - our URL
                return
        except (urllib.error.URLError, OSError):
            if time.monotonic() > deadline:
                raise SystemExit(f"the sandbox at {url} did not start") from None
            time.sleep(0.2)


def register(url: str, public_pem: str, admin_token: str) -> dict[str, object]:
    body = json.dumps(
        {
            "firmId": FIRM_ID,
            "clientId": CLIENT_ID,
            "displayName": "Demo Partner",
            "publicKeys": [public_pem],
        }
    ).encode()
    request = urllib.request.Request(  # noqa: S310 - our URL
        f"{url}/_sandbox/firms",
        data=body,
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    if admin_token:
        request.add_header("x-sandbox-admin-token", admin_token)
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        return dict(json.loads(response.read()))


def write_env(env_file: Path, values: dict[str, str]) -> None:
    lines = env_file.read_text().splitlines() if env_file.exists() else []
    kept = [line for line in lines if line.split("=", 1)[0] not in values]
    kept += [f"{key}={value}" for key, value in values.items()]
    env_file.write_text("\n".join(kept) + "\n")


def faults(url: str, method: str, body: object, admin_token: str) -> None:
    """Add (POST) or clear (DELETE) the sandbox's injected faults."""
    request = urllib.request.Request(  # noqa: S310 - our URL
        f"{url}/_sandbox/faults",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method=method,
    )
    if admin_token:
        request.add_header("x-sandbox-admin-token", admin_token)
    with urllib.request.urlopen(request, timeout=10):  # noqa: S310
        pass


# The next two cash movements created answer PENDING, then AMBIGUOUS, and settle 90 s later.
FUNDING_MODES = [
    {"family": "cash", "kind": "cash_pending", "count": 1, "settle_after": 90},
    {"family": "cash", "kind": "cash_ambiguous", "count": 1, "settle_after": 90},
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", default="http://127.0.0.1:8100")
    parser.add_argument("--env", type=Path, default=Path(".env"))
    parser.add_argument("--keys", type=Path, default=Path("var/sandbox"))
    parser.add_argument("--wait", type=float, default=20.0)
    parser.add_argument(
        "--stage-funding",
        action="store_true",
        help="Arm the PENDING and AMBIGUOUS modes for the demo's first two transfers.",
    )
    parser.add_argument("--clear-faults", action="store_true", help="Disarm every injected fault.")
    args = parser.parse_args()
    token = os.environ.get("SANDBOX_ADMIN_TOKEN", "")
    if args.stage_funding or args.clear_faults:
        faults(args.url, "DELETE", {}, token)
        if args.stage_funding:
            faults(args.url, "POST", {"faults": FUNDING_MODES}, token)
        return 0
    private, public_pem = key_pair(args.keys)
    wait_for(args.url, args.wait)
    firm = register(args.url, public_pem, token)
    write_env(
        args.env,
        {
            "POLYMARKET_ENVIRONMENT": "sandbox",
            "POLYMARKET_CLIENT_ID": str(firm["clientId"]),
            "POLYMARKET_PRIVATE_KEY_FILE": str(private),
            "POLYMARKET_SANDBOX_URL": args.url,
        },
    )
    sys.stdout.write(f"{firm['clientId']}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
