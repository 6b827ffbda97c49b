"""The exchange's gRPC streams (API.md 6), served on a second port beside the REST API.

- `control`: the open streams (the per-firm cap, dropping them all) and the resume tokens;
- `tokens`: resume tokens, signed and expirable;
- `feeds`: what each stream replays and follows, read from the store's logs in order;
- `protos`: the REST JSON of an object as the contract's protobuf message;
- `service`: the servicers of `polymarket.v1.DropCopyAPI`, `FundingAPI` and `OrderEntryAPI`;
- `server`: the grpcio server.
"""
