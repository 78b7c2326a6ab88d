/**
 * The cgroup v2 mechanism: `cpu.max` on the VM's cgroup in the unified
 * hierarchy. Usable only where the v2 root offers the cpu controller; on
 * hybrid hosts that controller is bound to v1 and this reports unavailable.
 */
import { access, constants, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import {
  cgroupOf,
  listIds,
  readControl,
  removeGroup,
  v2Mount,
  writeControl,
} from './cgroup-fs.ts';
import {
  CFS_PERIOD_US,
  capGroup,
  quotaFor,
  type CapBackend,
  type CapReading,
} from './types.ts';

/** The cgroup v2 mechanism. */
export const cgroupV2: CapBackend = {
  kind: 'cgroup-v2',

  async unavailable() {
    const mount = await v2Mount();
    if (!mount) return 'no cgroup v2 hierarchy is mounted (see /proc/mounts)';
    const controllers = (await readControl(mount, 'cgroup.controllers')) ?? '';
    if (!controllers.split(' ').includes('cpu')) {
      return `the cgroup v2 hierarchy at ${mount} has no cpu controller (on hybrid hosts it is bound to cgroup v1)`;
    }
    try {
      await access(mount, constants.W_OK);
    } catch {
      return `${mount} is not writable: run as root`;
    }
    return undefined;
  },

  async apply(target, log) {
    const mount = await v2Mount();
    if (!mount) throw new Error('no cgroup v2 hierarchy is mounted');
    const rel = capGroup(target.buildDir, target.vmId);
    const group = join(mount, rel);
    const value = `${quotaFor(target.percent)} ${CFS_PERIOD_US}`;

    // A child has the cpu controller only if every ancestor enables it for
    // its children; the parents hold no processes themselves (v2's rule).
    let dir = mount;
    for (const part of rel.split('/')) {
      await enableCpu(dir);
      dir = join(dir, part);
      await mkdir(dir, { recursive: true });
    }
    await writeControl(group, 'cpu.max', value);
    await writeControl(group, 'cgroup.procs', String(target.pid));

    const procs = await listIds(group);
    log(
      `cgroup-v2: ${group}: cpu.max=${(await readControl(group, 'cpu.max')) ?? 'unreadable'}; ` +
        `QEMU pid ${target.pid} ${procs.includes(target.pid) ? 'is' : 'is NOT'} in cgroup.procs`,
    );
    return {
      mechanism: 'cgroup-v2',
      pid: target.pid,
      percent: target.percent,
      value,
      group,
    };
  },

  async check(target, record) {
    const mount = await v2Mount();
    if (!mount)
      return { fresh: false, reason: 'the cgroup v2 hierarchy is no longer mounted' };
    const rel = '/' + capGroup(target.buildDir, target.vmId);
    if ((await cgroupOf(target.pid, '')) !== rel) {
      return {
        fresh: false,
        reason: `QEMU (pid ${target.pid}) is not in cgroup ${mount}${rel}`,
      };
    }
    const expected = `${quotaFor(target.percent)} ${CFS_PERIOD_US}`;
    const found = await readControl(join(mount, rel), 'cpu.max');
    if (found !== expected || record.percent !== target.percent) {
      return {
        fresh: false,
        reason: `${mount}${rel}/cpu.max reads '${found}', expected '${expected}'`,
      };
    }
    return { fresh: true };
  },

  async read(pid) {
    const mount = await v2Mount();
    const rel = await cgroupOf(pid, '');
    if (!mount || rel === undefined) return undefined;
    return readMax(join(mount, rel));
  },

  async remove(vmId, buildDir) {
    const mount = await v2Mount();
    if (mount) await removeGroup(mount, buildDir, vmId);
  },
};

async function enableCpu(dir: string): Promise<void> {
  const enabled = (await readControl(dir, 'cgroup.subtree_control')) ?? '';
  if (!enabled.split(' ').includes('cpu'))
    await writeControl(dir, 'cgroup.subtree_control', '+cpu');
}

/** The group's cpu.max, or undefined when it is unlimited (`max ...`) or absent. */
async function readMax(group: string): Promise<CapReading | undefined> {
  const max = await readControl(group, 'cpu.max');
  const [quota, period] = (max ?? '').split(' ').map(Number);
  if (!quota || !period) return undefined;
  return {
    mechanism: 'cgroup-v2',
    percent: Math.round((quota / period) * 1000) / 10,
    value: `cpu.max=${max}`,
    where: group,
  };
}
