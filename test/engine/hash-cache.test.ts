import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { ABSENT, HashCache } from '../../tasks/engine/hash-cache.ts';

const sha = (text: string) => createHash('sha256').update(text).digest('hex');

describe('hash cache', () => {
  test('a big input is read once: while size, mtime and inode hold, the stored hash is reused', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'qvm-hash-'));
    try {
      const file = join(dir, 'installer.iso');
      await writeFile(file, 'AAAA');
      // Whole seconds, so that setting the same mtime again restores it exactly.
      const when = new Date(1_700_000_000_000);
      await utimes(file, when, when);
      const first = new HashCache(join(dir, 'state'));
      await first.load();
      assert.equal(await first.hash(file), sha('AAAA'));
      await first.save();

      // Same size, same mtime and inode, other bytes: a later run does not read the file again.
      await writeFile(file, 'BBBB');
      await utimes(file, when, when);
      const second = new HashCache(join(dir, 'state'));
      await second.load();
      assert.equal(await second.hash(file), sha('AAAA'));

      // A new mtime makes it read the file again.
      const later = new Date(when.getTime() + 5000);
      await utimes(file, later, later);
      assert.equal(await second.hash(file), sha('BBBB'));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('a missing file hashes as absent and a corrupt cache is ignored', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'qvm-hash-'));
    try {
      await writeFile(join(dir, 'hash-cache.json'), '{broken');
      const cache = new HashCache(dir);
      await cache.load();
      assert.equal(await cache.hash(join(dir, 'nope')), ABSENT);
      await writeFile(join(dir, 'x'), 'x');
      assert.equal(await cache.hash(join(dir, 'x')), sha('x'));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
