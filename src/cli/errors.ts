/** The one error type of the CLI layer: arguments that do not make a command. */
export class UsageError extends Error {
  override readonly name = "UsageError";
  /** The command whose usage to show (null: the top-level usage). */
  readonly command: string | null;

  constructor(message: string, command: string | null, options?: { cause?: unknown }) {
    super(message, options);
    this.command = command;
  }
}
