#!/usr/bin/env python3
"""Waits (at most 60 s) until a URL answers 200, for `make run` to sequence its start-up."""

from __future__ import annotations

import sys
import time
import urllib.error
import urllib.request


def main(url: str, seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - a local URL we were given
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        if time.monotonic() > deadline:
            raise SystemExit(f"{url} did not answer within {seconds:.0f} s")
        time.sleep(0.25)


if __name__ == "__main__":
    main(sys.argv[1])
