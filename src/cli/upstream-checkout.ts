/**
 * The checkout a baseline-`upstream` config names (`baseline.options.repo`): a folder holding
 * the files its adapter imports (proto/catalog.json, `upstreamAdapters`), at the commit the
 * adapter was tested at or with a warning that names both. Read before any worker starts; the
 * worker checks the same again where it runs (python/amlfs/upstream/checkout.py).
 */
import { readFileSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { CATALOG, UPSTREAM_BASELINE } from "../schema/catalog.js";
import type { ConfigProblem, Experiment } from "../schema/index.js";

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function text(path: string): string | null {
  return isFile(path) ? readFileSync(path, "utf8").trim() : null;
}

/** The git folder of a checkout: `.git`, or where a worktree's `.git` file points. */
function gitDirOf(root: string): string | null {
  const dotGit = join(root, ".git");
  if (isDirectory(dotGit)) return dotGit;
  const pointer = text(dotGit);
  return pointer?.startsWith("gitdir:") ? resolve(root, pointer.slice("gitdir:".length).trim()) : null;
}

/** The commit checked out at `root` (a branch ref loose or packed, a detached HEAD, or a snapshot's COMMIT file); null if none says. */
export function checkoutCommit(root: string): string | null {
  const gitDir = gitDirOf(root);
  const head = gitDir === null ? null : text(join(gitDir, "HEAD"));
  if (gitDir !== null && head !== null) {
    if (!head.startsWith("ref:")) return head === "" ? null : head;
    const ref = head.slice("ref:".length).trim();
    const common = text(join(gitDir, "commondir"));
    for (const base of common === null ? [gitDir] : [gitDir, resolve(gitDir, common)]) {
      const loose = text(join(base, ref));
      if (loose) return loose;
      for (const line of (text(join(base, "packed-refs")) ?? "").split("\n")) {
        const [hash, name] = line.trim().split(/\s+/);
        if (name === ref && hash !== undefined) return hash;
      }
    }
    return null;
  }
  const [first] = (text(join(root, "COMMIT")) ?? "").split(/\s+/);
  return first ? first : null;
}

export interface CheckoutCheck {
  problems: ConfigProblem[];
  /** Warnings that do not stop the run (another commit than the tested one). */
  notes: string[];
}

/** The checkout of a baseline-`upstream` config, resolved against `cwd` as the workers resolve it. */
export function upstreamCheckout(config: Experiment, cwd: string = process.cwd()): CheckoutCheck {
  const none: CheckoutCheck = { problems: [], notes: [] };
  const { name, options } = config.baseline;
  const adapter = CATALOG.upstreamAdapters[String(options.adapter)];
  if (config.workers.command !== undefined || name !== UPSTREAM_BASELINE || adapter === undefined) return none;
  if (typeof options.repo !== "string") return none; // a schema rule's error
  const root = resolve(cwd, options.repo);
  const where = root === options.repo ? root : `${root} (resolved from ${JSON.stringify(options.repo)} in ${cwd})`;
  const problem = (what: string): CheckoutCheck => ({
    problems: [{ path: "baseline.options.repo", message: `expected a checkout of ${adapter.repository} (${adapter.url}): ${what}, got ${JSON.stringify(options.repo)}` }],
    notes: [],
  });
  if (!isDirectory(root)) return problem(`${where} is not a folder`);
  const missing = adapter.files.filter((file) => !isFile(join(root, file)));
  if (missing.length > 0) return problem(`${where} has no ${missing.join(", ")}`);
  const commit = checkoutCommit(root);
  const tested = adapter.testedCommit;
  if (commit === null) return { problems: [], notes: [`${adapter.repository}: cannot tell which commit ${root} is (no .git or COMMIT); the adapter was tested at ${tested}`] };
  if (!commit.startsWith(tested) && !tested.startsWith(commit)) {
    return { problems: [], notes: [`${adapter.repository}: ${root} is at commit ${commit}; the adapter was tested at ${tested}`] };
  }
  return none;
}
