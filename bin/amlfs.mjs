#!/usr/bin/env node
// The `amlfs` command: registers tsx's ESM loader, so the TypeScript sources run as they
// are (no build step), and hands the arguments to src/cli/main.ts.
import { register } from "tsx/esm/api";

register();
const { main } = await import("../src/cli/main.ts");
const code = await main(process.argv.slice(2));
process.exitCode = code;
// Everything is closed by now; a stray handle must not keep the process alive.
setTimeout(() => process.exit(code), 5000).unref();
