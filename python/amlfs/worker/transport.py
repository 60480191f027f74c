"""The worker's end of the wire: a DEALER socket owned by one I/O thread.

pyzmq sockets are not thread-safe, so only the I/O thread touches the socket. Other
threads hand it frames through a queue (and a socketpair byte that wakes its poll) and
read what it routes to them from :attr:`Transport.inbox`. The I/O thread

- sends ``heartbeat`` every ``heartbeatIntervalMs`` after ``welcome``, whatever the
  training thread is doing;
- validates every incoming header (:class:`~amlfs.worker.wire.WireCodec`, then
  :mod:`amlfs.worker.inbound`), logs a one-line reason naming the field and answers
  ``reject`` for a bad one, and keeps running;
- answers ``keep`` and ``checkpointRequest`` itself from the :class:`StateStore`, so a
  winner uploads while the training thread trains the next task;
- moves checkpoints in chunks with credit-based flow control, both ways
  (:mod:`amlfs.worker.transfers`); chunks are separate messages, so heartbeats interleave;
- declares the controller lost when nothing at all arrives for ``heartbeatTimeoutMs``
  after ``welcome`` (or no ``welcome`` within the startup timeout), and tells the
  training thread (an :class:`Event` in the inbox) and the ``on_lost`` callback.
"""
from __future__ import annotations

import logging
import queue
import socket
import threading
import time
from typing import Any, Callable, Dict, List, Optional

import zmq

from ..checkpoint import PackedState
from .errors import ControllerLost, HeaderError, ShutdownRequested, WorkerError
from .inbound import TO_MAIN, Event, InboundRules, Message, check_inbound, peek, peek_type
from .send_queue import SendQueue
from .settings import CurveKeys
from .store import StateStore, requested_state
from .transfers import Transfers
from .wire import WireCodec

__all__ = ["Event", "Message", "Transport"]

log = logging.getLogger("amlfs.worker")

_POLL_MAX_MS = 100
_CLOSE_LINGER_MS = 2000


