/**
 * Flags of the commands that parse their own (`report`, `inspect-space`): node's parseArgs,
 * strict, with positionals, and numeric values checked; every error is a UsageError that
 * names the command and the flag.
 */
import { type ParseArgsConfig, parseArgs } from "node:util";
import { UsageError } from "./errors.js";

type Options = NonNullable<ParseArgsConfig["options"]>;
type Parsed<O extends Options> = ReturnType<typeof parseArgs<{ args: string[]; options: O; allowPositionals: true; strict: true }>>;

/** `argv` parsed by node's parseArgs (strict, positionals allowed); an unknown flag names `command`. */
export function parseCommandArgs<const O extends Options>(command: string, argv: readonly string[], options: O): Parsed<O> {
  try {
    return parseArgs({ args: [...argv], options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError(`${command}: ${(error as Error).message}`, command, { cause: error });
  }
}

/** A whole number in [minimum, maximum] (no maximum when not given). */
export function integerFlag(command: string, flag: string, text: string, minimum: number, maximum?: number): number {
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < minimum || (maximum !== undefined && value > maximum)) {
    const range = maximum === undefined ? `>= ${minimum}` : `in [${minimum}, ${maximum}]`;
    throw new UsageError(`${command}: ${flag}: expected an integer ${range}, got ${JSON.stringify(text)}`, command);
  }
  return value;
}

/** A finite number > 0; `expected` says what else the flag takes, for the message. */
export function positiveFlag(command: string, flag: string, text: string, expected = "a number > 0"): number {
  const value = Number(text);
  if (text.trim() === "" || !Number.isFinite(value) || value <= 0) {
    throw new UsageError(`${command}: ${flag}: expected ${expected}, got ${JSON.stringify(text)}`, command);
  }
  return value;
}
