/** `amlfs report`: figures and a self-contained HTML page from a run directory (docs/report.md). */
export { CHROMIUM_ARGS, type PageCheck, checkInBrowser, chromiumPath } from "./browser.js";
export { ReportError } from "./errors.js";
export { type CurveAnswer, type CurveRequest, type CurveSource, type LossCurves, pythonCurves } from "./python-curves.js";
export { readReportRun, type ReportRun } from "./run-data.js";
export { COSFACE_MARGIN, referenceMargin, REPORT_DIR, type ReportOptions, type ReportResult, curveRequest, writeReport } from "./write-report.js";
