// A stand-in for a worker process, for launcher tests. STUB_MODE:
//   exit      print argv and the AMLFS_* environment, one stderr line, exit with status 5
//   sleep     print "ready", then wait (SIGTERM ends it)
//   stubborn  ignore SIGTERM, start a grandchild in the same process group, print its pid, wait
import { spawn } from "node:child_process";

const mode = process.env.STUB_MODE ?? "sleep";
const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => key.startsWith("AMLFS_") || key === "PYTHONPATH"));
if (mode === "exit") {
  process.stdout.write(`${JSON.stringify({ argv: process.argv.slice(2), env })}\n`);
  process.stderr.write("stub: something went wrong\n");
  process.exit(5);
}
if (mode === "stubborn") {
  process.on("SIGTERM", () => process.stdout.write("ignoring SIGTERM\n"));
  const child = spawn("sleep", ["300"], { stdio: "ignore" });
  process.stdout.write(`grandchild ${child.pid}\n`);
}
process.stdout.write("ready\n");
setInterval(() => {}, 1000);
