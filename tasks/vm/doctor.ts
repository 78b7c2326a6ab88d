/**
 * `doctor`: checks this host against the fleet and says how to fix each
 * problem: programs, KVM, the ISO and its installer, VPN profiles, disk and
 * memory, host ports, and which CPU models run here with every feature.
 */
import { statfs } from 'node:fs/promises';
import { exists } from '../engine/fs-util.ts';
import { freemem, totalmem } from 'node:os';
import { join } from 'node:path';
import type { Accel, VmConfig } from './config-types.ts';
import { queryCpuModels } from './cpu-models.ts';
import { inspectIso } from './iso-inspect.ts';
import { kvmUsable, resolveAccel } from './accel.ts';
import { checkPortsFree, describeConflict } from './ports.ts';
import { APT_PACKAGES, missingPrograms } from './programs.ts';

export type CheckLevel = 'ok' | 'warn' | 'fail';

export interface Check {
  name: string;
  level: CheckLevel;
  message: string;
  fix?: string;
}

export async function runDoctor(
  root: string,
  configs: VmConfig[],
  fleetAccel: Accel,
  ownPorts: Set<number>,
): Promise<Check[]> {
  const checks: Check[] = [];
  const missing = await missingPrograms(Object.keys(APT_PACKAGES));
  for (const program of Object.keys(APT_PACKAGES)) {
    const m = missing.find((x) => x.program === program);
    checks.push(
      m
        ? { name: program, level: 'fail', message: 'not installed', fix: m.fix }
        : { name: program, level: 'ok', message: 'installed' },
    );
  }

  const kvm = await kvmUsable();
  const accel = await resolveAccel(fleetAccel);
  checks.push(
    kvm && accel === 'tcg'
      ? {
          name: 'kvm',
          level: 'ok',
          message:
            '/dev/kvm is usable, but TCG is forced (QVM_ACCEL or accel in fleet.yaml)',
        }
      : kvm
        ? { name: 'kvm', level: 'ok', message: '/dev/kvm is usable; VMs run with KVM' }
        : {
            name: 'kvm',
            level: 'warn',
            message:
              '/dev/kvm is missing or not writable; VMs will run under TCG, many times slower',
            fix: 'enable virtualisation in the firmware, load kvm_intel or kvm_amd, and add your user to the kvm group',
          },
  );

  checks.push(await checkIso(root, configs[0]!.iso_path));
  for (const c of configs) {
    if (!(await exists(join(root, c.openvpn_config_file)))) {
      checks.push({
        name: `${c.vm_name} vpn`,
        level: 'fail',
        message: `${c.openvpn_config_file} is missing`,
        fix: `put ${c.vm_name}'s OpenVPN profile at ${c.openvpn_config_file}`,
      });
    }
  }
  checks.push(...(await checkResources(root, configs)));
  checks.push(...(await checkPorts(configs, ownPorts)));
  if (!missing.some((m) => m.program === 'qemu-system-x86_64')) {
    checks.push(...(await checkCpuModels(configs, accel)));
  }
  return checks;
}

async function checkIso(root: string, isoPath: string): Promise<Check> {
  const iso = join(root, isoPath);
  if (!(await exists(iso))) {
    return {
      name: 'iso',
      level: 'fail',
      message: `${isoPath} does not exist`,
      fix: `copy your Ubuntu Desktop ISO to ${isoPath} or set iso_path in fleet.yaml`,
    };
  }
  try {
    const facts = await inspectIso(iso);
    if ('error' in facts)
      return { name: 'iso', level: 'fail', message: `${isoPath}: ${facts.error}` };
    if (!facts.flavour) {
      return {
        name: 'iso',
        level: 'warn',
        message: `${isoPath} holds '${facts.release}', an unknown installer`,
        fix: 'set installer_flavour in fleet.yaml',
      };
    }
    return {
      name: 'iso',
      level: 'ok',
      message: `${isoPath}: ${facts.release}; installer ${facts.flavour}`,
    };
  } catch (err) {
    return {
      name: 'iso',
      level: 'fail',
      message: `cannot read ${isoPath}: ${(err as Error).message.split('\n')[0]}`,
    };
  }
}

