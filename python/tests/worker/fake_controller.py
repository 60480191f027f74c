"""A tiny controller for the worker tests: a real ROUTER on tcp://127.0.0.1:<random port>.

Checkpoints move in chunks with credit as docs/protocol.md says, written here from the
document (not with the worker's code): :meth:`FakeController.recv` collects an announced
upload and returns it as one payload frame, :meth:`FakeController.send` of a
``checkpoint`` with a payload sends it in chunks against the worker's credit.
"""
from __future__ import annotations

import json
import threading
import time
from typing import Any, Callable, Dict, List, Optional, Tuple

import zmq

from amlfs.worker.wire import WireCodec

RUN_ID = "run-test"
DIGITS_EXPERIMENT = {
    "name": "digits-test",
    "seed": 0,
    "baseline": {"name": "small-cnn", "options": {}},
    "dataset": {"kind": "digits", "root": "", "splits": {"valFraction": 0.1, "splitSeed": 0}},
    "search": {"mode": "amlfs", "B": 2, "M": 6, "sigmaStd": 0.2, "lr": 0.05, "epochs": 3, "init": {"kind": "identity"}},
    "workers": {"count": 1, "launcher": "local", "devices": "cpu", "threadsPerWorker": 1, "heartbeatTimeoutMs": 2000},
    "reward": {"metric": "top1"},
    "output": {"dir": "runs"},
}