class Transport:
    def __init__(
        self,
        endpoint: str,
        worker_id: str,
        run_id: str,
        store: StateStore,
        *,
        codec: Optional[WireCodec] = None,
        startup_timeout_s: float = 60.0,
        on_lost: Optional[Callable[[ControllerLost], None]] = None,
        chunk_bytes: Optional[int] = None,
        window_chunks: Optional[int] = None,
        transfer_timeout_s: Optional[float] = None,
        max_checkpoint_bytes: Optional[int] = None,
        curve: Optional[CurveKeys] = None,
    ):
        self.endpoint = endpoint
        self.worker_id = worker_id
        self.run_id = run_id
        self.codec = codec or WireCodec()
        self.store = store
        self.inbox: "queue.Queue[Any]" = queue.Queue()
        self.startup_timeout_s = startup_timeout_s
        self.on_lost = on_lost
        # Unset: the wire schema's defaults, the same values the controller uses.
        wire = self.codec.schema
        self.chunk_bytes = chunk_bytes if chunk_bytes is not None else wire["x-defaultChunkBytes"]
        self.window_chunks = window_chunks if window_chunks is not None else wire["x-defaultWindowChunks"]
        self.transfer_timeout_s = (transfer_timeout_s if transfer_timeout_s is not None
                                   else wire["x-defaultTransferTimeoutMs"] / 1000.0)
        self.max_checkpoint_bytes = max_checkpoint_bytes if max_checkpoint_bytes is not None else wire["x-maxCheckpointBytes"]
        self.curve = curve
        self.max_chunk_bytes: int = wire["x-maxChunkBytes"]
        self._rules = InboundRules(run_id, self.max_checkpoint_bytes, self.max_chunk_bytes)
        #: Transfers in flight (I/O thread only).
        self.transfers = Transfers(worker_id, chunk_bytes=self.chunk_bytes, window_chunks=self.window_chunks,
                                   timeout_s=self.transfer_timeout_s, post=self._post,
                                   completed=self._on_checkpoint, failed=self._tell_waiting)

        self.heartbeat_interval_s: Optional[float] = None
        self.heartbeat_timeout_s: Optional[float] = None
        self.lost: Optional[ControllerLost] = None
        self.shutdown: Optional[ShutdownRequested] = None

        self._send_queue = SendQueue()
        self._commands: "queue.Queue[Callable[[], None]]" = queue.Queue()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._counter = 0
        self._counter_lock = threading.Lock()
        self._pending: set = set()  # msgIds whose replies go to the training thread
        self._pending_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None

    # ---- any thread -------------------------------------------------------------------

    def start(self) -> None:
        """Connect and start the I/O thread."""
        ready = threading.Event()
        failure: List[BaseException] = []
        self._thread = threading.Thread(
            target=self._run, args=(ready, failure), name=f"amlfs-io-{self.worker_id}", daemon=True
        )
        self._thread.start()
        ready.wait()
        if failure:
            raise failure[0]

    def next_msg_id(self) -> str:
        with self._counter_lock:
            self._counter += 1
            return f"{self.worker_id}-{self._counter}"

    def header(self, kind: str, fields: Dict[str, Any], reply_to: Optional[str] = None) -> Dict[str, Any]:
        header = {
            "protocol": self.codec.protocol,
            "type": kind,
            "msgId": self.next_msg_id(),
            "runId": self.run_id,
            "sender": self.worker_id,
        }
        if reply_to is not None:
            header["replyTo"] = reply_to
        header.update(fields)
        return header

    def send(
        self,
        kind: str,
        fields: Dict[str, Any],
        *,
        payload: Optional[List[bytes]] = None,
        reply_to: Optional[str] = None,
        expect_reply: bool = False,
    ) -> str:
        """Queue a message (validated here, in the caller's thread); returns its ``msgId``.

        With ``expect_reply``, the answer (``replyTo`` or a ``reject`` naming it) is routed
        to :attr:`inbox`.
        """
        header = self.header(kind, fields, reply_to)
        frames = [self.codec.encode(header), *(payload or [])]
        if expect_reply:
            with self._pending_lock:
                self._pending.add(header["msgId"])
        self._enqueue(frames)
        return header["msgId"]

    def upload(self, packed: PackedState, reply_to: Optional[str] = None, task_id: Optional[str] = None) -> None:
        """Send ``packed`` as a chunked checkpoint (from any thread; the I/O thread does the sending)."""
        self._commands.put(lambda: self.transfers.upload(packed, reply_to, task_id))
        self._wake()

    def done_waiting(self, msg_id: str) -> None:
        with self._pending_lock:
            self._pending.discard(msg_id)

    def send_raw(self, frames: List[bytes]) -> None:
        """Queue frames as they are, unvalidated (for fixtures that misbehave on purpose)."""
        self._enqueue(list(frames))

    def flush(self, timeout_s: float = 5.0) -> bool:
        """Wait until every message queued so far was handed to ZeroMQ; whether it was in time."""
        return self._send_queue.wait_sent(timeout_s, lambda: self._thread is not None and self._thread.is_alive())

    def close(self, timeout_s: float = 5.0) -> None:
        """Stop the I/O thread (pending messages get up to 2 s to leave) and close the socket."""
        self._stop.set()
        self._wake()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout_s)
        for sock in (self._wake_r, self._wake_w):
            sock.close()

    def _enqueue(self, frames: List[Any]) -> None:
        self._send_queue.put(frames)
        self._wake()

    def _wake(self) -> None:
        try:
            self._wake_w.send(b"\0")
        except OSError:  # closed, or the buffer is full: the I/O thread wakes up anyway
            pass

    # ---- I/O thread -------------------------------------------------------------------

    def _run(self, ready: threading.Event, failure: List[BaseException]) -> None:
        context = zmq.Context()
        dealer = context.socket(zmq.DEALER)
        try:
            dealer.setsockopt(zmq.ROUTING_ID, self.worker_id.encode("utf-8"))
            dealer.setsockopt(zmq.LINGER, 0)
            if self.curve is not None:  # a CURVE client: encrypted, and only an allowlisted key gets in
                dealer.curve_serverkey = self.curve.server_public_key.encode("ascii")
                dealer.curve_publickey = self.curve.public_key.encode("ascii")
                dealer.curve_secretkey = self.curve.secret_key.encode("ascii")
            dealer.connect(self.endpoint)
        except zmq.ZMQError as error:
            failure.append(WorkerError(f"cannot connect to {self.endpoint!r}: {error}"))
            dealer.close(0)
            context.term()
            ready.set()
            return
        self._dealer = dealer
        poller = zmq.Poller()
        poller.register(dealer, zmq.POLLIN)
        poller.register(self._wake_r, zmq.POLLIN)
        started = time.monotonic()
        self._last_rx = started
        next_heartbeat: Optional[float] = None
        ready.set()
        linger = _CLOSE_LINGER_MS
        try:
            while not self._stop.is_set():
                events = dict(poller.poll(_POLL_MAX_MS if next_heartbeat is None else self._poll_ms(next_heartbeat)))
                if self._wake_r.fileno() in events or self._wake_r in events:
                    self._drain_wake()
                self._run_commands()
                self._send_queue.drain(dealer)
                if dealer in events:
                    self._receive_all(dealer)
                now = time.monotonic()
                self.transfers.expire(now)
                if self.shutdown is not None:
                    next_heartbeat = None
                elif self.heartbeat_interval_s is not None:
                    if next_heartbeat is None:
                        next_heartbeat = now
                    if now >= next_heartbeat:
                        self._post("heartbeat", {})
                        next_heartbeat = max(next_heartbeat + self.heartbeat_interval_s, now)
                    if now - self._last_rx > self.heartbeat_timeout_s:
                        silent_ms = int((now - self._last_rx) * 1000)
                        timeout_ms = int(self.heartbeat_timeout_s * 1000)
                        self._lose(ControllerLost(f"controller at {self.endpoint} silent for {silent_ms} ms "
                                                  f"(heartbeatTimeoutMs {timeout_ms}); exiting",
                                                  exit_code=ControllerLost.SILENT))
                        linger = 0
                        break
                elif now - started > self.startup_timeout_s:
                    self._lose(ControllerLost(f"no welcome from the controller at {self.endpoint} within "
                                              f"{int(self.startup_timeout_s * 1000)} ms of hello; exiting",
                                              exit_code=ControllerLost.NO_WELCOME))
                    linger = 0
                    break
            self._send_queue.drain(dealer)
        except Exception as error:  # a bug in this thread must not leave the session hanging
            log.exception("I/O thread failed")
            self._lose(ControllerLost(f"worker I/O thread failed: {error!r}"))
            linger = 0
        finally:
            dealer.close(linger)
            context.term()
            self._send_queue.wake_waiters()

    def _run_commands(self) -> None:
        while True:
            try:
                command = self._commands.get_nowait()
            except queue.Empty:
                return
            command()

    def _poll_ms(self, next_heartbeat: float) -> int:
        return max(0, min(_POLL_MAX_MS, int((next_heartbeat - time.monotonic()) * 1000) + 1))

    def _drain_wake(self) -> None:
        try:
            while self._wake_r.recv(4096):
                pass
        except (BlockingIOError, OSError):
            pass

    def _send_now(self, frames: List[Any]) -> None:
        """Send from the I/O thread, after what is already queued."""
        self._enqueue(frames)
        self._send_queue.drain(self._dealer)

    def _receive_all(self, dealer) -> None:
        while True:
            try:
                frames = dealer.recv_multipart(zmq.NOBLOCK, copy=True)
            except zmq.Again:
                return
            self._last_rx = time.monotonic()
            self._handle(frames)

    def _handle(self, frames: List[bytes]) -> None:
        head, payload = frames[0], frames[1:]
        try:
            header = self.codec.decode(head)
            check_inbound(header, payload, self._rules)
        except HeaderError as error:
            self._reject(error, head)
            return
        kind = header["type"]
        if kind == "welcome":
            self._on_welcome(header)
        elif kind in TO_MAIN:
            self.inbox.put(Message(header))
        elif kind == "heartbeat":
            pass
        elif kind == "keep":
            if not header["keep"] and self.store.release(header["taskId"]):
                log.debug("released the trained state of %s", header["taskId"])
        elif kind == "checkpointRequest":
            self._answer_request(header)
        elif kind == "checkpoint":
            self.transfers.on_announce(header)
        elif kind == "checkpointChunk":
            self.transfers.on_chunk(header, payload[0])
        elif kind == "credit":
            self.transfers.on_credit(header)
        elif kind == "checkpointAbort":
            self.transfers.on_abort(header)
        elif kind == "reject":
            self._on_reject(header)
        elif kind == "shutdown":
            self.shutdown = ShutdownRequested(f"controller sent shutdown: {header['reason']}")
            log.info("shutdown: %s", header["reason"])
            self.inbox.put(Event(self.shutdown))

    def _reject(self, error: HeaderError, head: bytes) -> None:
        log.warning("rejected a message from the controller (msgId %s): %s", error.msg_id, error.reason)
        if peek_type(head) == "reject":
            return  # never answer a reject with a reject
        peeked = peek(head)
        with self._pending_lock:
            waiting = peeked is not None and peeked.get("replyTo") in self._pending
        if waiting:
            self.inbox.put(Message(peeked, error=error.reason))
        reject = self.header("reject", {"reason": error.reason[:4096], "rejectedMsgId": error.msg_id})
        self._send_now([self.codec.encode(reject)])

    def _on_welcome(self, header: Dict[str, Any]) -> None:
        if self.heartbeat_interval_s is not None:
            log.warning("ignored a second welcome (msgId %s)", header["msgId"])
            return
        self.heartbeat_interval_s = header["heartbeatIntervalMs"] / 1000.0
        self.heartbeat_timeout_s = header["heartbeatTimeoutMs"] / 1000.0
        self.inbox.put(Message(header))

    def _answer_request(self, header: Dict[str, Any]) -> None:
        """``checkpointRequest``: upload the state from the store, or ``reject`` naming what is not held."""
        try:
            packed = requested_state(self.store, header)
        except HeaderError as error:
            self._reject(error, b"")
            return
        self.transfers.upload(packed, header["msgId"], header.get("taskId"))

    def _post(self, kind: str, fields: Dict[str, Any], reply_to: Optional[str] = None, data: Any = None) -> None:
        """Send one message from the I/O thread, ``data`` its payload frame."""
        frames = [self.codec.encode(self.header(kind, fields, reply_to=reply_to))]
        self._send_now(frames if data is None else [*frames, data])

    def _on_checkpoint(self, header: Dict[str, Any], data: bytes) -> None:
        """A complete, verified checkpoint: to the thread that asked for it, else kept as a start state."""
        with self._pending_lock:
            waiting = header.get("replyTo") in self._pending
        if waiting:
            self.inbox.put(Message(header, [data]))
        else:
            self.store.add_start(header["sha256"], data)
            log.info("stored unrequested checkpoint %s as a start state", header["sha256"][:12])

    def _tell_waiting(self, header: Dict[str, Any], reason: str) -> None:
        with self._pending_lock:
            waiting = header.get("replyTo") in self._pending
        if waiting:
            self.inbox.put(Message(header, error=reason))

    def _on_reject(self, header: Dict[str, Any]) -> None:
        log.warning("controller rejected %s: %s", header["rejectedMsgId"], header["reason"])
        with self._pending_lock:
            waiting = header["rejectedMsgId"] in self._pending
        if waiting:
            self.inbox.put(Message(header))

    def _lose(self, error: ControllerLost) -> None:
        self.lost = error
        log.error("%s", error)
        self.inbox.put(Event(error))
        if self.on_lost is not None:
            self.on_lost(error)

