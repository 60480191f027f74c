/** Message ids `<sender>-<counter>` (docs/protocol.md, "Ids"), unique per sender. */
export class MsgIds {
  readonly #sender: string;
  #counter = 0;

  constructor(sender: string) {
    this.#sender = sender;
  }

  next(): string {
    this.#counter += 1;
    return `${this.#sender}-${this.#counter}`;
  }
}

/** A routing id as printable text for log lines (hex when it is not a plain id). */
export function printableId(routingId: Uint8Array): string {
  const text = Buffer.from(routingId).toString("utf8");
  return /^[A-Za-z0-9_.-]{1,64}$/.test(text) ? text : `0x${Buffer.from(routingId).toString("hex").slice(0, 64)}`;
}
