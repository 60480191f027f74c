/**
 * Chunked checkpoint transfer with credit (docs/protocol.md, "Checkpoint transfer") against
 * a raw ZeroMQ send of the same bytes, alternating in the same run (docs/design.md, Budgets:
 * >= 80 % of raw), plus what the transfer does to heartbeats and memory:
 *
 * - raw: a ROUTER sends the whole file as one frame to a DEALER in another process, which
 *   answers when it has it (no check, nothing written);
 * - raw + file: the same, and the receiver hashes the bytes and writes them to a file
 *   (the work a verified checkpoint costs anyway, without chunks or credit);
 * - amlfs: the controller's Transfers reads the file chunk by chunk and sends it against
 *   credit; the receiving process (Transfers too) writes the chunks to a temporary file,
 *   hashes them, checks the sha256 of the whole, and answers with the longest gap
 *   between the heartbeats the controller sent every 100 ms meanwhile.
 *
 *   npx tsx bench/checkpoint_transfer.ts [--mb 512] [--reps 3] [--chunk-kib 4096] [--window 4] [--write]
 *
 * Prints a Markdown report; --write also saves it as bench/results/checkpoint_transfer.md.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { rm, writeFile } from "node:fs/promises";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { execa } from "execa";
import * as zmq from "zeromq";
import { REPO_ROOT } from "../src/launch/python.js";
import { DealerEndpoint } from "../src/transport/dealer.js";
import { sha256Hex } from "../src/transport/digest.js";
import { RouterEndpoint } from "../src/transport/router.js";
import { Transfers } from "../src/transport/transfers.js";

const MB = 1024 * 1024;
const RUN_ID = "bench-chunks";

/** The receiving process: `--receiver RAW_ENDPOINT AMLFS_ENDPOINT`. */
async function receiver(rawEndpoint: string, amlfsEndpoint: string): Promise<void> {
  const raw = new zmq.Dealer({ routingId: "w0", linger: 0, maxMessageSize: -1 });
  raw.connect(rawEndpoint);
  await raw.send("ready");
  const dir = mkdtempSync(join(tmpdir(), "amlfs-bench-recv-"));
  const dealer = DealerEndpoint.connect({ endpoint: amlfsEndpoint, workerId: "w0", runId: RUN_ID, log: () => {} });
  const transfers = new Transfers({
    idPrefix: "w0",
    post: (_peer, type, fields, payload) => dealer.send(type, fields, payload),
    log: (line) => process.stderr.write(`${line}\n`),
  });
  let lastBeat = performance.now();
  let maxGapMs = 0;
  dealer.onMessage(({ message, payload }) => {
    if (message.type === "heartbeat") {
      const now = performance.now();
      maxGapMs = Math.max(maxGapMs, now - lastBeat);
      lastBeat = now;
    } else if (message.type === "checkpoint") {
      lastBeat = performance.now();
      maxGapMs = 0;
      transfers.receive("controller", message, join(dir, `${message.transferId}.part`)).then(async (file) => {
        await rm(file.path);
        dealer.send("progress", { taskId: "bench", step: 1, steps: 1, loss: maxGapMs, samplesPerSec: null });
      }, (error: Error) => process.stderr.write(`receiver: ${error.message}\n`));
    } else if (message.type === "shutdown") {
      void dealer.close().then(() => raw.close()).then(() => rmSync(dir, { recursive: true, force: true })).then(() => process.exit(0));
    } else {
      transfers.handle("controller", message, payload);
    }
  });
  dealer.send("heartbeat", {});
  for await (const [mode, data] of raw) {
    if (String(mode) === "file") {
      sha256Hex(data as Buffer);
      await writeFile(join(dir, "raw.bin"), data as Buffer);
      await rm(join(dir, "raw.bin"));
    }
    await raw.send(`got ${(data as Buffer).byteLength}`);
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      mb: { type: "string", default: "512" },
      reps: { type: "string", default: "3" },
      "chunk-kib": { type: "string", default: "4096" },
      window: { type: "string", default: "4" },
      write: { type: "boolean", default: false },
    },
  });
  const sizeBytes = Number(values.mb) * MB;
  const reps = Number(values.reps);
  const chunkBytes = Number(values["chunk-kib"]) * 1024;
  const windowChunks = Number(values.window);
  const dir = mkdtempSync(join(tmpdir(), "amlfs-bench-send-"));
  const path = join(dir, "state.safetensors");
  const bytes = randomBytes(sizeBytes);
  writeFileSync(path, bytes);
  const sha256 = sha256Hex(bytes);

  const rawRouter = new zmq.Router({ linger: 0, maxMessageSize: -1 });
  await rawRouter.bind("tcp://127.0.0.1:*");
  const router = await RouterEndpoint.bind({ runId: RUN_ID, log: () => {} });
  const transfers = new Transfers({
    idPrefix: "controller",
    post: (peer, type, fields, payload) => router.send(peer, type, fields, payload),
    log: (line) => process.stderr.write(`${line}\n`),
    chunkBytes,
    windowChunks,
  });
  let answered: ((gapMs: number) => void) | null = null;
  let seen = false;
  router.onMessage(({ from, message, payload }) => {
    seen = true;
    if (message.type === "progress") answered?.(message.loss ?? Number.NaN);
    else transfers.handle(from, message, payload);
  });
  const child = execa(process.execPath, ["--import", "tsx", join(REPO_ROOT, "bench/checkpoint_transfer.ts"), "--receiver",
    rawRouter.lastEndpoint as string, router.endpoint], { stdio: "inherit", reject: false });
  const [rawId] = await rawRouter.receive();
  while (!seen) await new Promise((resolve) => setTimeout(resolve, 5));
  const heartbeats = setInterval(() => router.send("w0", "heartbeat", {}), 100);

  const rate = (ms: number) => sizeBytes / MB / (ms / 1000);
  const rawRound = async (mode: string) => {
    const started = performance.now();
    await rawRouter.send([rawId as Buffer, mode, bytes]);
    await rawRouter.receive();
    return rate(performance.now() - started);
  };
  const rows: { raw: number; rawFile: number; amlfs: number; gapMs: number }[] = [];
  for (let rep = 0; rep < reps; rep++) {
    const raw = await rawRound("mem");
    const rawFile = await rawRound("file");
    const started = performance.now();
    const gap = new Promise<number>((resolve) => (answered = resolve));
    transfers.send("w0", { path }, { sha256, sizeBytes });
    const gapMs = await gap;
    rows.push({ raw, rawFile, amlfs: rate(performance.now() - started), gapMs });
  }
  clearInterval(heartbeats);
  router.send("w0", "shutdown", { reason: "bench over" });
  await router.flushed();
  await child;
  await router.close();
  rawRouter.close();
  rmSync(dir, { recursive: true, force: true });

  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
  const lines = [
    "# Checkpoint transfer: chunks with credit vs a raw ZeroMQ send",
    "",
    `Command: \`npx tsx bench/checkpoint_transfer.ts${process.argv.slice(2).map((a) => ` ${a}`).join("")}\``,
    `Date: ${new Date().toISOString()}; machine: ${cpus().length} x ${cpus()[0]?.model ?? "?"}, Node ${process.version}`,
    "",
    `${values.mb} MiB over tcp loopback to another process; chunks of ${chunkBytes / 1024} KiB, window ${windowChunks};`,
    "the amlfs receiver writes a temporary file and checks the sha256, the raw one only takes the frame.",
    "",
    "| rep | raw MB/s | raw + sha256 + file MB/s | amlfs MB/s | amlfs / raw | amlfs / (raw + file) | longest heartbeat gap at the receiver (100 ms period) |",
    "|---|---|---|---|---|---|---|",
    ...rows.map(
      (r, i) =>
        `| ${i + 1} | ${r.raw.toFixed(0)} | ${r.rawFile.toFixed(0)} | ${r.amlfs.toFixed(0)} | ${(r.amlfs / r.raw).toFixed(2)} | ` +
        `${(r.amlfs / r.rawFile).toFixed(2)} | ${r.gapMs.toFixed(0)} ms |`,
    ),
    "",
    `Median: raw ${median(rows.map((r) => r.raw)).toFixed(0)} MB/s, raw + file ${median(rows.map((r) => r.rawFile)).toFixed(0)} MB/s, ` +
      `amlfs ${median(rows.map((r) => r.amlfs)).toFixed(0)} MB/s (${(median(rows.map((r) => r.amlfs / r.raw)) * 100).toFixed(0)} % of raw, ` +
      `${(median(rows.map((r) => r.amlfs / r.rawFile)) * 100).toFixed(0)} % of raw + file); memory in flight: at most ` +
      `${windowChunks} x ${chunkBytes / 1024} KiB per transfer on the wire, one chunk read at a time by the sender.`,
  ];
  process.stdout.write(`${lines.join("\n")}\n`);
  if (values.write) writeFileSync(join(REPO_ROOT, "bench/results/checkpoint_transfer.md"), `${lines.join("\n")}\n`);
}

if (process.argv[2] === "--receiver") await receiver(process.argv[3] as string, process.argv[4] as string);
else await main();
