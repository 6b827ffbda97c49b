"""The Polymarket US gRPC contract: .proto files and the Python generated from them (README.md)."""
