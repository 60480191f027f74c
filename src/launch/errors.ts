/** The one error type of the launch layer: workers that cannot be started as configured. */
export class LaunchError extends Error {
  override readonly name = "LaunchError";

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}
