/**
 * The simulated worker as a process, started like the Python worker:
 * `node --import tsx test/helpers/fake-worker-main.ts --connect E --worker-id ID --run-id R
 * [--device D] [--threads N]`. Behaviour options come as JSON in $FAKE_WORKER
 * (see FakeWorkerOptions); a "crash" exits with status 3, a shutdown with 0.
 */
import { parseArgs } from "node:util";
import { FakeWorker, type FakeWorkerOptions } from "./fake-worker.js";

const { values } = parseArgs({
  options: {
    connect: { type: "string" },
    "worker-id": { type: "string" },
    "run-id": { type: "string" },
    device: { type: "string" },
    threads: { type: "string" },
  },
});
const behaviour = JSON.parse(process.env.FAKE_WORKER ?? "{}") as Partial<FakeWorkerOptions> & {
  perWorker?: Record<string, Partial<FakeWorkerOptions>>;
};
const workerId = values["worker-id"] ?? "w0";
const worker = new FakeWorker({
  ...behaviour,
  ...(behaviour.perWorker?.[workerId] ?? {}),
  endpoint: values.connect ?? "",
  workerId,
  runId: values["run-id"] ?? "",
  onCrash: () => process.exit(3),
  log: (line) => process.stderr.write(`${line}\n`),
});
process.stderr.write(`fake worker ${workerId} pid ${process.pid} device ${values.device} threads ${values.threads}\n`);
await worker.exited;
process.exit(0);
