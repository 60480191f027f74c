"""Every case of proto/vectors/wire/messages.json against the worker's header validation."""
import json
import math
from pathlib import Path

import pytest

from amlfs.worker.errors import HeaderError
from amlfs.worker.wire import WireCodec, load_schema, proto_dir

VECTORS = json.loads((proto_dir() / "vectors" / "wire" / "messages.json").read_text())["cases"]
CODEC = WireCodec()


def frame(case) -> bytes:
    return case["raw"].encode() if "raw" in case else json.dumps(case["header"]).encode()


def test_the_vectors_cover_every_message_type():
    valid_types = {case["header"]["type"] for case in VECTORS if case["valid"]}
    assert valid_types == set(CODEC.types)


@pytest.mark.parametrize("case", [c for c in VECTORS if c["valid"]], ids=lambda c: c["name"])
def test_valid_headers_pass(case):
    assert CODEC.decode(frame(case)) == case["header"]
    assert CODEC.full_validator.is_valid(case["header"])


@pytest.mark.parametrize("case", [c for c in VECTORS if not c["valid"]], ids=lambda c: c["name"])
def test_invalid_headers_are_rejected_naming_the_field(case):
    with pytest.raises(HeaderError) as caught:
        CODEC.decode(frame(case))
    field = case["error"]["field"]
    assert caught.value.field == field
    assert field in caught.value.reason
    assert "\n" not in caught.value.reason
    if "header" in case and isinstance(case["header"], dict):
        assert not CODEC.full_validator.is_valid(case["header"])  # the whole schema agrees


def test_oversized_header_is_rejected_before_parsing():
    header = dict(next(c for c in VECTORS if c["name"] == "heartbeat")["header"])
    header["padding"] = "x" * CODEC.max_header_bytes
    with pytest.raises(HeaderError) as caught:
        CODEC.decode(json.dumps(header).encode())
    assert caught.value.field == "header" and str(CODEC.max_header_bytes) in caught.value.reason
    assert CODEC.max_header_bytes == 65536


def test_nan_is_not_json():
    heartbeat = next(c for c in VECTORS if c["name"] == "heartbeat")["header"]
    with pytest.raises(HeaderError, match="header"):
        CODEC.decode(json.dumps(heartbeat)[:-1].encode() + b', "x": NaN}')
    progress = dict(next(c for c in VECTORS if c["name"] == "progress")["header"], loss=math.nan)
    with pytest.raises(ValueError):
        CODEC.encode(progress)


def test_outgoing_headers_are_validated():
    hello = dict(next(c for c in VECTORS if c["name"] == "hello")["header"])
    assert json.loads(CODEC.encode(hello)) == hello
    del hello["versions"]
    with pytest.raises(HeaderError, match="versions"):
        CODEC.encode(hello)


def test_schema_location_can_be_overridden(tmp_path, monkeypatch):
    (tmp_path / "wire.schema.json").write_text(json.dumps(load_schema()))
    monkeypatch.setenv("AMLFS_PROTO_DIR", str(tmp_path))
    assert proto_dir() == Path(tmp_path)
    monkeypatch.setenv("AMLFS_PROTO_DIR", str(tmp_path / "nowhere"))
    with pytest.raises(FileNotFoundError, match="AMLFS_PROTO_DIR"):
        proto_dir()
