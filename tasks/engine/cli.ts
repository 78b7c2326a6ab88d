/**
 * The command line: `run`, `plan`, `explain`, `list`, `graph`, `clean`, plus
 * whatever commands the plugin adds. Exit 0 on success, 1 when a task
 * failed, 2 for usage or configuration errors, 130 when interrupted.
 */
import { Command, Option } from 'commander';
import { rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { reportError } from './cli-errors.ts';
import { UsageError } from './errors.ts';
import type { Reporter } from './events.ts';
import { BuildLock } from './lock.ts';
import { createReporter } from './reporters/index.ts';
import { explainTarget, renderGraph, renderList, renderPlan } from './views.ts';
import { dryRunTargets, loadGraph, runTargets } from './run.ts';
import type { CliServices, Plugin, PluginContext } from './types.ts';
import { parseShard, inShard } from './shard.ts';
import { JunitCollector, TeeReporter } from './junit.ts';

export interface CliOptions {
  plugin: Plugin;
  /** Program name shown in help: `npx tsx tasks`. */
  name: string;
  defaultTarget: string;
}

function parseJobs(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) {
    throw new UsageError(
      `expected -j to be a whole number of at least 1, got '${value}'`,
    );
  }
  return n;
}

export async function main(argv: string[], options: CliOptions): Promise<number> {
  const root = resolve(process.env.QVM_ROOT ?? process.cwd());
  const buildDir = join(root, 'build');
  let reporter: Reporter | undefined;
  let exitCode = 0;

  const context = async (o: {
    json?: boolean;
    verbose?: boolean;
  }): Promise<PluginContext> => {
    reporter = createReporter({ json: Boolean(o.json), verbose: Boolean(o.verbose) });
    return { root, buildDir, reporter };
  };
  const services: CliServices = {
    context,
    withLock: async (ctx, noWait, body) => {
      const lock = new BuildLock(ctx.buildDir);
      await lock.acquire(process.argv.slice(2).join(' '), noWait, (h) =>
        ctx.reporter.emit({
          type: 'info',
          message: `waiting for pid ${h.pid} ('${h.command}') to finish...`,
        }),
      );
      try {
        return await body();
      } finally {
        await lock.release();
      }
    },
  };

  const program = new Command(options.name)
    .description('Builds and runs a fleet of QEMU/KVM virtual machines as a task graph.')
    .exitOverride()
    .showHelpAfterError('(run with --help for usage)');
  const json = () => new Option('--json', 'print one JSON event per line');

  program
    .command('run', { isDefault: true })
    .description(
      `run the targets (default: ${options.defaultTarget}) and everything they need`,
    )
    .argument('[targets...]', 'task names, groups (vm-3), patterns (*.install) or all')
    .option('-j, --jobs <n>', 'tasks to run at the same time', parseJobs, 1)
    .option('--force', 'run the named targets even if they are fresh')
    .option('--fail-fast', 'stop everything at the first failure')
    .option('--no-wait', 'fail at once if another run holds the build directory')
    .option('--shard <k/n>', 'build only shard K of N of the fleet (for CI matrices)')
    .option('-v, --verbose', 'print every task output line')
    .option('--junit <file>', 'also write a JUnit XML report of the run to FILE')
    .addOption(json())
    .action(async (targets: string[], o) => {
      const base = await context(o);
      const junit = o.junit ? new JunitCollector() : undefined;
      const ctx = junit
        ? { ...base, reporter: new TeeReporter([base.reporter, junit]) }
        : base;
      const shard = o.shard ? parseShard(o.shard) : undefined;
      const outcome = await runTargets(options.plugin, ctx, {
        targets: targets.length ? targets : [options.defaultTarget],
        jobs: o.jobs,
        force: Boolean(o.force),
        failFast: Boolean(o.failFast),
        noWait: o.wait === false,
        dryRun: false,
        filter: shard ? (def) => inShard(def, shard) : undefined,
      });
      await junit?.write(resolve(o.junit), buildDir);
      exitCode = outcome.exitCode;
    });

  program
    .command('plan')
    .description('dry run: list each task that would run and why')
    .argument('[targets...]', 'targets as for run')
    .option('--force', 'as for run')
    .addOption(json())
    .action(async (targets: string[], o) => {
      const ctx = await context(o);
      const outcome = await dryRunTargets(
        options.plugin,
        ctx,
        targets.length ? targets : [options.defaultTarget],
        Boolean(o.force),
      );
      process.stdout.write(renderPlan(outcome.results, Boolean(o.json)));
    });

  program
    .command('explain')
    .description(
      'say which inputs or dependencies changed since the target last succeeded',
    )
    .argument('<target>', 'one task name')
    .addOption(json())
    .action(async (target: string, o) => {
      const ctx = await context(o);
      process.stdout.write(
        await explainTarget(options.plugin, ctx, target, Boolean(o.json)),
      );
    });

  program
    .command('list')
    .description('list every target, its group and what it depends on')
    .addOption(json())
    .action(async (o) => {
      const ctx = await context(o);
      process.stdout.write(
        renderList(await loadGraph(options.plugin, ctx), Boolean(o.json)),
      );
    });

  program
    .command('graph')
    .description('print the task graph with fresh and stale tasks marked')
    .argument('[targets...]', 'targets to draw (default: all)')
    .addOption(
      new Option('--format <format>', 'output format')
        .choices(['mermaid', 'dot'])
        .default('mermaid'),
    )
    .action(async (targets: string[], o) => {
      const ctx = await context(o);
      process.stdout.write(
        await renderGraph(
          options.plugin,
          ctx,
          targets.length ? targets : ['all'],
          o.format,
        ),
      );
    });

  program
    .command('clean')
    .description(
      'forget every task result (build/.state and build/logs); VM configs and disks stay',
    )
    .option('--no-wait', 'fail at once if another run holds the build directory')
    .action(async (o) => {
      const ctx = await context(o);
      await services.withLock(ctx, o.wait === false, async () => {
        await rm(join(buildDir, '.state'), { recursive: true, force: true });
        await rm(join(buildDir, 'logs'), { recursive: true, force: true });
      });
      process.stdout.write(
        'forgot every task result; the next run checks everything again\n',
      );
    });

  options.plugin.commands?.(program, services);
  for (const cmd of program.commands) cmd.exitOverride();

  try {
    await program.parseAsync(argv, { from: 'user' });
    // Plugin commands report failure through process.exitCode.
    if (exitCode === 0 && typeof process.exitCode === 'number')
      exitCode = process.exitCode;
  } catch (err) {
    exitCode = reportError(err);
  } finally {
    reporter?.close();
  }
  return exitCode;
}
