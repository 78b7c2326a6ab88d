/**
 * A task's fingerprint: a stable hash over everything that decides what the
 * task would produce. Two runs with equal fingerprints would do the same work,
 * so the second is skipped.
 */
import { createHash } from 'node:crypto';

/** Bump when the shape of `Components` changes: every task becomes stale. */
export const FORMAT_VERSION = 1;

export interface Components {
  format: number;
  kind: string;
  kindVersion: number;
  values: Record<string, unknown>;
  /** Input path (relative to the root) → content hash. */
  files: Record<string, string>;
  /** Dependency name → digest of its fingerprint and stored record. */
  deps: Record<string, string>;
}

export function fingerprintOf(components: Components): string {
  return sha256(stableStringify(components));
}

/** The part of a dependency that its dependents' fingerprints see. */
export function depDigest(fingerprint: string, record: unknown): string {
  return sha256(fingerprint + '\n' + stableStringify(record ?? null));
}

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** JSON with object keys sorted at every level, so equal values give equal text. */
export function stableStringify(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort()) {
    const v = (value as Record<string, unknown>)[key];
    if (v !== undefined) out[key] = sortKeys(v);
  }
  return out;
}

/** Human-readable differences between two component sets, for `explain` and logs. */
export function describeChanges(before: Components, after: Components): string[] {
  const changes: string[] = [];
  if (before.format !== after.format) changes.push('the engine state format changed');
  if (before.kind !== after.kind || before.kindVersion !== after.kindVersion) {
    changes.push(
      `task kind ${after.kind} changed version ${before.kindVersion} → ${after.kindVersion}`,
    );
  }
  for (const key of unionKeys(before.values, after.values)) {
    if (stableStringify(before.values[key]) !== stableStringify(after.values[key])) {
      changes.push(`value ${key} changed`);
    }
  }
  for (const file of unionKeys(before.files, after.files)) {
    const was = before.files[file];
    const now = after.files[file];
    if (was === now) continue;
    if (was === undefined) changes.push(`${file} added`);
    else if (now === undefined) changes.push(`${file} no longer an input`);
    else if (now === 'absent') changes.push(`${file} deleted`);
    else changes.push(`${file} changed`);
  }
  for (const dep of unionKeys(before.deps, after.deps)) {
    if (before.deps[dep] !== after.deps[dep]) changes.push(`dependency ${dep} changed`);
  }
  return changes;
}

function unionKeys(a: object, b: object): string[] {
  return [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
}
