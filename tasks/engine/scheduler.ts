/**
 * Runs a set of tasks in dependency order, up to `jobs` at a time. A failed
 * task blocks its dependents while unrelated work goes on (unless
 * `failFast`); an abort (Ctrl-C) interrupts running tasks, runs their
 * cleanups and leaves them stale.
 */
import type { Reporter, RunSummary } from './events.ts';
import { depDigest } from './fingerprint.ts';
import { checkTask } from './freshness.ts';
import type { HashCache } from './hash-cache.ts';
import { prerequisites, type Graph } from './graph.ts';
import type { StateStore } from './state.ts';
import { fail, runOne } from './run-one.ts';
import type { TaskRecord } from './types.ts';

export type TaskStatus =
  'fresh' | 'ran' | 'failed' | 'blocked' | 'interrupted' | 'would-run';

export interface TaskResult {
  status: TaskStatus;
  reason?: string;
  /** Every input that changed since the last success (dry runs only). */
  changes?: string[];
  fingerprint?: string;
  record?: TaskRecord;
}

export interface ScheduleOptions {
  graph: Graph;
  /** Tasks to consider, dependencies first (Graph.closure). */
  order: string[];
  /** Tasks that run even when fresh (--force applies to the named targets only). */
  forced: Set<string>;
  jobs: number;
  failFast: boolean;
  /** Plan only: say what would run and why, run nothing. */
  dryRun: boolean;
  root: string;
  buildDir: string;
  state: StateStore;
  hashes: HashCache;
  reporter: Reporter;
  signal: AbortSignal;
}

/** Counts free job slots; `acquire` waits for one. */
class Slots {
  private waiting: (() => void)[] = [];
  constructor(private free: number) {}

  async acquire(): Promise<void> {
    if (this.free > 0) {
      this.free--;
      return;
    }
    await new Promise<void>((resolve) => this.waiting.push(resolve));
  }

  release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.free++;
  }
}

export async function schedule(opts: ScheduleOptions): Promise<Map<string, TaskResult>> {
  const results = new Map<string, Promise<TaskResult>>();
  const slots = new Slots(Math.max(1, opts.jobs));
  const stopAll = new AbortController();
  const signal = AbortSignal.any([opts.signal, stopAll.signal]);
  // Durations of tasks of each kind that ran in this run: estimates for the next ones.
  const kindDurations = new Map<string, number[]>();

  const resolveTask = async (name: string): Promise<TaskResult> => {
    const def = opts.graph.get(name);
    const depNames = prerequisites(def);
    const deps = await Promise.all(depNames.map((d) => results.get(d)!));

    const broken = depNames.findIndex(
      (_, i) => !['fresh', 'ran', 'would-run'].includes(deps[i]!.status),
    );
    if (broken >= 0) {
      if (signal.aborted) return { status: 'interrupted' };
      opts.reporter.emit({
        type: 'task-blocked',
        task: name,
        dependency: depNames[broken]!,
      });
      return { status: 'blocked' };
    }
    if (signal.aborted) return { status: 'interrupted' };

    // An order-only prerequisite that would run does not decide for this task.
    const pending = (def.deps ?? []).find((_, i) => deps[i]!.status === 'would-run');
    if (pending) {
      const reason = `dependency ${pending} will run`;
      opts.reporter.emit({ type: 'task-start', task: name, reason });
      return { status: 'would-run', reason };
    }

    // Order-only prerequisites are not part of the fingerprint.
    const depDigests: Record<string, string> = {};
    (def.deps ?? []).forEach(
      (d, i) => (depDigests[d] = depDigest(deps[i]!.fingerprint!, deps[i]!.record)),
    );

    let verdict;
    try {
      verdict = await checkTask(def, {
        ...opts,
        force: opts.forced.has(name),
        depDigests,
      });
    } catch (err) {
      return fail(opts.reporter, name, 0, err);
    }
    if (verdict.warning)
      opts.reporter.emit({ type: 'warning', task: name, message: verdict.warning });
    if (verdict.fresh) {
      opts.reporter.emit({ type: 'task-fresh', task: name });
      return {
        status: 'fresh',
        fingerprint: verdict.fingerprint,
        record: verdict.previous?.record,
      };
    }
    if (opts.dryRun) {
      opts.reporter.emit({ type: 'task-start', task: name, reason: verdict.reason });
      return { status: 'would-run', reason: verdict.reason, changes: verdict.changes };
    }

    await slots.acquire();
    try {
      if (signal.aborted) return { status: 'interrupted' };
      opts.reporter.emit({ type: 'task-start', task: name, reason: verdict.reason });
      const estimateMs =
        verdict.previous?.durationMs ?? mean(kindDurations.get(def.kind));
      const result = await runOne(
        def,
        opts,
        signal,
        estimateMs,
        verdict.previous?.record,
      );
      if (result.status === 'ran') {
        kindDurations.set(def.kind, [
          ...(kindDurations.get(def.kind) ?? []),
          result.durationMs,
        ]);
      }
      if (result.status === 'ran') {
        await opts.state.write(name, {
          fingerprint: verdict.fingerprint,
          components: verdict.components,
          record: result.record,
          finishedAt: new Date().toISOString(),
          durationMs: result.durationMs,
        });
      }
      if (result.status === 'failed' && opts.failFast) stopAll.abort();
      return {
        status: result.status,
        fingerprint: verdict.fingerprint,
        record: result.record,
      };
    } finally {
      slots.release();
    }
  };

  for (const name of opts.order) results.set(name, resolveTask(name));
  const settled = new Map<string, TaskResult>();
  for (const name of opts.order) settled.set(name, await results.get(name)!);
  return settled;
}

function mean(values: number[] | undefined): number | undefined {
  if (!values?.length) return undefined;
  return values.reduce((a, b) => a + b, 0) / values.length;
}

export function summarise(
  results: Map<string, TaskResult>,
  durationMs: number,
): RunSummary {
  const count = (s: TaskStatus) =>
    [...results.values()].filter((r) => r.status === s).length;
  return {
    ran: count('ran'),
    fresh: count('fresh'),
    failed: count('failed'),
    blocked: count('blocked'),
    interrupted: count('interrupted'),
    durationMs,
  };
}
