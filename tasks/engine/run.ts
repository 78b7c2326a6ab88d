/**
 * One `run` (or `plan`) from start to end: load the graph, take the lock,
 * schedule, handle Ctrl-C and SIGTERM, save caches, print the summary, and
 * return the exit status.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { MemoryReporter, type Reporter } from './events.ts';
import { Graph } from './graph.ts';
import { HashCache } from './hash-cache.ts';
import { BuildLock } from './lock.ts';
import { killAllGroups } from './process.ts';
import { schedule, summarise, type TaskResult } from './scheduler.ts';
import { StateStore } from './state.ts';
import type { Plugin, PluginContext, TaskDef } from './types.ts';

export interface RunOptions {
  targets: string[];
  jobs: number;
  force: boolean;
  failFast: boolean;
  noWait: boolean;
  dryRun: boolean;
  /** Keeps only the selected tasks that pass this filter (used by --shard). */
  filter?: (def: TaskDef) => boolean;
}

export interface RunOutcome {
  exitCode: number;
  results: Map<string, TaskResult>;
  graph: Graph;
}

export async function loadGraph(plugin: Plugin, ctx: PluginContext): Promise<Graph> {
  return new Graph(await plugin.load(ctx));
}

export async function runTargets(
  plugin: Plugin,
  ctx: PluginContext,
  opts: RunOptions,
): Promise<RunOutcome> {
  const graph = await loadGraph(plugin, ctx);
  let selected = graph.select(opts.targets);
  if (opts.filter) selected = selected.filter((n) => opts.filter!(graph.get(n)));
  const order = graph.closure(selected);
  const reporter = ctx.reporter;

  if (!opts.dryRun)
    await plugin.preflight?.(
      ctx,
      order.map((n) => graph.get(n)),
    );

  const lock = new BuildLock(ctx.buildDir);
  if (!opts.dryRun) {
    await lock.acquire(`run ${opts.targets.join(' ')}`, opts.noWait, (h) =>
      reporter.emit({
        type: 'info',
        message: `waiting for another run (pid ${h.pid}, '${h.command}') to release ${lock.file}...`,
      }),
    );
  }

  const controller = new AbortController();
  const stopSignals = installSignalHandlers(controller, reporter, lock);
  const hashes = new HashCache(join(ctx.buildDir, '.state'));
  await hashes.load();
  const started = Date.now();
  reporter.emit({
    type: 'run-start',
    targets: opts.targets,
    tasks: order.length,
    jobs: opts.jobs,
  });

  try {
    const results = await schedule({
      graph,
      order,
      forced: new Set(opts.force ? selected : []),
      jobs: opts.jobs,
      failFast: opts.failFast,
      dryRun: opts.dryRun,
      root: ctx.root,
      buildDir: ctx.buildDir,
      state: new StateStore(ctx.buildDir),
      hashes,
      reporter,
      signal: controller.signal,
    });
    await hashes.save();
    const summary = summarise(results, Date.now() - started);
    const interrupted = controller.signal.aborted;
    if (!opts.dryRun) {
      reporter.emit({
        type: 'run-end',
        ok: summary.failed === 0 && !interrupted,
        interrupted,
        summary,
      });
    }
    const exitCode = interrupted
      ? 130
      : summary.failed > 0 || summary.blocked > 0
        ? 1
        : 0;
    return { exitCode, results, graph };
  } finally {
    stopSignals();
    await lock.release();
  }
}

/**
 * A dry run for the read-only views (plan, explain, graph): says what `run`
 * would do, runs nothing, takes no lock, and keeps its events to itself.
 */
export function dryRunTargets(
  plugin: Plugin,
  ctx: PluginContext,
  targets: string[],
  force = false,
): Promise<RunOutcome> {
  return runTargets(
    plugin,
    { ...ctx, reporter: new MemoryReporter() },
    {
      targets,
      jobs: 1,
      force,
      failFast: false,
      noWait: true,
      dryRun: true,
    },
  );
}

/**
 * First Ctrl-C or SIGTERM: abort, let running tasks clean up. A second one:
 * kill every child group at once and leave.
 */
function installSignalHandlers(
  controller: AbortController,
  reporter: Reporter,
  lock: BuildLock,
): () => void {
  const onSignal = (signal: NodeJS.Signals) => {
    if (controller.signal.aborted) {
      killAllGroups('SIGKILL');
      rmSync(lock.file, { force: true });
      process.exit(130);
    }
    reporter.emit({
      type: 'info',
      message: `${signal}: stopping running tasks and cleaning up (send it again to stop at once)`,
    });
    controller.abort();
  };
  const onExit = () => killAllGroups('SIGKILL');
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal);
  process.on('exit', onExit);
  return () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off('SIGHUP', onSignal);
    process.off('exit', onExit);
  };
}
