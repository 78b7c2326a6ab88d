/**
 * Decides whether one task is fresh: its fingerprint equals the one stored
 * at its last success, its outputs still exist, and (for tasks that keep
 * something running) its probe agrees. Otherwise says why it is stale.
 */
import { globby } from 'globby';
import { isAbsolute, join } from 'node:path';
import {
  FORMAT_VERSION,
  describeChanges,
  fingerprintOf,
  type Components,
} from './fingerprint.ts';
import { existsSync } from 'node:fs';
import type { HashCache } from './hash-cache.ts';
import type { StateStore, TaskState } from './state.ts';
import type { ProbeContext, TaskDef } from './types.ts';

export interface Verdict {
  fresh: boolean;
  /** Why it must run ("templates/preseed.cfg changed"), empty when fresh. */
  reason: string;
  fingerprint: string;
  components: Components;
  previous?: TaskState;
  /** Every difference from the last success, for `explain`. */
  changes: string[];
  /** Set when the stored state could not be read. */
  warning?: string;
}

export interface CheckOptions {
  root: string;
  buildDir: string;
  state: StateStore;
  hashes: HashCache;
  force: boolean;
  /** Dependency name → depDigest of its current fingerprint and record. */
  depDigests: Record<string, string>;
}

export async function computeComponents(
  def: TaskDef,
  opts: CheckOptions,
  record: ProbeContext['record'],
): Promise<Components> {
  const probeCtx = { task: def.name, root: opts.root, buildDir: opts.buildDir, record };
  const inputs =
    typeof def.inputs === 'function' ? await def.inputs(probeCtx) : def.inputs;
  const paths = new Set(inputs?.files ?? []);
  if (inputs?.globs?.length) {
    for (const p of await globby(inputs.globs, { cwd: opts.root, dot: true }))
      paths.add(p);
  }

  const files: Record<string, string> = {};
  await Promise.all(
    [...paths].map(async (p) => {
      files[p] = await opts.hashes.hash(isAbsolute(p) ? p : join(opts.root, p));
    }),
  );
  return {
    format: FORMAT_VERSION,
    kind: def.kind,
    kindVersion: def.kindVersion,
    values: inputs?.values ?? {},
    files,
    deps: opts.depDigests,
  };
}

export async function checkTask(def: TaskDef, opts: CheckOptions): Promise<Verdict> {
  const read = await opts.state.read(def.name);
  const previous = read.kind === 'found' ? read.state : undefined;
  const components = await computeComponents(def, opts, previous?.record);
  const fingerprint = fingerprintOf(components);
  const verdict = (fresh: boolean, reason: string, changes: string[] = []): Verdict => ({
    fresh,
    reason,
    changes,
    fingerprint,
    components,
    previous,
    warning:
      read.kind === 'corrupt'
        ? `state of ${def.name} is unreadable (${read.reason}); treating it as stale`
        : undefined,
  });

  if (opts.force) return verdict(false, 'forced');
  if (read.kind === 'corrupt') return verdict(false, 'its stored state is unreadable');
  if (!previous) return verdict(false, 'no previous success');
  if (previous.fingerprint !== fingerprint) {
    const changes = describeChanges(previous.components, components);
    return verdict(
      false,
      summarise(changes.length ? changes : ['inputs changed']),
      changes,
    );
  }

  for (const out of def.outputs ?? []) {
    if (!existsSync(isAbsolute(out) ? out : join(opts.root, out))) {
      return verdict(false, `output ${out} is missing`);
    }
  }
  if (def.probe) {
    const probe = await def.probe({
      task: def.name,
      root: opts.root,
      buildDir: opts.buildDir,
      record: previous.record,
    });
    if (!probe.fresh) return verdict(false, probe.reason);
  }
  return verdict(true, '');
}

function summarise(changes: string[]): string {
  const shown = changes.slice(0, 3).join(', ');
  return changes.length > 3 ? `${shown} and ${changes.length - 3} more` : shown;
}
