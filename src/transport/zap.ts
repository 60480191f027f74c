/**
 * The ZAP handler (ZeroMQ RFC 27) of this process: libzmq asks it, over
 * `inproc://zeromq.zap.01` in the default context, whether a client completing a CURVE
 * handshake may connect. Each CURVE server socket registers its `zapDomain` with the
 * public keys it allows; anything else (another mechanism, an unknown domain, a key not
 * on the list) is refused with status 400, and the client never gets a message through.
 * One handler serves every socket of the process; it closes when the last domain leaves.
 */
import * as zmq from "zeromq";
import { z85Encode } from "./curve.js";

const ZAP_ENDPOINT = "inproc://zeromq.zap.01";

export interface ZapDecision {
  domain: string;
  address: string;
  publicKey: string | null;
  allowed: boolean;
}

class ZapHandler {
  readonly #domains = new Map<string, { keys: Set<string>; onDecision: (decision: ZapDecision) => void }>();
  #socket: zmq.Router | null = null;
  #loop: Promise<void> = Promise.resolve();

  async register(domain: string, keys: Iterable<string>, onDecision: (decision: ZapDecision) => void): Promise<Set<string>> {
    if (this.#socket === null) {
      const socket = new zmq.Router({ linger: 0 });
      await socket.bind(ZAP_ENDPOINT);
      this.#socket = socket;
      this.#loop = this.#serve(socket);
    }
    const entry = { keys: new Set(keys), onDecision };
    this.#domains.set(domain, entry);
    return entry.keys;
  }

  async unregister(domain: string): Promise<void> {
    this.#domains.delete(domain);
    if (this.#domains.size > 0 || this.#socket === null) return;
    const socket = this.#socket;
    this.#socket = null;
    socket.close();
    await this.#loop;
  }

  async #serve(socket: zmq.Router): Promise<void> {
    for (;;) {
      let frames: Buffer[];
      try {
        frames = await socket.receive();
      } catch {
        return; // closed
      }
      // [routing, "", version, requestId, domain, address, identity, mechanism, credentials...]
      const [routing, delimiter, , requestId, domainFrame, addressFrame, , mechanismFrame, key] = frames;
      if (routing === undefined || delimiter === undefined || requestId === undefined) continue;
      const domain = domainFrame?.toString("utf8") ?? "";
      const entry = this.#domains.get(domain);
      const publicKey = mechanismFrame?.toString("utf8") === "CURVE" && key?.byteLength === 32 ? z85Encode(key) : null;
      const allowed = entry !== undefined && publicKey !== null && entry.keys.has(publicKey);
      entry?.onDecision({ domain, address: addressFrame?.toString("utf8") ?? "", publicKey, allowed });
      const status = allowed ? ["200", "OK", publicKey as string] : ["400", "key not allowed", ""];
      try {
        await socket.send([routing, delimiter, "1.0", requestId, ...status, ""]);
      } catch {
        return;
      }
    }
  }
}

/** The handler of this process (one per ZeroMQ context: the default one). */
export const zapHandler = new ZapHandler();
