/**
 * The plugin's own commands: doctor, status, stop and destroy.
 */
import { Option, type Command } from 'commander';
import type { CliServices } from '../engine/types.ts';
import { renderChecks, runDoctor } from './doctor.ts';
import { loadConfigs } from './plugin.ts';

export function registerCommands(program: Command, cli: CliServices): void {
  program
    .command('doctor')
    .description('check this host for the fleet: programs, KVM, ISO, VPN profiles, disk, memory, ports, CPU models')
    .addOption(new Option('--json', 'print the checks as JSON'))
    .action(async (o) => {
      const ctx = await cli.context(o);
      const { configs, fleet } = await loadConfigs(ctx);
      const checks = await runDoctor(ctx.root, configs, fleet.settings.accel, new Set());
      process.stdout.write(o.json ? JSON.stringify(checks, null, 2) + '\n' : renderChecks(checks));
      if (checks.some((c) => c.level === 'fail')) process.exitCode = 1;
    });
}
