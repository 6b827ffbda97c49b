"""`polymarket.v1`: the streams' messages and services (generated modules beside their .proto)."""
