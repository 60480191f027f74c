"""Chunked checkpoint transfer with credit (docs/protocol.md, "Checkpoint transfer"), both ways.

The fake controller speaks the protocol from the document: it counts chunks and credit
itself, so a worker that sends past its credit, grants more than its window, uses a
partial or corrupted download, or starves its heartbeats during a transfer fails here.
"""
import hashlib
import time

import torch
from torch import nn

from amlfs.checkpoint import pack_state, unpack_state
from test_session import task_fields, train_body, wait_for

CHUNK = 1024


def big_objects(width=64):
    torch.manual_seed(0)
    model = nn.Linear(width, width)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    return model, opt


def init_body(width=64):
    def body(session):
        model, opt = big_objects(width)
        session.attach(model=model, optimizer=opt)
        for _ in session.tasks():
            pass

    return body


def drain(controller, seconds):
    """Messages that arrive within ``seconds`` (heartbeats counted, not returned)."""
    got = []
    deadline = time.monotonic() + seconds
    while True:
        try:
            got.append(controller._recv_one(deadline, seconds))
        except TimeoutError:
            return [m for m in got if m[1]["type"] != "heartbeat"]


def test_upload_sends_no_more_than_the_credit_granted(controller, start_worker, monkeypatch):
    monkeypatch.setenv("AMLFS_CHUNK_BYTES", str(CHUNK))
    worker = start_worker(init_body())
    controller.accept(heartbeat_interval_ms=50)
    controller.collect_checkpoints = False
    controller.send("w0", "initRequest", seed=1)
    announce, _ = controller.expect("checkpoint")
    model, opt = big_objects()
    expected = pack_state(model, opt)
    count = -(-expected.size_bytes // CHUNK)
    assert (announce["sha256"], announce["sizeBytes"], announce["chunkBytes"]) == (expected.sha256, expected.size_bytes, CHUNK)
    assert count > 10

    transfer = announce["transferId"]
    controller.send("w0", "credit", transferId=transfer, chunks=3)
    first = drain(controller, 0.5)
    assert [m[1]["index"] for m in first] == [0, 1, 2]  # exactly the credit, in order
    controller.send("w0", "credit", transferId=transfer, chunks=1)
    second = drain(controller, 0.3)
    assert [m[1]["index"] for m in second] == [3]
    controller.send("w0", "credit", transferId=transfer, chunks=count - 4)
    rest = drain(controller, 1.0)
    chunks = first + second + rest
    assert [m[1]["index"] for m in chunks] == list(range(count))
    assert [m[1]["offset"] for m in chunks] == [i * CHUNK for i in range(count)]
    data = b"".join(m[2][0] for m in chunks)
    assert hashlib.sha256(data).hexdigest() == announce["sha256"] and data == expected.data
    controller.send("w0", "shutdown", reason="done")
    worker.join()
    assert worker.error is None


def test_download_grants_a_bounded_window_and_loads_the_state(controller, start_worker, monkeypatch):
    monkeypatch.setenv("AMLFS_WINDOW_CHUNKS", "2")
    worker = start_worker(train_body())
    controller.accept()
    controller.chunk_bytes = 64
    from test_session import tiny_objects

    packed = pack_state(*tiny_objects(seed=42), epoch=4)
    controller.send("w0", "task", **task_fields("e0004-s001-a0", start=packed.sha256, epoch=4))
    request, _ = controller.expect("checkpointRequest")
    controller.send("w0", "checkpoint", payload=[packed.data], reply_to=request["msgId"])
    record = controller.transfers[-1]
    assert record["chunks"] > 5 and record["maxCreditAhead"] == 2
    result, _ = wait_for(controller, "result")
    assert result["ok"]
    controller.send("w0", "shutdown", reason="done")
    worker.join()
    assert worker.result[0][1] == 4  # the start epoch stored in the downloaded state


def test_heartbeats_flow_during_a_slow_upload(controller, start_worker, monkeypatch):
    monkeypatch.setenv("AMLFS_CHUNK_BYTES", str(16 * 1024))
    worker = start_worker(init_body(width=384))  # ~580 KiB: 37 chunks
    controller.accept(heartbeat_interval_ms=20)
    controller.window = 2
    controller.collect_checkpoints = False
    controller.send("w0", "initRequest", seed=1)
    announce, _ = controller.expect("checkpoint")
    started = time.monotonic()
    data = controller.collect("w0", announce, delay_s=0.02)
    elapsed = time.monotonic() - started
    record = controller.transfers[-1]
    assert hashlib.sha256(data).hexdigest() == announce["sha256"]
    assert record["chunks"] >= 36 and elapsed >= record["chunks"] * 0.02
    # one heartbeat every 20 ms while the transfer ran: at least half of them arrived in between
    assert record["heartbeats"] >= elapsed / 0.02 / 2
    controller.send("w0", "shutdown", reason="done")
    worker.join()


def test_corrupted_chunk_fails_the_sha256_check_and_nothing_is_used(controller, start_worker):
    worker = start_worker(train_body())
    controller.accept()
    controller.chunk_bytes = 100
    from test_session import tiny_objects

    packed = pack_state(*tiny_objects(seed=3))
    controller.send("w0", "task", **task_fields(start=packed.sha256))
    request, _ = controller.expect("checkpointRequest")
    controller.send_checkpoint("w0", packed.data, reply_to=request["msgId"], corrupt_chunk=2)
    abort, _ = controller.expect("checkpointAbort")
    assert "sha256" in abort["reason"]
    result, _ = wait_for(controller, "result")
    assert not result["ok"] and "sha256" in result["reason"]
    # the corrupted state was not kept: the same start is asked for again, and this time it loads
    controller.send("w0", "task", **task_fields("e0000-s001-a0", start=packed.sha256))
    request, _ = controller.expect("checkpointRequest")
    controller.send("w0", "checkpoint", payload=[packed.data], reply_to=request["msgId"])
    result, _ = wait_for(controller, "result")
    assert result["ok"]
    controller.send("w0", "shutdown", reason="done")
    worker.join()
    assert worker.error is None


def test_a_sender_that_stops_mid_transfer_is_abandoned_after_the_timeout(controller, start_worker, monkeypatch):
    monkeypatch.setenv("AMLFS_TRANSFER_TIMEOUT_MS", "300")
    worker = start_worker(train_body())
    controller.accept()
    controller.chunk_bytes = 100
    from test_session import tiny_objects

    packed = pack_state(*tiny_objects(seed=5))
    controller.send("w0", "task", **task_fields(start=packed.sha256))
    request, _ = controller.expect("checkpointRequest")
    controller.send_checkpoint("w0", packed.data, reply_to=request["msgId"], stop_after=2)
    abort, _ = controller.expect("checkpointAbort", timeout_s=3)
    assert "no chunk for 300 ms" in abort["reason"]
    result, _ = wait_for(controller, "result")
    assert not result["ok"] and "no chunk" in result["reason"]
    controller.send("w0", "task", **task_fields("e0000-s001-a0", start=packed.sha256))
    request, _ = controller.expect("checkpointRequest")  # nothing partial was kept
    controller.send("w0", "checkpoint", payload=[packed.data], reply_to=request["msgId"])
    assert wait_for(controller, "result")[0]["ok"]
    controller.send("w0", "shutdown", reason="done")
    worker.join()


def test_an_abandoned_upload_stops_sending(controller, start_worker, monkeypatch):
    monkeypatch.setenv("AMLFS_CHUNK_BYTES", str(CHUNK))
    worker = start_worker(init_body())
    controller.accept()
    controller.collect_checkpoints = False
    controller.send("w0", "initRequest", seed=1)
    announce, _ = controller.expect("checkpoint")
    controller.send("w0", "credit", transferId=announce["transferId"], chunks=2)
    assert len(drain(controller, 0.3)) == 2
    controller.send("w0", "checkpointAbort", transferId=announce["transferId"], reason="the run stops")
    controller.send("w0", "credit", transferId=announce["transferId"], chunks=5)
    assert drain(controller, 0.3) == []  # credit for an abandoned transfer moves nothing
    controller.send("w0", "shutdown", reason="done")
    worker.join()
    assert worker.error is None


def test_transfer_settings_come_from_the_environment_and_are_checked(monkeypatch):
    import pytest

    from amlfs.worker import WorkerError
    from amlfs.worker.settings import resolve_settings

    args = dict(endpoint="tcp://127.0.0.1:1", worker_id="w0", run_id="r", device="cpu")
    defaults = resolve_settings(**args)
    assert (defaults.chunk_bytes, defaults.window_chunks, defaults.transfer_timeout_s) == (4 * 1024 * 1024, 4, 60.0)
    monkeypatch.setenv("AMLFS_CHUNK_BYTES", "65536")
    monkeypatch.setenv("AMLFS_WINDOW_CHUNKS", "8")
    monkeypatch.setenv("AMLFS_TRANSFER_TIMEOUT_MS", "1500")
    settings = resolve_settings(**args)
    assert (settings.chunk_bytes, settings.window_chunks, settings.transfer_timeout_s) == (65536, 8, 1.5)
    monkeypatch.setenv("AMLFS_CHUNK_BYTES", str(64 * 1024 * 1024 + 1))
    with pytest.raises(WorkerError, match=r"AMLFS_CHUNK_BYTES: expected an integer from 1 to 67108864, got 67108865"):
        resolve_settings(**args)
    monkeypatch.setenv("AMLFS_CHUNK_BYTES", "65536")
    monkeypatch.setenv("AMLFS_WINDOW_CHUNKS", "1025")  # one credit grants at most 1,024 chunks
    with pytest.raises(WorkerError, match=r"AMLFS_WINDOW_CHUNKS: expected an integer from 1 to 1024, got 1025"):
        resolve_settings(**args)
