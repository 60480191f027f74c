/**
 * A receiving worker process for bench/controller_overhead.ts. Arguments: the worker id,
 * the run id, then `mode=endpoint` pairs; for each it connects a DEALER, says "ready",
 * and answers every transfer with "got <bytes>" after handling it as the mode says:
 * `raw` (nothing), `amlfs` (the full receiver check of src/transport/inbound.ts: header
 * schema, run id, payload count, size and sha256) or `amlfs-nohash` (the header decoded
 * and validated, no sha256). "stop" on any socket ends the process.
 */
import * as zmq from "zeromq";
import { decodeHeader } from "../src/schema/wire/validate.js";
import { checkInbound } from "../src/transport/inbound.js";

const [id, runId, ...pairs] = process.argv.slice(2) as [string, string, ...string[]];

async function serve(mode: string, endpoint: string): Promise<void> {
  const socket = new zmq.Dealer({ routingId: id, linger: 0, maxMessageSize: -1 });
  socket.connect(endpoint);
  await socket.send("ready");
  for await (const frames of socket) {
    const first = frames[0] as Buffer;
    if (first.byteLength === 4 && String(first) === "stop") process.exit(0);
    // The bench's controller answers "ready" and "got" with a reject (they are not
    // protocol messages); only messages with a payload are transfers there.
    if (mode !== "raw" && frames.length < 2) continue;
    let ok = true;
    if (mode === "amlfs") ok = checkInbound(frames, null, { runId, maxCheckpointBytes: 4 * 1024 ** 3 }).ok;
    if (mode === "amlfs-nohash") ok = decodeHeader(frames[0] as Buffer).ok;
    if (!ok) process.stderr.write(`sink ${id}: the ${mode} check failed\n`);
    const bytes = frames.reduce((sum, frame) => sum + frame.byteLength, 0);
    await socket.send(ok ? `got ${bytes}` : "invalid");
  }
}

await Promise.all(pairs.map((pair) => {
  const [mode, endpoint] = pair.split("=") as [string, string];
  return serve(mode, endpoint);
}));