class FakeController:
    """Sends and receives real wire messages; checks every header the worker sends."""

    def __init__(self, run_id: str = RUN_ID, curve_secret_key: Optional[bytes] = None):
        """With ``curve_secret_key`` the ROUTER is a CURVE server (a ZAP handler decides who may connect)."""
        self.run_id = run_id
        self.codec = WireCodec()
        self.context = zmq.Context()
        self.router = self.context.socket(zmq.ROUTER)
        self.router.setsockopt(zmq.LINGER, 0)
        if curve_secret_key is not None:
            self.router.curve_server = True
            self.router.curve_secretkey = curve_secret_key
        port = self.router.bind_to_random_port("tcp://127.0.0.1")
        self.endpoint = f"tcp://127.0.0.1:{port}"
        self.counter = 0
        self.heartbeats: Dict[str, int] = {}
        self.received: List[Dict[str, Any]] = []
        self.chunk_bytes = 64 * 1024
        self.window = 4
        #: False: recv returns a checkpoint announcement as it is, for tests that drive the chunks.
        self.collect_checkpoints = True
        #: One record per transfer: chunks, credit, heartbeats seen meanwhile.
        self.transfers: List[Dict[str, Any]] = []
        self._deferred: List[Tuple[str, Dict[str, Any], List[bytes]]] = []

    def header(self, msg_type: str, reply_to: Optional[str] = None, **fields) -> Dict[str, Any]:
        self.counter += 1
        header = {"protocol": 1, "type": msg_type, "msgId": f"controller-{self.counter}", "runId": self.run_id,
                  "sender": "controller", **fields}
        if reply_to is not None:
            header["replyTo"] = reply_to
        return header

    def send(self, worker: str, msg_type: str, payload: Optional[List[bytes]] = None, reply_to=None, **fields) -> str:
        if msg_type == "checkpoint" and payload:
            return self.send_checkpoint(worker, payload[0], reply_to=reply_to, **fields)
        header = self.header(msg_type, reply_to, **fields)
        self.router.send_multipart([worker.encode(), self.codec.encode(header), *(payload or [])])
        return header["msgId"]

    def send_raw(self, worker: str, frames: List[bytes]) -> None:
        self.router.send_multipart([worker.encode(), *frames])

    def recv(self, timeout_s: float = 10.0, skip_heartbeats: bool = True) -> Tuple[str, Dict[str, Any], List[bytes]]:
        """The next message; an announced checkpoint comes with its collected bytes as the payload."""
        deadline = time.monotonic() + timeout_s
        while True:
            if self._deferred:
                worker, header, payload = self._deferred.pop(0)
            else:
                worker, header, payload = self._recv_one(deadline, timeout_s)
                if header["type"] == "heartbeat" and skip_heartbeats:
                    continue
                if header["type"] == "credit":  # for a transfer send_checkpoint ended (stop_after)
                    continue
            self.received.append(header)
            if header["type"] == "checkpoint" and self.collect_checkpoints:
                payload = [self.collect(worker, header, deadline)]
            return worker, header, payload

    def _recv_one(self, deadline: float, timeout_s: float) -> Tuple[str, Dict[str, Any], List[bytes]]:
        left = deadline - time.monotonic()
        if left <= 0 or not self.router.poll(int(left * 1000) + 1):
            raise TimeoutError(f"no message from a worker within {timeout_s} s")
        identity, head, *payload = self.router.recv_multipart()
        header = self.codec.decode(head)
        worker = identity.decode()
        assert header["sender"] == worker and header["runId"] == self.run_id
        if header["type"] == "heartbeat":
            self.heartbeats[worker] = self.heartbeats.get(worker, 0) + 1
        return worker, header, payload

    def collect(self, worker: str, announce: Dict[str, Any], deadline: Optional[float] = None,
                delay_s: float = 0.0) -> bytes:
        """Receive the chunks of ``announce``: grant the window, then one chunk of credit per chunk.

        Other messages are kept for :meth:`recv`. Records the chunks, the credit messages
        and the heartbeats seen during the transfer in :attr:`transfers`.
        """
        deadline = deadline or time.monotonic() + 30.0
        size, chunk_bytes, transfer_id = announce["sizeBytes"], announce["chunkBytes"], announce["transferId"]
        count = -(-size // chunk_bytes)
        record = {"transferId": transfer_id, "chunks": count, "heartbeats": 0, "credits": 0}
        self.transfers.append(record)
        granted = min(self.window, count)
        self.send(worker, "credit", transferId=transfer_id, chunks=granted)
        record["credits"] += 1
        parts: List[bytes] = []
        while len(parts) < count:
            who, header, payload = self._recv_one(deadline, 30.0)
            if header["type"] == "heartbeat":
                record["heartbeats"] += 1
                continue
            if header["type"] != "checkpointChunk" or header["transferId"] != transfer_id:
                self._deferred.append((who, header, payload))
                continue
            assert header["index"] == len(parts) and header["offset"] == len(parts) * chunk_bytes
            parts.append(payload[0])
            time.sleep(delay_s)  # a slow receiver: the sender must wait for credit
            if granted < count:
                granted += 1
                self.send(worker, "credit", transferId=transfer_id, chunks=1)
                record["credits"] += 1
        data = b"".join(parts)
        assert len(data) == size
        return data

    def send_checkpoint(self, worker: str, data: bytes, reply_to=None, sha256: Optional[str] = None,
                        sizeBytes: Optional[int] = None, corrupt_chunk: Optional[int] = None,
                        stop_after: Optional[int] = None, **fields) -> str:
        """Announce ``data`` and send its chunks as the worker grants credit; the announcement's msgId.

        ``corrupt_chunk`` flips a byte of that chunk; ``stop_after`` stops sending after that
        many chunks (a sender that died).
        """
        import hashlib

        transfer_id = f"controller-t{self.counter + 1}"
        announce = self.header("checkpoint", reply_to, sha256=sha256 or hashlib.sha256(data).hexdigest(),
                               sizeBytes=len(data) if sizeBytes is None else sizeBytes, chunkBytes=self.chunk_bytes,
                               transferId=transfer_id, **fields)
        self.router.send_multipart([worker.encode(), self.codec.encode(announce)])
        count = -(-len(data) // self.chunk_bytes)
        sent, credit, granted = 0, 0, 0
        record = {"transferId": transfer_id, "chunks": count, "maxCreditAhead": 0}
        self.transfers.append(record)
        limit = count if stop_after is None else min(stop_after, count)
        deadline = time.monotonic() + 30.0
        while sent < limit:
            who, header, payload = self._recv_one(deadline, 30.0)
            if header["type"] == "credit" and header["transferId"] == transfer_id:
                credit += header["chunks"]
                granted += header["chunks"]
                # Chunks the worker lets this side have unacknowledged now: at most its window.
                record["maxCreditAhead"] = max(record["maxCreditAhead"], granted - sent)
            elif header["type"] == "checkpointAbort" and header["transferId"] == transfer_id:
                self._deferred.append((who, header, payload))
                break
            elif header["type"] != "heartbeat":
                self._deferred.append((who, header, payload))
            while credit > 0 and sent < limit:
                chunk = data[sent * self.chunk_bytes:(sent + 1) * self.chunk_bytes]
                if sent == corrupt_chunk:
                    chunk = bytes([chunk[0] ^ 0xFF]) + chunk[1:]
                head = self.header("checkpointChunk", transferId=transfer_id, index=sent, offset=sent * self.chunk_bytes)
                self.router.send_multipart([worker.encode(), self.codec.encode(head), chunk])
                sent, credit = sent + 1, credit - 1
        return announce["msgId"]

    def recv_raw(self, timeout_s: float = 10.0) -> Tuple[str, List[bytes]]:
        assert not self._deferred, "recv_raw after recv kept messages back"
        """The next message as it came (no validation): worker id and frames."""
        if not self.router.poll(int(timeout_s * 1000)):
            raise TimeoutError(f"no message from a worker within {timeout_s} s")
        identity, *frames = self.router.recv_multipart()
        return identity.decode(), frames

    def expect(self, kind: str, timeout_s: float = 10.0) -> Tuple[Dict[str, Any], List[bytes]]:
        worker, header, payload = self.recv(timeout_s)
        assert header["type"] == kind, f"expected {kind}, got {json.dumps(header)[:300]}"
        return header, payload

    def accept(self, heartbeat_interval_ms: int = 100, heartbeat_timeout_ms: int = 3000,
               experiment: Optional[Dict[str, Any]] = None, timeout_s: float = 30.0) -> Tuple[str, Dict[str, Any]]:
        """Wait for hello (a worker process may take a while to import torch) and answer welcome."""
        worker, hello, _ = self.recv(timeout_s)
        assert hello["type"] == "hello"
        self.send(worker, "welcome", reply_to=hello["msgId"], heartbeatIntervalMs=heartbeat_interval_ms,
                  heartbeatTimeoutMs=heartbeat_timeout_ms, experiment=experiment or {"name": "t", "seed": 0})
        return worker, hello

    def close(self) -> None:
        self.router.close(0)
        self.context.term()


class WorkerThread:
    """Runs ``body(session)`` on a thread that plays the worker's training thread."""

    def __init__(self, body: Callable, **connect_args):
        self.error: Optional[BaseException] = None
        self.result: Any = None
        self.thread = threading.Thread(target=self._run, args=(body, connect_args), daemon=True)
        self.thread.start()

    def _run(self, body, connect_args) -> None:
        from amlfs.worker import connect

        try:
            with connect(exit_on_lost=False, **connect_args) as session:
                self.result = body(session)
        except BaseException as error:  # handed to the test
            self.error = error

    def join(self, timeout_s: float = 20.0):
        self.thread.join(timeout_s)
        assert not self.thread.is_alive(), "worker thread did not finish"
        return self


