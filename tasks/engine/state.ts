/**
 * What the engine remembers about each task's last success, one file per
 * task under build/.state/tasks/. The file is removed before a task runs and
 * written only after it succeeds, so a crash leaves the task stale.
 */
import { readFileSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Components } from './fingerprint.ts';
import { writeFileAtomic } from './fs-util.ts';
import type { TaskRecord } from './types.ts';

export interface TaskState {
  fingerprint: string;
  components: Components;
  record?: TaskRecord;
  finishedAt: string;
  durationMs: number;
}

export type StateRead =
  | { kind: 'found'; state: TaskState }
  | { kind: 'missing' }
  | { kind: 'corrupt'; reason: string };

export class StateStore {
  readonly dir: string;
  private made = false;

  constructor(buildDir: string) {
    this.dir = join(buildDir, '.state', 'tasks');
  }

  private file(task: string): string {
    return join(this.dir, `${task}.json`);
  }

  async read(task: string): Promise<StateRead> {
    let text: string;
    try {
      // Sync on purpose: thousands of small reads are several times faster than via the thread pool.
      text = readFileSync(this.file(task), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'missing' };
      return { kind: 'corrupt', reason: (err as Error).message };
    }
    try {
      const state = JSON.parse(text) as TaskState;
      if (typeof state.fingerprint !== 'string' || typeof state.components !== 'object') {
        return { kind: 'corrupt', reason: 'fields missing' };
      }
      return { kind: 'found', state };
    } catch (err) {
      return { kind: 'corrupt', reason: (err as Error).message };
    }
  }

  /** Written 0600: records may name runtime paths that only the owner should read. */
  async write(task: string, state: TaskState): Promise<void> {
    if (!this.made) await mkdir(this.dir, { recursive: true });
    this.made = true;
    await writeFileAtomic(this.file(task), JSON.stringify(state), 0o600, false);
  }

  async forget(task: string): Promise<void> {
    await rm(this.file(task), { force: true });
  }
}
