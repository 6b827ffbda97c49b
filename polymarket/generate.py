"""Regenerate the Python of the .proto files beside this module: `python -m polymarket.generate`.

protoc (from grpcio-tools) writes the messages (`*_pb2.py`) and the gRPC stubs and servicers
(`*_pb2_grpc.py`); mypy-protobuf writes their type stubs (`*.pyi`), so mypy checks every use.
`--out DIR` writes elsewhere (the contract test compares a fresh generation with the committed one).
"""

from __future__ import annotations

import argparse
import sys
from importlib import resources
from pathlib import Path

from grpc_tools import protoc  # type: ignore[import-untyped]  # grpcio-tools ships no types

ROOT = Path(__file__).resolve().parent.parent
PROTOS = sorted((ROOT / "polymarket" / "v1").glob("*.proto"))


def generate(out: Path) -> None:
    bin_dir = Path(sys.executable).parent
    well_known = resources.files("grpc_tools") / "_proto"
    args = [
        "protoc",
        f"-I{ROOT}",
        f"-I{well_known}",
        f"--plugin=protoc-gen-mypy={bin_dir / 'protoc-gen-mypy'}",
        f"--plugin=protoc-gen-mypy_grpc={bin_dir / 'protoc-gen-mypy_grpc'}",
        f"--python_out={out}",
        f"--grpc_python_out={out}",
        f"--mypy_out={out}",
        f"--mypy_grpc_out={out}",
        *(str(p.relative_to(ROOT)) for p in PROTOS),
    ]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed")
    # protoc writes a gRPC module for every file; only the ones that declare a service need one.
    for proto in PROTOS:
        if "\nservice " not in proto.read_text():
            for suffix in ("_pb2_grpc.py", "_pb2_grpc.pyi"):
                (out / "polymarket" / "v1" / (proto.stem + suffix)).unlink()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=ROOT)
    generate(parser.parse_args().out)


if __name__ == "__main__":
    main()
