/**
 * Errors the engine knows how to report. A `UsageError` or `ConfigError`
 * ends the program with exit status 2 before any task runs; a
 * `TaskFailure` fails one task (exit status 1 at the end of the run).
 * Anything else that escapes is an internal error, printed once at the top.
 */

/** A bad command line: unknown target, bad option value. Exit 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** Where in a file a configuration problem is. Lines and columns are 1-based. */
export interface SourceLocation {
  file: string;
  line?: number;
  column?: number;
}

/**
 * A bad configuration file or input: names the file (and line:column when
 * known), the field, what was expected, what was found and what to do.
 * Exit 2.
 */
export class ConfigError extends Error {
  override name = 'ConfigError';

  constructor(
    message: string,
    readonly location?: SourceLocation,
    readonly field?: string,
  ) {
    super(message);
  }

  /** `fleet.yaml:3:5: vms.vm-2.mac_address: ...` */
  describe(): string {
    const where = this.location ? formatLocation(this.location) + ': ' : '';
    const field = this.field ? this.field + ': ' : '';
    return where + field + this.message;
  }
}

/** Several configuration problems found in one pass, reported together. */
export class ConfigErrors extends Error {
  override name = 'ConfigErrors';

  constructor(readonly errors: ConfigError[]) {
    super(errors.map((e) => e.describe()).join('\n'));
  }
}

/**
 * An expected failure of a task: the message says the cause and what to do;
 * `details` holds the last lines of the relevant log, shown under it.
 */
export class TaskFailure extends Error {
  override name = 'TaskFailure';

  constructor(
    message: string,
    readonly details: string[] = [],
  ) {
    super(message);
  }
}

export function formatLocation(loc: SourceLocation): string {
  if (loc.line === undefined) return loc.file;
  return `${loc.file}:${loc.line}:${loc.column ?? 1}`;
}

/** True for errors that mean "fix your input", exit status 2. */
export function isUserError(err: unknown): boolean {
  return (
    err instanceof UsageError || err instanceof ConfigError || err instanceof ConfigErrors
  );
}
