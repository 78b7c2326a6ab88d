/**
 * File-level cgroup work shared by the v1 and v2 mechanisms: find the
 * mounts, read and write control files, see which cgroup a process is in,
 * and tear a VM's cgroup down again.
 */
import { readFile, rmdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { capFleetGroup } from './types.ts';

interface Mount {
  dir: string;
  type: string;
  options: string[];
}

async function mounts(): Promise<Mount[]> {
  const text = await readFile('/proc/mounts', 'utf8');
  return text
    .split('\n')
    .map((line) => line.split(' '))
    .filter((f) => f.length >= 4)
    .map((f) => ({ dir: unescapeMount(f[1]!), type: f[2]!, options: f[3]!.split(',') }));
}

// /proc/mounts writes a space in a path as \040.
function unescapeMount(path: string): string {
  return path.replace(/\\([0-7]{3})/g, (_, oct: string) =>
    String.fromCharCode(parseInt(oct, 8)),
  );
}

/** Mount point of the cgroup v1 hierarchy that has the cpu controller, if any. */
export async function v1CpuMount(): Promise<string | undefined> {
  const found = (await mounts()).find(
    (m) => m.type === 'cgroup' && m.options.includes('cpu'),
  );
  return found?.dir;
}

/** Mount point of the cgroup v2 hierarchy (/sys/fs/cgroup, or .../unified on hybrid hosts). */
export async function v2Mount(): Promise<string | undefined> {
  return (await mounts()).find((m) => m.type === 'cgroup2')?.dir;
}

/** A control file's content, trimmed; undefined if it cannot be read. */
export async function readControl(
  dir: string,
  file: string,
): Promise<string | undefined> {
  try {
    return (await readFile(join(dir, file), 'utf8')).trim();
  } catch {
    return undefined;
  }
}

/** Writes one value to a control file; the error names the file and the value. */
export async function writeControl(
  dir: string,
  file: string,
  value: string,
): Promise<void> {
  try {
    await writeFile(join(dir, file), value);
  } catch (err) {
    const cause = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw new Error(`cannot write '${value}' to ${join(dir, file)} (${cause})`);
  }
}

/** Pids listed in a cgroup's `cgroup.procs` (or `tasks` for thread ids in v1). */
export async function listIds(dir: string, file = 'cgroup.procs'): Promise<number[]> {
  const text = await readControl(dir, file);
  return text ? text.split('\n').filter(Boolean).map(Number) : [];
}

/**
 * The cgroup path of `pid` in one hierarchy, from /proc/PID/cgroup:
 * `hierarchy` is `cpu` for the v1 cpu controller, `` for the v2 hierarchy.
 */
export async function cgroupOf(
  pid: number,
  hierarchy: 'cpu' | '',
): Promise<string | undefined> {
  let text: string;
  try {
    text = await readFile(`/proc/${pid}/cgroup`, 'utf8');
  } catch {
    return undefined;
  }
  for (const line of text.split('\n')) {
    const [id, controllers, path] = line.split(':');
    if (path === undefined) continue;
    if (hierarchy === '' && id === '0' && controllers === '') return path;
    if (hierarchy === 'cpu' && controllers!.split(',').includes('cpu')) return path;
  }
  return undefined;
}

/**
 * Moves any process still in the VM's cgroup to the hierarchy's root, then
 * removes the VM's cgroup and, when they are empty, the fleet's and the
 * tool's parent cgroups. A cgroup that does not exist is fine.
 */
export async function removeGroup(
  mount: string,
  buildDir: string,
  vmId: number,
): Promise<void> {
  const fleet = join(mount, capFleetGroup(buildDir));
  const dir = join(fleet, `vm-${vmId}`);
  for (const pid of await listIds(dir)) {
    await writeControl(mount, 'cgroup.procs', String(pid)).catch(() => undefined);
  }

  for (const path of [dir, fleet, dirname(fleet)]) {
    try {
      await rmdir(path);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') continue;
      // Another VM of the fleet (or another fleet) still uses the parent.
      if (path !== dir && (code === 'EBUSY' || code === 'ENOTEMPTY')) return;
      throw new Error(
        `cannot remove cgroup ${path} (${code}): a process may still be in it; stop it, then run destroy again`,
      );
    }
  }
}
