/**
 * Content hashes of input files, remembered across runs. A file is re-hashed
 * only when its size, mtime or inode changed, so a 6 GB ISO is read once and
 * a no-op run of a large graph costs one stat per file.
 */
import { hashFile } from 'hasha';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from './fs-util.ts';

/** size, mtimeMs, inode, sha256 */
type Entry = [number, number, number, string];

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
    await writeFileAtomic(this.file, JSON.stringify(Object.fromEntries(this.entries)));
    this.dirty = false;
  }

  /** sha256 of the file's content, or ABSENT when it does not exist. */
  async hash(path: string): Promise<string> {
    let info;
    try {
      info = await stat(path);
    } catch {
      return ABSENT;
    }
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

    const digest = await hashFile(path, { algorithm: 'sha256' });
    this.entries.set(path, [info.size, info.mtimeMs, info.ino, digest]);
    this.dirty = true;
    return digest;
  }
}
