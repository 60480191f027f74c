/**
 * `amlfs report <runDir> [--baseline <runDir>] [--png] [--classes C] [--scale S]`:
 * writes <runDir>/report/report.html and one SVG per figure (docs/report.md). Reads the
 * run directory only, apart from its report/ folder.
 */
import { checkInBrowser } from "../report/browser.js";
import { ReportError } from "../report/errors.js";
import { writeReport } from "../report/write-report.js";
import { UsageError } from "./errors.js";
import { integerFlag, parseCommandArgs, positiveFlag } from "./flags.js";
import { EXIT } from "./exit-codes.js";
import { USAGES } from "./usage.js";

interface Io {
  out: (text: string) => void;
  err: (text: string) => void;
}

export async function reportCommand(argv: readonly string[], io: Io): Promise<number> {
  const { values, positionals } = parseCommandArgs("report", argv, {
    help: { type: "boolean", short: "h" },
    baseline: { type: "string" },
    png: { type: "boolean" },
    classes: { type: "string" },
    scale: { type: "string" },
  });
  if (values.help === true) {
    io.out(USAGES.report as string);
    return EXIT.ok;
  }
  const [runDir, ...extra] = positionals;
  if (runDir === undefined) throw new UsageError("report: expected a run directory", "report");
  if (extra.length > 0) throw new UsageError(`report: unexpected argument ${JSON.stringify(extra[0])}`, "report");
  const numClasses = values.classes === undefined ? undefined : integerFlag("report", "--classes", values.classes, 2);
  const scale = values.scale === undefined ? undefined : positiveFlag("report", "--scale", values.scale);
  try {
    const result = await writeReport(runDir, {
      ...(values.baseline === undefined ? {} : { baseline: values.baseline }),
      ...(numClasses === undefined ? {} : { numClasses }),
      ...(scale === undefined ? {} : { scale }),
    });
    io.out(`${result.files.join("\n")}\n`);
    if (values.png === true) {
      const check = await checkInBrowser(result.html, { pngDir: result.html.replace(/report\.html$/, "") });
      io.out(`${check.pngs.join("\n")}\n`);
    }
    return EXIT.ok;
  } catch (error) {
    if (!(error instanceof ReportError)) throw error;
    io.err(`amlfs: ${error.message}\n`);
    return EXIT.runFailed;
  }
}

