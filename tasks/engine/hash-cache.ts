/**
 * Content hashes of input files, remembered across runs. A file is re-hashed
 * only when its size, mtime or inode changed, so a 6 GB ISO is read once and
 * a no-op run of a large graph costs one stat per file.
 */
import { hashFile, hashSync } from 'hasha';
import { readFileSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from './fs-util.ts';

/** size, mtimeMs, inode, sha256 */
type Entry = [number, number, number, string];

const SMALL_FILE = 1 << 20;

/** The hash recorded for a file that does not exist. */
export const ABSENT = 'absent';

export class HashCache {
  private entries = new Map<string, Entry>();
  private dirty = false;
  private readonly file: string;

  constructor(stateDir: string) {
    this.file = join(stateDir, 'hash-cache.json');
  }

  /** Loads the cache; a missing or corrupt cache just means hashing again. */
  async load(): Promise<void> {
    try {
      const data = JSON.parse(await readFile(this.file, 'utf8')) as Record<string, Entry>;
      this.entries = new Map(Object.entries(data));
    } catch {
      this.entries = new Map();
    }
  }

  async save(): Promise<void> {
    if (!this.dirty) return;
    await writeFileAtomic(
      this.file,
      JSON.stringify(Object.fromEntries(this.entries)),
      0o644,
      false,
    );
    this.dirty = false;
  }

  /** sha256 of the file's content, or ABSENT when it does not exist. */
  async hash(path: string): Promise<string> {
    // Sync on purpose: a no-op run is mostly stats, and sync stats skip the thread pool.
    const info = statSync(path, { throwIfNoEntry: false });
    if (!info) return ABSENT;
    if (info.isDirectory()) return 'directory';

    const known = this.entries.get(path);
    if (
      known &&
      known[0] === info.size &&
      known[1] === info.mtimeMs &&
      known[2] === info.ino
    ) {
      return known[3];
    }

    // Small files hash faster in line than through hasha's worker thread.
    const digest =
      info.size < SMALL_FILE
        ? hashSync(readFileSync(path), { algorithm: 'sha256' })
        : await hashFile(path, { algorithm: 'sha256' });
    this.entries.set(path, [info.size, info.mtimeMs, info.ino, digest]);
    this.dirty = true;
    return digest;
  }
}
