"""A tiny controller for the worker tests: a real ROUTER on tcp://127.0.0.1:<random port>."""
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

    def __init__(self, run_id: str = RUN_ID):
        self.run_id = run_id
        self.codec = WireCodec()
        self.context = zmq.Context()
        self.router = self.context.socket(zmq.ROUTER)
        self.router.setsockopt(zmq.LINGER, 0)
        port = self.router.bind_to_random_port("tcp://127.0.0.1")
        self.endpoint = f"tcp://127.0.0.1:{port}"
        self.counter = 0
        self.heartbeats: Dict[str, int] = {}
        self.received: List[Dict[str, Any]] = []

    def header(self, msg_type: str, reply_to: Optional[str] = None, **fields) -> Dict[str, Any]:
        self.counter += 1
        header = {"protocol": 1, "type": msg_type, "msgId": f"controller-{self.counter}", "runId": self.run_id,
                  "sender": "controller", **fields}
        if reply_to is not None:
            header["replyTo"] = reply_to
        return header

    def send(self, worker: str, msg_type: str, payload: Optional[List[bytes]] = None, reply_to=None, **fields) -> str:
        header = self.header(msg_type, reply_to, **fields)
        self.router.send_multipart([worker.encode(), self.codec.encode(header), *(payload or [])])
        return header["msgId"]

    def send_raw(self, worker: str, frames: List[bytes]) -> None:
        self.router.send_multipart([worker.encode(), *frames])

    def recv(self, timeout_s: float = 10.0, skip_heartbeats: bool = True) -> Tuple[str, Dict[str, Any], List[bytes]]:
        deadline = time.monotonic() + timeout_s
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not self.router.poll(int(left * 1000) + 1):
                raise TimeoutError(f"no message from a worker within {timeout_s} s")
            identity, head, *payload = self.router.recv_multipart()
            header = self.codec.decode(head)
            worker = identity.decode()
            assert header["sender"] == worker and header["runId"] == self.run_id
            if header["type"] == "heartbeat":
                self.heartbeats[worker] = self.heartbeats.get(worker, 0) + 1
                if skip_heartbeats:
                    continue
            self.received.append(header)
            return worker, header, payload

    def recv_raw(self, timeout_s: float = 10.0) -> Tuple[str, List[bytes]]:
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


