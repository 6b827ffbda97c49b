#!/usr/bin/env python3
"""Writes a development `.env` with freshly generated secrets (run once by `make run`)."""

from __future__ import annotations

import base64
import os
import secrets
import sys


def main() -> None:
    fernet_key = base64.urlsafe_b64encode(os.urandom(32)).decode()
    lines = [
        "# Development settings written by `make run`. Never commit this file.",
        "DEBUG=true",
        f"SECRET_KEY={secrets.token_urlsafe(48)}",
        "SSO_MODE=local",
        f"DEMO_PASSWORD=demo-{secrets.token_hex(4)}",
        f"PII_ENCRYPTION_KEYS={fernet_key}",
        f"PII_HASH_KEY={secrets.token_urlsafe(32)}",
    ]
    sys.stdout.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
