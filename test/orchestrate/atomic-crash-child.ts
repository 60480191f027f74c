/** Writes argv[2] atomically with argv[3] as content and SIGKILLs itself between temp write and rename. */
import { writeFileAtomic } from "../../src/orchestrate/atomic.js";

const [path, content] = process.argv.slice(2) as [string, string];
await writeFileAtomic(path, content, {
  afterTempWritten: () => {
    process.kill(process.pid, "SIGKILL");
    return new Promise(() => {});
  },
});
