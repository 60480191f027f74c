/**
 * CURVE keys for TCP runs across hosts (docs/protocol.md, "Security"): the controller
 * makes a key pair per run and one per worker, and writes each worker's file (the
 * server's public key and the worker's own pair) with owner-only permissions, in a
 * directory only the owner can enter. Keys are Z85 text (40 characters, ZeroMQ RFC 32).
 */
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import * as zmq from "zeromq";
import { TransportError } from "./errors.js";

export interface CurveKeyPair {
  publicKey: string;
  secretKey: string;
}

/** What a worker needs to connect: the server's public key and its own pair. */
export interface WorkerCurveKeys extends CurveKeyPair {
  serverPublicKey: string;
}

const Z85_CHARS = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";
const Z85_KEY = /^[0-9a-zA-Z.\-:+=^!/*?&<>()[\]{}@%$#]{40}$/;

/** Z85 text of `bytes` (a multiple of 4 long), as ZeroMQ writes CURVE keys. */
export function z85Encode(bytes: Uint8Array): string {
  if (bytes.byteLength % 4 !== 0) {
    throw new TransportError(`z85: expected a multiple of 4 bytes, got ${bytes.byteLength}`, { field: "key" });
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let out = "";
  for (let i = 0; i < bytes.byteLength; i += 4) {
    let value = view.getUint32(i);
    let block = "";
    for (let j = 0; j < 5; j++) {
      block = (Z85_CHARS[value % 85] as string) + block;
      value = Math.floor(value / 85);
    }
    out += block;
  }
  return out;
}

export function newKeyPair(): CurveKeyPair {
  return zmq.curveKeyPair();
}

/** The key file of worker `workerId` under `dir` (`<dir>/<workerId>.key`). */
export function workerKeyFile(dir: string, workerId: string): string {
  return join(dir, `${workerId}.key`);
}

/**
 * Writes `<dir>/<workerId>.key` (JSON: serverPublicKey, publicKey, secretKey; mode 0600)
 * for a new key pair of the worker; `dir` is made with mode 0700. Returns the file and
 * the public key to allow. Synchronous, so a launcher can call it as it starts a worker.
 */
export function writeWorkerKeysSync(dir: string, workerId: string, serverPublicKey: string): { file: string; publicKey: string } {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  const pair = newKeyPair();
  const file = workerKeyFile(dir, workerId);
  const keys: WorkerCurveKeys = { serverPublicKey, ...pair };
  writeFileSync(file, `${JSON.stringify(keys)}\n`, { mode: 0o600 });
  chmodSync(file, 0o600); // an existing file keeps its mode on write
  return { file, publicKey: pair.publicKey };
}

/** {@link writeWorkerKeysSync}, as a promise. */
export async function writeWorkerKeys(dir: string, workerId: string, serverPublicKey: string): Promise<{ file: string; publicKey: string }> {
  return writeWorkerKeysSync(dir, workerId, serverPublicKey);
}

/** Whether a controller bound to `bindTo` must use CURVE: TCP reachable beyond this host's loopback. */
export function needsCurve(bindTo: string): boolean {
  const match = /^tcp:\/\/(\[[^\]]*\]|[^:]*):/.exec(bindTo);
  if (match === null) return false; // ipc://, inproc://
  return !["127.0.0.1", "localhost", "[::1]"].includes(match[1] as string);
}

/** Reads a worker key file, refusing one that others may read or that lacks a key. */
export async function readWorkerKeys(file: string): Promise<WorkerCurveKeys> {
  let mode: number;
  let text: string;
  try {
    mode = (await stat(file)).mode & 0o777;
    text = await readFile(file, "utf8");
  } catch (error) {
    throw new TransportError(`cannot read the CURVE key file ${file}: ${(error as Error).message}`, { field: "curveKeys", cause: error });
  }
  if ((mode & 0o077) !== 0) {
    throw new TransportError(`${file}: permissions ${mode.toString(8)}, expected owner-only (600)`, { field: "curveKeys" });
  }
  let value: Record<string, unknown>;
  try {
    value = JSON.parse(text) as Record<string, unknown>;
  } catch (error) {
    throw new TransportError(`${file}: expected JSON, got text that does not parse`, { field: "curveKeys", cause: error });
  }
  for (const key of ["serverPublicKey", "publicKey", "secretKey"] as const) {
    if (typeof value[key] !== "string" || !Z85_KEY.test(value[key] as string)) {
      throw new TransportError(`${file}: \`${key}\`: expected a 40-character Z85 key`, { field: key });
    }
  }
  return value as unknown as WorkerCurveKeys;
}
