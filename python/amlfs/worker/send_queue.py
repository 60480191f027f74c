"""The messages waiting for the worker's DEALER socket.

Any thread queues frames; only the I/O thread hands them to ZeroMQ, never blocking: a full
pipe keeps the message for the next turn. The queue counts what was queued and what left, so
:meth:`SendQueue.wait_sent` can tell a caller when everything queued so far has gone.
"""
from __future__ import annotations

import queue
import threading
import time
from typing import Any, Callable, List, Optional

import zmq


class SendQueue:
    def __init__(self) -> None:
        self._outbox: "queue.Queue[List[Any]]" = queue.Queue()
        self._queued = 0
        self._sent = 0
        self._sent_cond = threading.Condition()
        self._stalled: Optional[List[Any]] = None

    def put(self, frames: List[Any]) -> None:
        """Queue one message's frames (any thread)."""
        with self._sent_cond:
            self._queued += 1
        self._outbox.put(frames)

    def drain(self, dealer: zmq.Socket) -> None:
        """Hand queued messages to ZeroMQ without ever blocking (I/O thread only)."""
        while True:
            frames = self._stalled
            if frames is None:
                try:
                    frames = self._outbox.get_nowait()
                except queue.Empty:
                    return
            try:
                dealer.send_multipart(frames, flags=zmq.NOBLOCK, copy=False)
            except zmq.Again:
                self._stalled = frames
                return
            self._stalled = None
            with self._sent_cond:
                self._sent += 1
                self._sent_cond.notify_all()

    def wait_sent(self, timeout_s: float, alive: Callable[[], bool]) -> bool:
        """Wait until every message queued so far was handed to ZeroMQ, while ``alive()`` (the I/O
        thread runs); whether it was in time."""
        deadline = time.monotonic() + timeout_s
        with self._sent_cond:
            target = self._queued
            while self._sent < target and alive():
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._sent_cond.wait(left)
            return self._sent >= target

    def wake_waiters(self) -> None:
        """Let :meth:`wait_sent` callers look again (the I/O thread ended)."""
        with self._sent_cond:
            self._sent_cond.notify_all()
