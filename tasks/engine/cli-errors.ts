/**
 * The one place where an error that escaped a command is printed, and turned
 * into the exit status: 2 for usage and configuration errors, 1 otherwise.
 * Anything unexpected is an internal error, printed with its stack to report.
 */
import { CommanderError } from 'commander';
import { ConfigError, ConfigErrors, isUserError } from './errors.ts';
import { LockBusyError } from './lock.ts';

/** Prints an error that escaped a command and returns the exit status for it. */
export function reportError(err: unknown): number {
  if (err instanceof CommanderError) {
    // Commander already printed the message or the help text.
    return err.exitCode === 0 ? 0 : 2;
  }
  if (err instanceof ConfigErrors) {
    process.stderr.write(
      `error: ${err.errors.length} problem(s) in the configuration:\n`,
    );
    for (const e of err.errors) process.stderr.write(`  ${e.describe()}\n`);
    return 2;
  }
  if (err instanceof ConfigError) {
    process.stderr.write(`error: ${err.describe()}\n`);
    return 2;
  }
  if (isUserError(err)) {
    process.stderr.write(`error: ${(err as Error).message}\n`);
    return 2;
  }
  if (err instanceof LockBusyError) {
    process.stderr.write(`error: ${err.message}\n`);
    return 1;
  }
  process.stderr.write(
    `internal error (please report it with this text):\n${(err as Error)?.stack ?? String(err)}\n`,
  );
  return 1;
}
