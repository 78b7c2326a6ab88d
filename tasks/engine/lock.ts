/**
 * One run per build directory. The lock file names the holder's pid and its
 * start time from /proc, so a lock left by a killed run is recognised as
 * stale at once (a reused pid has a different start time).
 */
import { mkdir, open, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export interface LockHolder {
  pid: number;
  startTime: string;
  command: string;
  since: string;
}

export class LockBusyError extends Error {
  override name = 'LockBusyError';
  constructor(
    readonly holder: LockHolder,
    readonly file: string,
  ) {
    super(
      `another run (pid ${holder.pid}, '${holder.command}', since ${holder.since}) ` +
        `holds ${file}; wait for it to finish, or run again without --no-wait to queue behind it`,
    );
  }
}

/** The kernel's start time of a process (field 22 of /proc/PID/stat), or undefined if it is gone. */
export async function processStartTime(pid: number): Promise<string | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may contain spaces; fields after it follow the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19];
  } catch {
    return undefined;
  }
}

export class BuildLock {
  readonly file: string;
  private held = false;

  constructor(buildDir: string) {
    this.file = join(buildDir, '.lock');
  }

  /**
   * Takes the lock. When another live run holds it: throws LockBusyError if
   * `noWait`, else calls `onWait` once and polls until it is free.
   */
  async acquire(
    command: string,
    noWait: boolean,
    onWait: (h: LockHolder) => void,
  ): Promise<void> {
    await mkdir(join(this.file, '..'), { recursive: true });
    let announced = false;
    for (;;) {
      if (await this.tryCreate(command)) return;
      const holder = await this.readHolder();
      if (!holder || (await processStartTime(holder.pid)) !== holder.startTime) {
        // Left by a run that died: nobody holds it.
        await rm(this.file, { force: true });
        continue;
      }
      if (noWait) throw new LockBusyError(holder, this.file);
      if (!announced) onWait(holder);
      announced = true;
      await sleep(250);
    }
  }

  private async tryCreate(command: string): Promise<boolean> {
    const holder: LockHolder = {
      pid: process.pid,
      startTime: (await processStartTime(process.pid)) ?? '',
      command,
      since: new Date().toISOString(),
    };
    try {
      const handle = await open(this.file, 'wx', 0o644);
      await handle.writeFile(JSON.stringify(holder));
      await handle.close();
      this.held = true;
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw err;
    }
  }

  private async readHolder(): Promise<LockHolder | undefined> {
    try {
      return JSON.parse(await readFile(this.file, 'utf8')) as LockHolder;
    } catch {
      // Being written right now, or garbage: treat garbage as stale only if it stays so.
      await sleep(50);
      try {
        return JSON.parse(await readFile(this.file, 'utf8')) as LockHolder;
      } catch {
        return undefined;
      }
    }
  }

  async release(): Promise<void> {
    if (!this.held) return;
    this.held = false;
    await rm(this.file, { force: true });
  }
}
