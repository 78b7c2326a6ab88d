/**
 * Loads the fleet definition: fleet.yaml at the project root if there is
 * one, else the built-in defaults. Every problem in the file is collected
 * and thrown as one ConfigErrors, each pointing at `fleet.yaml:LINE:COL`.
 * The identity of each VM is decided later, by identity.ts.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { LineCounter, parseDocument, type Document } from 'yaml';
import { ConfigError, ConfigErrors } from '../engine/errors.ts';
import { exists } from '../engine/fs-util.ts';
import type { FleetSettings } from './config-types.ts';
import { checkFleetFile, checkPortRanges, checkUniqueness } from './fleet-checks.ts';
import { DEFAULT_ACCEL, DEFAULT_CAP_MECHANISM, DEFAULT_COUNT } from './fleet-defaults.ts';
import { createLocator, displayPath, type Locator } from './fleet-locator.ts';
import { validateFleetFile, vmEntryKeys } from './fleet-schema.ts';
import { buildSpecs } from './fleet-specs.ts';
import type { FleetFile, VmSpec } from './fleet-types.ts';
import { schemaErrors, yamlSyntaxErrors } from './yaml-errors.ts';

/** The fleet definition's file name, at the project root. */
export const FLEET_FILE = 'fleet.yaml';

/** The fleet as a whole, and each VM's resolved settings in vm_id order. */
export interface Fleet {
  settings: FleetSettings;
  specs: VmSpec[];
}

/**
 * Reads and checks `ROOT/fleet.yaml` (optional) and resolves every VM's
 * settings. Throws ConfigErrors listing every problem found.
 */
export async function loadFleet(root: string): Promise<Fleet> {
  const absRoot = path.resolve(root);
  const file = path.join(absRoot, FLEET_FILE);
  const shown = displayPath(file);
  const text = await readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return null;
    throw new ConfigErrors([
      new ConfigError(`cannot read it: ${err.message}`, { file: shown }),
    ]);
  });

  if (text === null) {
    await rejectMisnamedFile(absRoot);
    return resolveFleet({}, absRoot, null, createLocator(shown, null, null));
  }

  const lineCounter = new LineCounter();
  const doc = parseDocument(text, {
    lineCounter,
    prettyErrors: true,
    uniqueKeys: true,
    // Lets one VM entry build on another: `vm-3: { <<: *big, cpu_model: EPYC }`.
    merge: true,
  });
  if (doc.errors.length > 0) throw new ConfigErrors(yamlSyntaxErrors(doc.errors, shown));
  const locator = createLocator(shown, doc, lineCounter);

  const data = emptyToMapping(toPlainData(doc, shown));
  const invalid = schemaErrors(validateFleetFile(data), locator, vmEntryKeys());
  if (invalid.length > 0) throw new ConfigErrors(invalid);

  return resolveFleet(data as FleetFile, absRoot, file, locator);
}

const resolveFleet = async (
  fleet: FleetFile,
  root: string,
  file: string | null,
  locator: Locator,
): Promise<Fleet> => {
  const count = fleet.count ?? DEFAULT_COUNT;
  const settings: FleetSettings = {
    root,
    file,
    accel: fleet.accel ?? DEFAULT_ACCEL,
    cap_mechanism: fleet.cap_mechanism ?? DEFAULT_CAP_MECHANISM,
    count,
  };

  const rangeErrors = checkPortRanges(fleet, count, locator);
  const { specs, errors: specErrors } = await buildSpecs(fleet, count, root, locator);
  const errors = [
    ...checkFleetFile(fleet, count, locator),
    ...rangeErrors,
    ...specErrors,
    // Ranges that overlap would make every port a duplicate: one error is enough.
    ...checkUniqueness(specs, locator, { ports: rangeErrors.length === 0 }),
  ];
  if (errors.length > 0) throw new ConfigErrors(dedupe(errors));

  return { settings, specs };
};

// toJS throws on alias bombs (an alias expanding to millions of nodes).
const toPlainData = (doc: Document, file: string): unknown => {
  try {
    return doc.toJS({ maxAliasCount: 1000 });
  } catch (err) {
    const why = (err as Error).message;
    throw new ConfigErrors([
      new ConfigError(`cannot expand its aliases: ${why}. Use fewer aliases.`, { file }),
    ]);
  }
};

// An empty file, `defaults:` or `vm-3:` with nothing after it mean "no settings".
const emptyToMapping = (data: unknown): unknown => {
  if (data === null || data === undefined) return {};
  if (typeof data !== 'object' || Array.isArray(data)) return data;

  const fleet = data as Record<string, unknown>;
  if (fleet.defaults === null) fleet.defaults = {};
  if (fleet.vms === null) fleet.vms = {};
  const vms = fleet.vms;
  if (vms && typeof vms === 'object' && !Array.isArray(vms)) {
    for (const [name, entry] of Object.entries(vms)) {
      if (entry === null) (vms as Record<string, unknown>)[name] = {};
    }
  }
  return fleet;
};

// A setting in `defaults:` repeats its error once per VM; say it once.
const dedupe = (errors: ConfigError[]) => {
  const seen = new Set<string>();
  return errors.filter((e) => !seen.has(e.describe()) && Boolean(seen.add(e.describe())));
};

// fleet.yml is a common slip: say so rather than silently using defaults.
const rejectMisnamedFile = async (root: string) => {
  const yml = path.join(root, 'fleet.yml');
  if (!(await exists(yml))) return;
  throw new ConfigErrors([
    new ConfigError(
      `expected the fleet definition in ${FLEET_FILE}, found fleet.yml. Rename it to ${FLEET_FILE}.`,
      { file: displayPath(yml) },
    ),
  ]);
};
