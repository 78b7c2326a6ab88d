/**
 * Reads what the kernel says about a process under /proc: alive or not, its
 * argv, its threads, its CPU time. The cap mechanisms, the VM process checks
 * and `status` all ask these questions.
 */
import { readdir, readFile } from 'node:fs/promises';

/**
 * Clock ticks per second in /proc/PID/stat (USER_HZ). It is 100 on every
 * Linux ABI Node runs on; `getconf CLK_TCK` says so, and Node has no sysconf.
 */
export const CLOCK_TICKS = 100;

/** Fields of /proc/PID/stat after the command name, so field N is at index N - 3. */
async function statFields(pid: number): Promise<string[] | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: cut at the last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/**
 * True while `pid` exists and has not exited. A zombie counts as gone: a
 * daemonized QEMU's parent is PID 1, which may be slow to reap it (or, in
 * some containers, never does).
 */
export async function isAlive(pid: number): Promise<boolean> {
  const state = (await statFields(pid))?.[0];
  if (state === undefined || state === 'X') return false;
  if (state !== 'Z') return true;
  // A killed multi-threaded process shows its main thread as a zombie while
  // the other threads still exit, holding its files and sockets: not gone yet.
  return (await threadIds(pid)).length > 1;
}

/** The process's argv, or undefined once it is gone. */
export async function readCmdline(pid: number): Promise<string[] | undefined> {
  try {
    const raw = await readFile(`/proc/${pid}/cmdline`, 'utf8');
    return raw.split('\0').slice(0, -1);
  } catch {
    return undefined;
  }
}

/** The short command name (comm), as `ps` shows it. */
export async function readComm(pid: number): Promise<string | undefined> {
  try {
    return (await readFile(`/proc/${pid}/comm`, 'utf8')).trim();
  } catch {
    return undefined;
  }
}

/** Thread ids of the process (QEMU runs one per vCPU plus I/O and VNC workers). */
export async function threadIds(pid: number): Promise<number[]> {
  try {
    return (await readdir(`/proc/${pid}/task`)).map(Number).sort((a, b) => a - b);
  } catch {
    return [];
  }
}

/** utime + stime of the whole process in clock ticks, or undefined once it is gone. */
export async function cpuTicks(pid: number): Promise<number | undefined> {
  const fields = await statFields(pid);
  if (!fields) return undefined;
  return Number(fields[11]) + Number(fields[12]); // fields 14 and 15
}

/** Seconds since the process started, from its start time and /proc/uptime. */
export async function processUptime(pid: number): Promise<number | undefined> {
  const fields = await statFields(pid);
  if (!fields) return undefined;
  const started = Number(fields[19]) / CLOCK_TICKS; // field 22
  const uptime = Number((await readFile('/proc/uptime', 'utf8')).split(' ')[0]);
  return Math.max(0, uptime - started);
}

/** Numeric entries of /proc: every process id. */
export async function allPids(): Promise<number[]> {
  return (await readdir('/proc')).filter((name) => /^\d+$/.test(name)).map(Number);
}

/**
 * CPU use of `pid` over `ms` milliseconds, in percent of one core: 100 means
 * one core fully busy. Undefined if the process ends meanwhile.
 */
export async function measureCpu(pid: number, ms: number): Promise<number | undefined> {
  const before = await cpuTicks(pid);
  const start = process.hrtime.bigint();
  await new Promise((resolve) => setTimeout(resolve, ms));
  const after = await cpuTicks(pid);
  if (before === undefined || after === undefined) return undefined;

  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  return ((after - before) / CLOCK_TICKS / seconds) * 100;
}
