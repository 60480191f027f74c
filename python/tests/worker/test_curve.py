"""CURVE on TCP (docs/protocol.md, "Security"): a worker with its key file connects to a
CURVE controller that allowlists its public key; a worker whose key is not on the list
never gets a message through; key files that others may read are refused.
"""
import json
import os

import pytest
import zmq
import zmq.auth.thread

from amlfs.worker import ControllerLost, WorkerError
from amlfs.worker.settings import load_curve_keys
from fake_controller import FakeController, WorkerThread


class Allowlist:
    """ZAP credentials provider: the z85 public keys allowed, and every key asked about."""

    def __init__(self, *keys: bytes):
        self.keys = set(keys)
        self.asked = []

    def callback(self, domain, key):
        self.asked.append(key)
        return key in self.keys


def key_file(tmp_path, name, server_public, pair, mode=0o600):
    path = tmp_path / f"{name}.key"
    path.write_text(json.dumps({"serverPublicKey": server_public.decode(), "publicKey": pair[0].decode(),
                                "secretKey": pair[1].decode()}))
    os.chmod(path, mode)
    return str(path)


@pytest.fixture
def curve_controller():
    server_public, server_secret = zmq.curve_keypair()
    fake = FakeController(curve_secret_key=server_secret)
    auth = zmq.auth.thread.ThreadAuthenticator(fake.context)
    auth.start()
    allow = Allowlist()
    auth.configure_curve_callback(domain="*", credentials_provider=allow)
    yield fake, server_public, allow
    auth.stop()
    fake.close()


def run_worker(fake, path, worker_id, **extra):
    def body(session):
        return session.experiment

    return WorkerThread(body, adapter="curve-test", endpoint=fake.endpoint, worker_id=worker_id, run_id=fake.run_id,
                        device="cpu", curve_keys=path, **extra)


def test_an_allowlisted_worker_connects_and_a_stranger_is_refused(tmp_path, curve_controller):
    fake, server_public, allow = curve_controller
    good, stranger = zmq.curve_keypair(), zmq.curve_keypair()
    allow.keys.add(good[0])

    intruder = run_worker(fake, key_file(tmp_path, "w9", server_public, stranger), "w9", startup_timeout_s=1.5)
    worker = run_worker(fake, key_file(tmp_path, "w0", server_public, good), "w0")
    name, hello = fake.accept(experiment={"name": "curve", "seed": 1})
    assert name == "w0" and hello["adapter"] == "curve-test"
    fake.send("w0", "shutdown", reason="done")
    worker.join()
    assert worker.error is None and worker.result == {"name": "curve", "seed": 1}

    intruder.join(10)
    assert isinstance(intruder.error, ControllerLost)  # no welcome: it never got through
    assert stranger[0] in allow.asked
    assert [h for h in fake.received if h["sender"] == "w9"] == []


def test_key_files_must_be_owner_only_and_hold_z85_keys(tmp_path):
    server_public, _ = zmq.curve_keypair()
    pair = zmq.curve_keypair()
    path = key_file(tmp_path, "w0", server_public, pair, mode=0o644)
    with pytest.raises(WorkerError, match=r"w0.key: permissions 644, expected owner-only \(600\)"):
        load_curve_keys(path)
    os.chmod(path, 0o600)
    keys = load_curve_keys(path)
    assert (keys.server_public_key, keys.public_key, keys.secret_key) == (server_public.decode(), pair[0].decode(),
                                                                           pair[1].decode())
    with open(path, "w") as handle:
        json.dump({"serverPublicKey": "short", "publicKey": pair[0].decode(), "secretKey": pair[1].decode()}, handle)
    with pytest.raises(WorkerError, match="`serverPublicKey`: expected a 40-character Z85 key"):
        load_curve_keys(path)
    with pytest.raises(WorkerError, match="cannot read the CURVE key file .*missing.key"):
        load_curve_keys(str(tmp_path / "missing.key"))
