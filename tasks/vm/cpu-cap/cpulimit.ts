/**
 * The cpulimit mechanism, for hosts without a usable cgroup cpu controller:
 * a detached `cpulimit -p PID -l PERCENT -z` helper that stops and continues
 * QEMU (VNC and QMP freeze during stops, and it overshoots; INSTALLERS.md).
 * `-z` makes the helper exit when QEMU does; `stopVm` still ends it first.
 */
import { spawn } from 'node:child_process';
import {
  access,
  constants,
  mkdir,
  open,
  readFile,
  rm,
  writeFile,
} from 'node:fs/promises';
import { delimiter, dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { vmRunPaths } from '../boot-args.ts';
import { allPids, isAlive, readCmdline } from './procfs.ts';
import type { CapBackend, CapReading } from './types.ts';

/** The cpulimit mechanism. */
export const cpulimit: CapBackend = {
  kind: 'cpulimit',

  async unavailable() {
    return (await findProgram('cpulimit'))
      ? undefined
      : 'cpulimit is not installed (apt-get install cpulimit)';
  },

  async apply(target, log) {
    await stopHelper(target.vmId, target.buildDir, target.pid);
    const paths = vmRunPaths(join(target.buildDir, 'run'), target.vmId);
    const logFile = join(dirname(paths.consoleLog), `vm-${target.vmId}.cpulimit.log`);
    await mkdir(dirname(logFile), { recursive: true });
    await mkdir(dirname(paths.helperPidfile), { recursive: true });

    // Not ctx.exec: that resolves only when the child exits and gives no pid.
    // Its own process group, so a Ctrl-C of the run does not end it.
    const out = await open(logFile, 'a', 0o600);
    const args = ['-p', String(target.pid), '-l', String(target.percent), '-z'];
    const child = spawn('cpulimit', args, {
      detached: true,
      stdio: ['ignore', out.fd, out.fd],
    });
    child.unref();
    await out.close();
    if (child.pid === undefined)
      throw new Error('cpulimit did not start: is it on PATH?');
    await writeFile(paths.helperPidfile, `${child.pid}\n`);

    await sleep(300);
    const reading = await readHelper(child.pid, target.pid);
    if (!reading) {
      const tail = (await readFile(logFile, 'utf8').catch(() => ''))
        .trim()
        .split('\n')
        .slice(-3);
      throw new Error(`cpulimit (pid ${child.pid}) exited at once: ${tail.join(' / ')}`);
    }
    log(
      `cpulimit: helper pid ${child.pid} runs '${reading.value}' on QEMU pid ${target.pid}`,
    );
    return {
      mechanism: 'cpulimit',
      pid: target.pid,
      percent: target.percent,
      value: `-l ${target.percent}`,
      helperPid: child.pid,
    };
  },

  async check(target, record) {
    const helper = record.helperPid;
    const reading =
      helper === undefined ? undefined : await readHelper(helper, target.pid);
    if (!reading) {
      return {
        fresh: false,
        reason: `its cpulimit helper (pid ${helper}) no longer caps QEMU pid ${target.pid}`,
      };
    }
    if (reading.percent !== target.percent) {
      return {
        fresh: false,
        reason: `cpulimit runs '${reading.value}', expected -l ${target.percent}`,
      };
    }
    return { fresh: true };
  },

  async read(pid) {
    for (const candidate of await allPids()) {
      const reading = await readHelper(candidate, pid);
      if (reading) return reading;
    }
    return undefined;
  },

  async remove(vmId, buildDir, pid) {
    await stopHelper(vmId, buildDir, pid);
  },
};

/**
 * Ends the VM's cpulimit helper (named by its pidfile, and any other cpulimit
 * aimed at `pid`). SIGTERM lets cpulimit continue QEMU before it exits; after
 * a SIGKILL QEMU may be left stopped, so it is sent SIGCONT either way.
 */
export async function stopHelper(
  vmId: number,
  buildDir: string,
  pid?: number,
): Promise<void> {
  const pidfile = vmRunPaths(join(buildDir, 'run'), vmId).helperPidfile;
  const recorded = Number((await readFile(pidfile, 'utf8').catch(() => '')).trim());
  const helpers = new Set<number>();
  if (recorded > 0 && (await isCpulimit(recorded))) helpers.add(recorded);
  if (pid !== undefined) {
    for (const candidate of await allPids()) {
      if (await readHelper(candidate, pid)) helpers.add(candidate);
    }
  }

  for (const helper of helpers) signal(helper, 'SIGTERM');
  for (const helper of helpers) {
    for (let i = 0; i < 20 && (await isAlive(helper)); i++) await sleep(100);
    if (await isAlive(helper)) signal(helper, 'SIGKILL');
  }
  if (pid !== undefined && helpers.size > 0) signal(pid, 'SIGCONT');
  await rm(pidfile, { force: true });
}

/** What `helper` does to `pid`, if it is a live cpulimit aimed at it. */
async function readHelper(helper: number, pid: number): Promise<CapReading | undefined> {
  if (!(await isCpulimit(helper))) return undefined;
  const argv = (await readCmdline(helper)) ?? [];
  if (option(argv, '-p', '--pid') !== String(pid)) return undefined;
  const limit = Number(option(argv, '-l', '--limit'));
  return {
    mechanism: 'cpulimit',
    percent: limit,
    value: `cpulimit -l ${limit}`,
    where: `pid ${helper}`,
  };
}

async function isCpulimit(pid: number): Promise<boolean> {
  const argv0 = (await readCmdline(pid))?.[0] ?? '';
  return argv0.split('/').at(-1) === 'cpulimit' && (await isAlive(pid));
}

/** The value of `-p N`, `-pN` or `--pid=N` in an argv. */
function option(argv: string[], short: string, long: string): string | undefined {
  for (const [i, arg] of argv.entries()) {
    if (arg === short || arg === long) return argv[i + 1];
    if (arg.startsWith(`${long}=`)) return arg.slice(long.length + 1);
    if (arg.startsWith(short) && arg.length > short.length)
      return arg.slice(short.length);
  }
  return undefined;
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // Already gone.
  }
}

async function findProgram(name: string): Promise<string | undefined> {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const file = join(dir, name);
    if (
      await access(file, constants.X_OK).then(
        () => true,
        () => false,
      )
    )
      return file;
  }
  return undefined;
}
