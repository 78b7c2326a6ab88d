/**
 * Child processes for tasks. Each child gets its own process group so that
 * an interrupted run can kill it together with everything it started, and
 * every live group is tracked so nothing outlives the run by accident.
 */
import { spawn } from 'node:child_process';
import { createWriteStream, existsSync, type WriteStream } from 'node:fs';

export interface ExecOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Written to the child's stdin, then closed. Keeps secrets off the command line. */
  input?: string | Buffer;
  /** Kill the child (SIGTERM, then SIGKILL) after this many milliseconds. */
  timeoutMs?: number;
  /** Called with each line of stdout and stderr. */
  onLine?(line: string): void;
  /** Appends stdout and stderr to this file as well. */
  logFile?: string;
  /** Leave the child running when the run ends (a daemonized VM). */
  detached?: boolean;
}

export interface ExecResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  /** The last lines of output, for error messages. */
  tail: string[];
}

const TAIL_LINES = 30;
const KILL_GRACE_MS = 5000;
const liveGroups = new Set<number>();
const SETPRIV = '/usr/bin/setpriv';
const HAS_SETPRIV = existsSync(SETPRIV);

/** Sends `signal` to every process group still running; used on interrupt. */
export function killAllGroups(signal: NodeJS.Signals = 'SIGTERM'): void {
  for (const pgid of liveGroups) killGroup(pgid, signal);
}

function killGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // Already gone.
  }
}

/** Runs `file args`, resolving when it exits; rejects only if it cannot start. */
export function exec(
  file: string,
  args: string[],
  options: ExecOptions = {},
  signal?: AbortSignal,
): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    const [command, argv] = options.detached ? [file, args] : tiedToUs(file, args);
    const child = spawn(command, argv, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      detached: true,
      stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    const log: WriteStream | undefined = options.logFile
      ? createWriteStream(options.logFile, { flags: 'a', mode: 0o600 })
      : undefined;
    const tail: string[] = [];
    let timedOut = false;
    let killTimer: NodeJS.Timeout | undefined;

    const stop = () => {
      if (child.pid === undefined) return;
      killGroup(child.pid, 'SIGTERM');
      killTimer ??= setTimeout(() => killGroup(child.pid!, 'SIGKILL'), KILL_GRACE_MS);
    };
    const timer = options.timeoutMs
      ? setTimeout(() => {
          timedOut = true;
          stop();
        }, options.timeoutMs)
      : undefined;
    signal?.addEventListener('abort', stop, { once: true });
    if (child.pid !== undefined && !options.detached) liveGroups.add(child.pid);

    const [onData, flush] = lineSplitter((line) => {
      tail.push(line);
      if (tail.length > TAIL_LINES) tail.shift();
      options.onLine?.(line);
    });
    child.stdout!.on('data', (chunk: Buffer) => {
      log?.write(chunk);
      onData(chunk);
    });
    child.stderr!.on('data', (chunk: Buffer) => {
      log?.write(chunk);
      onData(chunk);
    });
    if (options.input !== undefined) child.stdin!.end(options.input);

    child.on('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`cannot start ${file}: ${err.message}`));
    });
    child.on('close', (code, sig) => {
      clearTimeout(timer);
      clearTimeout(killTimer);
      signal?.removeEventListener('abort', stop);
      if (child.pid !== undefined) liveGroups.delete(child.pid);
      flush();
      log?.end();
      resolve({ code, signal: sig, timedOut, tail });
    });
  });
}

/**
 * Wraps a command so the kernel kills it if this process dies without
 * cleaning up (SIGKILL, OOM): `setpriv --pdeathsig KILL` (util-linux) sets
 * PR_SET_PDEATHSIG, which survives exec. A daemonizing child (QEMU
 * -daemonize) forks, and its fork is not affected.
 */
function tiedToUs(file: string, args: string[]): [string, string[]] {
  if (!HAS_SETPRIV) return [file, args];
  return [SETPRIV, ['--pdeathsig', 'KILL', '--', file, ...args]];
}

/** Turns a stream of chunks into whole lines; `flush` emits a last partial line. */
function lineSplitter(
  onLine: (line: string) => void,
): [(chunk: Buffer) => void, () => void] {
  let rest = '';
  const push = (chunk: Buffer) => {
    const parts = (rest + chunk.toString('utf8')).split('\n');
    rest = parts.pop() ?? '';
    for (const part of parts) onLine(part.replace(/\r$/, ''));
  };
  const flush = () => {
    if (rest !== '') onLine(rest);
    rest = '';
  };
  return [push, flush];
}
