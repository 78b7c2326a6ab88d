/**
 * Runs one stale task: forgets its stored fingerprint, gives it a context
 * (log file, phases, child processes tied to the run's abort signal), runs
 * it, runs its cleanup whatever happened, and reports the outcome.
 */
import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { TaskFailure } from './errors.ts';
import type { Reporter } from './events.ts';
import { exec } from './process.ts';
import type { ScheduleOptions, TaskResult } from './scheduler.ts';
import type { Outcome, TaskContext, TaskDef, TaskRecord } from './types.ts';

export interface RunOutcome {
  status: 'ran' | 'failed' | 'interrupted';
  record?: TaskRecord;
  durationMs: number;
}

export async function runOne(
  def: TaskDef,
  opts: ScheduleOptions,
  signal: AbortSignal,
  estimateMs: number | undefined,
  previous: TaskRecord | undefined,
): Promise<RunOutcome> {
  // The stored fingerprint goes first: from here until success the task is stale.
  await opts.state.forget(def.name);
  const logDir = join(opts.buildDir, 'logs', 'tasks');
  await mkdir(logDir, { recursive: true });
  const logFile = join(logDir, `${def.name}.log`);
  const log = createWriteStream(logFile, { flags: 'w', mode: 0o600 });
  const started = Date.now();
  let estimateShown = false;
  const ctx: TaskContext = {
    task: def.name,
    root: opts.root,
    buildDir: opts.buildDir,
    signal,
    previous,
    log: (line) => {
      log.write(line + '\n');
      opts.reporter.emit({ type: 'task-output', task: def.name, line });
    },
    phase: (phase) => {
      // The estimate goes with the first phase only, and only for long tasks.
      const estimate =
        !estimateShown && (estimateMs ?? 0) >= 5000 ? estimateMs : undefined;
      estimateShown ||= estimate !== undefined;
      opts.reporter.emit({
        type: 'task-phase',
        task: def.name,
        phase,
        estimateMs: estimate,
      });
    },
    exec: (file, args, options) => exec(file, args, options, signal),
  };

  let outcome: Outcome = 'success';
  let record: TaskRecord | undefined;
  let error: unknown;
  try {
    record = (await def.run(ctx)) ?? undefined;
    if (signal.aborted) outcome = 'interrupted';
  } catch (err) {
    outcome = signal.aborted ? 'interrupted' : 'failure';
    error = err;
  }
  try {
    await def.cleanup?.(ctx, outcome);
  } catch (err) {
    if (outcome === 'success') {
      outcome = 'failure';
      error = err;
    }
  }
  await new Promise<void>((resolve) => log.end(resolve));

  const durationMs = Date.now() - started;
  if (outcome === 'interrupted') {
    opts.reporter.emit({ type: 'task-interrupted', task: def.name });
    return { status: 'interrupted', durationMs };
  }
  if (outcome === 'failure') {
    fail(opts.reporter, def.name, durationMs, error, logFile);
    return { status: 'failed', durationMs };
  }
  opts.reporter.emit({ type: 'task-success', task: def.name, durationMs });
  return { status: 'ran', record, durationMs };
}

export function fail(
  reporter: Reporter,
  task: string,
  durationMs: number,
  err: unknown,
  log?: string,
): TaskResult {
  const expected = err instanceof TaskFailure;
  const message = expected
    ? err.message
    : `internal error: ${(err as Error)?.stack ?? String(err)}`;
  const details = expected ? err.details : [];
  reporter.emit({ type: 'task-failure', task, durationMs, message, details, log });
  return { status: 'failed' };
}
