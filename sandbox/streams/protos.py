"""The REST JSON of an object, as protobuf: one source for every field's value, two encodings.

The sandbox already renders orders, executions, trades, positions, instruments and ledger entries
as proto3 JSON (camelCase names, int64 as strings, enums by name, RFC 3339 times) for its REST API.
The streams send the same objects as protobuf messages of the contract, so they convert that JSON
rather than map the database a second time. `json_format.ParseDict` does the same but walks the
descriptors on every call; here each message type's plan is built once, which a replay of a
million executions notices. Unknown fields are an error: the JSON and the contract must agree.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import cache, lru_cache
from typing import Any, TypeVar

from google.protobuf import message_factory
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.duration_pb2 import Duration
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp

M = TypeVar("M", bound=Message)
Convert = Callable[[Any], Any]
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_INTEGERS = {
    FieldDescriptor.TYPE_INT64,
    FieldDescriptor.TYPE_INT32,
    FieldDescriptor.TYPE_UINT64,
    FieldDescriptor.TYPE_UINT32,
    FieldDescriptor.TYPE_SINT64,
    FieldDescriptor.TYPE_SINT32,
}
_FLOATS = {FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT}


@lru_cache(maxsize=4096)
def timestamp(value: str) -> Timestamp:
    """An RFC 3339 string as a Timestamp. Cached: an execution and its order share their times,
    and a message given a Timestamp copies it, so one instance can serve them all."""
    delta = datetime.fromisoformat(value) - _EPOCH
    return Timestamp(seconds=delta.days * 86400 + delta.seconds, nanos=delta.microseconds * 1000)


def _duration(value: str) -> Duration:
    duration = Duration()
    duration.FromTimedelta(timedelta(seconds=float(value.removesuffix("s"))))
    return duration


def _scalar(field: FieldDescriptor) -> Convert | None:
    """How a JSON value becomes the field's value; None when JSON has it as it is (str, bool)."""
    kind = field.type
    if kind in _INTEGERS:
        return int
    if kind in _FLOATS:
        return float
    if kind in (FieldDescriptor.TYPE_BOOL, FieldDescriptor.TYPE_STRING):
        return None
    if kind == FieldDescriptor.TYPE_ENUM:
        assert field.enum_type is not None
        numbers = {v.name: v.number for v in field.enum_type.values}
        return lambda value: value if isinstance(value, int) else numbers[value]
    if kind == FieldDescriptor.TYPE_MESSAGE:
        assert field.message_type is not None
        full_name = field.message_type.full_name
        if full_name == "google.protobuf.Timestamp":
            return timestamp
        if full_name == "google.protobuf.Duration":
            return _duration
        return _converter(field.message_type)
    raise TypeError(f"{field.full_name}: no JSON conversion for this field type")


def _field(field: FieldDescriptor) -> Convert | None:
    if field.message_type is not None and field.message_type.GetOptions().map_entry:
        key = _scalar(field.message_type.fields_by_name["key"]) or _same
        value = _scalar(field.message_type.fields_by_name["value"]) or _same
        return lambda items: {key(k): value(v) for k, v in items.items()}
    one = _scalar(field)
    if field.is_repeated:
        return None if one is None else lambda items: [one(item) for item in items]
    return one


def _same(value: Any) -> Any:
    return value


@cache
def _converter(descriptor: Descriptor) -> Convert:
    message_class = message_factory.GetMessageClass(descriptor)
    plan: dict[str, tuple[str, Convert | None]] = {
        field.json_name: (field.name, _field(field)) for field in descriptor.fields
    }

    def convert(data: dict[str, Any]) -> Message:
        kwargs = {}
        for key, value in data.items():
            try:
                name, conv = plan[key]
            except KeyError:
                raise ValueError(f"{descriptor.full_name} has no field {key!r}") from None
            kwargs[name] = value if conv is None else conv(value)
        return message_class(**kwargs)

    return convert


def from_json(message_type: type[M], data: dict[str, Any]) -> M:
    """`data` (proto3 JSON with camelCase names, as the REST API answers) as a `message_type`."""
    message: M = _converter(message_type.DESCRIPTOR)(data)
    return message
