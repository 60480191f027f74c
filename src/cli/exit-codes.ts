/** Exit codes of `amlfs`, documented in every --help. */
export const EXIT = {
  ok: 0,
  runFailed: 1,
  usage: 2,
  sigint: 130,
  sigterm: 143,
} as const;

export const EXIT_CODES_HELP = `Exit codes:
  0    success (for resume: also when the run had already finished)
  1    the run failed (the run directory stays resumable when the failure allows it)
  2    usage or config error (bad arguments, invalid config, not a run directory,
       a worker that cannot run the config or its data: fix it and start a new run)
  130  interrupted by SIGINT (Ctrl-C); workers stopped, run resumable
  143  terminated by SIGTERM; workers stopped, run resumable`;
