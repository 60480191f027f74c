/**
 * CURVE on TCP (docs/protocol.md, "Security"): a worker with allowlisted keys talks to
 * the controller both ways; a client with a valid key pair that is not allowlisted, one
 * with the wrong server key, and one without CURVE are refused (nothing reaches the
 * run, the refusal is logged) while the allowed worker carries on. Key files are
 * owner-only and checked on reading; Z85 follows the RFC's test vector.
 */
import { chmodSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newKeyPair, readWorkerKeys, writeWorkerKeys, z85Encode } from "../../src/transport/curve.js";
import { DealerEndpoint, type DealerReceived } from "../../src/transport/dealer.js";
import { type Received, RouterEndpoint } from "../../src/transport/router.js";
import { waitFor } from "./wait.js";

const runId = "run-curve";
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("Z85 and key files", () => {
  it("encodes the RFC 32 test vector", () => {
    expect(z85Encode(Uint8Array.from([0x86, 0x4f, 0xd2, 0x6f, 0xb5, 0x59, 0xf7, 0x5b]))).toBe("HelloWorld");
    expect(() => z85Encode(new Uint8Array(3))).toThrow(/multiple of 4/);
  });

  it("writes owner-only key files and refuses one others may read", async () => {
    const dir = join(mkdtempSync(join(tmpdir(), "amlfs-keys-")), "keys");
    try {
      const server = newKeyPair();
      const { file, publicKey } = await writeWorkerKeys(dir, "w0", server.publicKey);
      expect(statSync(dir).mode & 0o777).toBe(0o700);
      expect(statSync(file).mode & 0o777).toBe(0o600);
      const keys = await readWorkerKeys(file);
      expect(keys.serverPublicKey).toBe(server.publicKey);
      expect(keys.publicKey).toBe(publicKey);
      expect(keys.secretKey).toMatch(/^.{40}$/);
      chmodSync(file, 0o644);
      await expect(readWorkerKeys(file)).rejects.toThrow(`${file}: permissions 644, expected owner-only (600)`);
      writeFileSync(file, JSON.stringify({ ...keys, secretKey: "short" }), { mode: 0o600 });
      chmodSync(file, 0o600);
      await expect(readWorkerKeys(file)).rejects.toThrow(/`secretKey`: expected a 40-character Z85 key/);
    } finally {
      rmSync(join(dir, ".."), { recursive: true, force: true });
    }
  });
});

describe("a CURVE controller socket", () => {
  const server = newKeyPair();
  const worker = newKeyPair();
  const logs: string[] = [];
  const received: Received[] = [];
  let router: RouterEndpoint;

  beforeAll(async () => {
    router = await RouterEndpoint.bind({ runId, log: (line) => logs.push(line), curve: { secretKey: server.secretKey, allowedClientKeys: [worker.publicKey] } });
    router.onMessage((message) => received.push(message));
  });
  afterAll(async () => {
    await router.close();
  });

  const connect = (workerId: string, curve?: { serverPublicKey: string; publicKey: string; secretKey: string }) => {
    const answers: DealerReceived[] = [];
    const dealer = DealerEndpoint.connect({ endpoint: router.endpoint, workerId, runId, log: () => {}, ...(curve ? { curve } : {}) });
    dealer.onMessage((answer) => answers.push(answer));
    return { dealer, answers };
  };

  it("lets an allowlisted worker through, both ways", async () => {
    const { dealer, answers } = connect("w0", { serverPublicKey: server.publicKey, ...worker });
    dealer.send("heartbeat", {});
    await waitFor(() => received.some((r) => r.from === "w0"));
    router.send("w0", "heartbeat", {});
    await waitFor(() => answers.some((a) => a.message.type === "heartbeat"));
    await dealer.close();
  });

  it("refuses clients without the right keys, and the allowed worker carries on", async () => {
    const stranger = newKeyPair();
    const intruders = [
      connect("intruder1", { serverPublicKey: server.publicKey, ...stranger }), // valid CURVE, not allowlisted
      connect("intruder2", { serverPublicKey: newKeyPair().publicKey, ...worker }), // wrong server key
      connect("intruder3"), // no CURVE at all
    ];
    for (const { dealer } of intruders) dealer.send("heartbeat", {});
    const allowed = connect("w1", { serverPublicKey: server.publicKey, ...worker });
    allowed.dealer.send("heartbeat", {});
    await waitFor(() => received.some((r) => r.from === "w1"));
    await waitFor(() => logs.some((line) => line.includes(`key ${stranger.publicKey} is not allowed`)));
    await sleep(300);
    expect(received.filter((r) => r.from.startsWith("intruder"))).toEqual([]);
    for (const { dealer } of intruders) await dealer.close();
    allowed.dealer.send("heartbeat", {});
    await waitFor(() => received.filter((r) => r.from === "w1").length === 2);
    await allowed.dealer.close();
  });

  it("admits a key allowed later (a replacement worker)", async () => {
    const replacement = newKeyPair();
    router.allowClient(replacement.publicKey);
    const { dealer } = connect("w1-r1", { serverPublicKey: server.publicKey, ...replacement });
    dealer.send("heartbeat", {});
    await waitFor(() => received.some((r) => r.from === "w1-r1"));
    await dealer.close();
  });
});
