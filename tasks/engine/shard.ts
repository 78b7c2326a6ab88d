/**
 * `--shard K/N`: splits the fleet's groups across N CI runners. The
 * assignment depends only on the group's own name, so adding vm-11 never
 * moves vm-1..vm-10 to another runner.
 */
import { sha256 } from './fingerprint.ts';
import { UsageError } from './errors.ts';
import type { TaskDef } from './types.ts';

export interface Shard {
  index: number;
  total: number;
}

export function parseShard(text: string): Shard {
  const m = /^(\d+)\/(\d+)$/.exec(text);
  const index = Number(m?.[1]);
  const total = Number(m?.[2]);
  if (!m || total < 1 || index < 1 || index > total) {
    throw new UsageError(
      `expected --shard K/N with 1 <= K <= N (for example --shard 2/4), got '${text}'`,
    );
  }
  return { index, total };
}

/** Which shard (1-based) a group belongs to: by its trailing number, else by a hash. */
export function shardOf(group: string, total: number): number {
  const n = /(\d+)$/.exec(group);
  const key = n ? Number(n[1]) - 1 : parseInt(sha256(group).slice(0, 8), 16);
  return (key % total) + 1;
}

/** Ungrouped tasks (shared ones like `iso` or `info`) belong to every shard. */
export function inShard(def: TaskDef, shard: Shard): boolean {
  if (!def.group) return true;
  return shardOf(def.group, shard.total) === shard.index;
}
