/**
 * The plugin's own commands: doctor, status, stop and destroy.
 */
import { Option, type Command } from 'commander';
import { createInterface } from 'node:readline/promises';
import { UsageError } from '../engine/errors.ts';
import type { CliServices, PluginContext } from '../engine/types.ts';
import type { VmConfig } from './config-types.ts';
import { renderChecks, runDoctor } from './doctor.ts';
import { destroyVms, STOP_TIMEOUT_MS, stopVms } from './lifecycle.ts';
import { readStoredConfigs } from './fleet-store.ts';
import { loadConfigs } from './plugin.ts';
import { collectStatus, renderStatusTable, statusJson } from './status.ts';

/**
 * The configs named on the command line (the whole fleet when none). A VM
 * left beyond `count` after lowering it can still be named: its stored
 * config in build/vm_configs is used, so it can be stopped or destroyed.
 */
async function pick(ctx: PluginContext, names: string[]): Promise<VmConfig[]> {
  const { configs } = await loadConfigs(ctx);
  if (names.length === 0) return configs;
  const stored = (await readStoredConfigs(ctx.buildDir)).configs;
  return names.map((name) => {
    const config =
      configs.find((c) => c.vm_name === name) ?? storedConfig(stored.get(name));
    if (!config) {
      throw new UsageError(
        `unknown VM '${name}'; the fleet has ${configs[0]!.vm_name} ... ${configs.at(-1)!.vm_name}, and build/vm_configs has no ${name}.json`,
      );
    }
    return config;
  });
}

/** A stored config complete enough to stop and destroy its VM. */
function storedConfig(config: Partial<VmConfig> | undefined): VmConfig | undefined {
  if (!config || typeof config.vm_id !== 'number' || typeof config.vm_name !== 'string')
    return undefined;
  return config as VmConfig;
}

function parseSeconds(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0)
    throw new UsageError(`expected --timeout to be seconds (0 or more), got '${value}'`);
  return n;
}

export function registerCommands(program: Command, cli: CliServices): void {
  program
    .command('doctor')
    .description(
      'check this host for the fleet: programs, KVM, ISO, VPN profiles, disk, memory, ports, CPU models',
    )
    .addOption(new Option('--json', 'print the checks as JSON'))
    .action(async (o) => {
      const ctx = await cli.context({});
      const { configs, fleet } = await loadConfigs(ctx);
      // Ports held by the fleet's own running VMs are not conflicts.
      const status = await collectStatus(configs, ctx.buildDir, 0);
      const running = new Set(
        status.filter((s) => s.state === 'running').map((s) => s.vm),
      );
      const own = new Set(
        configs
          .filter((c) => running.has(c.vm_name))
          .flatMap((c) => [c.vnc_port_host, c.vnc_port_console]),
      );
      const checks = await runDoctor(ctx.root, configs, fleet.settings.accel, own);
      process.stdout.write(
        o.json ? JSON.stringify(checks, null, 2) + '\n' : renderChecks(checks),
      );
      if (checks.some((c) => c.level === 'fail')) process.exitCode = 1;
    });

  program
    .command('status')
    .description(
      'show each VM: state, pid, uptime, CPU use, cap, VNC ports and whether they answer',
    )
    .argument('[vms...]', 'VM names (default: all)')
    .addOption(new Option('--json', 'print JSON'))
    .action(async (names: string[], o) => {
      const ctx = await cli.context({});
      const rows = await collectStatus(await pick(ctx, names), ctx.buildDir);
      process.stdout.write(o.json ? statusJson(rows) : renderStatusTable(rows));
    });

  program
    .command('stop')
    .description('stop VMs: ACPI power-down, a bounded wait, then forced')
    .argument('[vms...]', 'VM names (default: all)')
    .option(
      '--timeout <seconds>',
      'how long each guest gets to power off',
      parseSeconds,
      STOP_TIMEOUT_MS / 1000,
    )
    .option('--no-wait', 'fail at once if a run holds the build directory')
    .action(async (names: string[], o) => {
      const ctx = await cli.context({});
      const configs = await pick(ctx, names);
      const results = await cli.withLock(ctx, o.wait === false, () =>
        stopVms(configs, ctx.buildDir, o.timeout * 1000),
      );
      for (const r of results) {
        process.stdout.write(
          r.how === 'not-running'
            ? `${r.vm}: not running\n`
            : `${r.vm}: stopped (pid ${r.pid}, ${r.how})\n`,
        );
      }
    });

  program
    .command('destroy')
    .description(
      'stop VMs, then remove their disks, runtime files and task state (configs and identities stay)',
    )
    .argument('[vms...]', 'VM names (default: all)')
    .option('--yes', 'do not ask for confirmation')
    .option('--no-wait', 'fail at once if a run holds the build directory')
    .action(async (names: string[], o) => {
      const ctx = await cli.context({});
      const configs = await pick(ctx, names);
      const list = configs.map((c) => c.vm_name).join(', ');
      if (!o.yes) {
        if (!process.stdin.isTTY)
          throw new UsageError(
            `destroy removes the disks of ${list}; add --yes to confirm`,
          );
        const rl = createInterface({ input: process.stdin, output: process.stdout });
        const answer = await rl.question(`Destroy ${list} (disks are deleted)? [y/N] `);
        rl.close();
        if (!/^y(es)?$/i.test(answer.trim())) return;
      }
      const results = await cli.withLock(ctx, o.wait === false, () =>
        destroyVms(configs, ctx.buildDir),
      );
      for (const r of results) process.stdout.write(`${r.vm}: destroyed\n`);
    });
}