async function checkResources(root: string, configs: VmConfig[]): Promise<Check[]> {
  const diskNeed = configs.reduce((sum, c) => sum + c.disk_size_gb, 0);
  const fs = await statfs(root);
  const diskFree = (fs.bavail * fs.bsize) / 1e9;
  const ramNeed = configs.reduce((sum, c) => sum + c.ram_size_mb, 0);
  const ramFree = freemem() / 2 ** 20;
  return [
    {
      name: 'disk',
      level: diskFree >= diskNeed ? 'ok' : 'warn',
      message: `${diskFree.toFixed(0)} GB free; the fleet's disks may grow to ${diskNeed} GB`,
      fix:
        diskFree >= diskNeed
          ? undefined
          : 'free disk space, or lower disk_size_gb or count in fleet.yaml',
    },
    {
      name: 'memory',
      level: ramFree >= ramNeed ? 'ok' : 'warn',
      message: `${ramFree.toFixed(0)} MB free of ${(totalmem() / 2 ** 20).toFixed(0)} MB; the fleet needs ${ramNeed} MB when all VMs run`,
      fix:
        ramFree >= ramNeed
          ? undefined
          : 'run fewer VMs at once, or lower ram_size_mb in fleet.yaml',
    },
  ];
}

/** Tries to listen on each port; ports held by the fleet's own running VMs are fine. */
async function checkPorts(configs: VmConfig[], ownPorts: Set<number>): Promise<Check[]> {
  const checks: Check[] = [];
  for (const c of configs) {
    const ports = [c.vnc_port_host, c.vnc_port_console].filter((p) => !ownPorts.has(p));
    for (const conflict of await checkPortsFree(ports, c.listen_address)) {
      checks.push({
        name: `port ${conflict.port}`,
        level: 'fail',
        message: `${c.vm_name}: ${describeConflict(conflict)}`,
        fix: `stop that program, or give ${c.vm_name} another port in fleet.yaml`,
      });
    }
  }
  if (checks.length === 0)
    checks.push({
      name: 'ports',
      level: 'ok',
      message: 'every VM port is free or held by its own VM',
    });
  return checks;
}

async function checkCpuModels(
  configs: VmConfig[],
  accel: 'kvm' | 'tcg',
): Promise<Check[]> {
  const models = await queryCpuModels(accel);
  const wanted = [...new Set(configs.map((c) => c.cpu_model))];
  return wanted.map((name): Check => {
    const info = models.get(name);
    if (!info)
      return {
        name: `cpu ${name}`,
        level: 'fail',
        message: 'QEMU does not know this model',
        fix: "pick one from 'qemu-system-x86_64 -cpu help'",
      };
    if (info.unavailable.length === 0)
      return {
        name: `cpu ${name}`,
        level: 'ok',
        message: `runs with all features under ${accel}`,
      };
    return {
      name: `cpu ${name}`,
      level: 'warn',
      message: `under ${accel} it lacks ${info.unavailable.length} feature(s): ${info.unavailable.slice(0, 6).join(', ')}${info.unavailable.length > 6 ? ', ...' : ''}`,
      fix:
        accel === 'tcg'
          ? 'expected under TCG; with KVM on a newer host it may run complete'
          : 'choose an older model for this host',
    };
  });
}

/** The table doctor prints; returns whether any check failed. */
export function renderChecks(checks: Check[]): string {
  const mark = { ok: 'ok  ', warn: 'warn', fail: 'FAIL' };
  const width = Math.max(...checks.map((c) => c.name.length));
  return (
    checks
      .map(
        (c) =>
          `${mark[c.level]}  ${c.name.padEnd(width)}  ${c.message}${c.fix ? `\n      ${' '.repeat(width)}  fix: ${c.fix}` : ''}`,
      )
      .join('\n') + '\n'
  );
}
