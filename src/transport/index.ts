export { TransportError } from "./errors.js";
export { sha256Hex } from "./digest.js";
export { buildHeader, encodeFrames, type Envelope, type Fields } from "./framing.js";
export { MsgIds, printableId } from "./ids.js";
export { DEFAULT_MAX_CHECKPOINT_BYTES, checkInbound, type Inbound, type InboundRules } from "./inbound.js";
export { CONTROLLER_ID, RouterEndpoint, type Received, type Rejection, type RouterOptions } from "./router.js";
export { DealerEndpoint, type DealerOptions, type DealerReceived } from "./dealer.js";
