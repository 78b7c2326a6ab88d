/**
 * Turns YAML syntax errors and JSON Schema errors into ConfigErrors that
 * say where (`fleet.yaml:LINE:COL`), which field, what is allowed, what
 * was found and what to do.
 */
import type { ErrorObject } from 'ajv';
import { closest } from 'fastest-levenshtein';
import type { YAMLError } from 'yaml';
import { ConfigError } from '../engine/errors.ts';
import { fieldPath, type Locator, type PathSegment } from './fleet-locator.ts';
import type { SchemaNode } from './fleet-schema.ts';

// Values of these keys are never echoed back: an error log is not a safe place.
const SECRET_KEYS = new Set(['password', 'password_hash', 'vnc_password']);

/** One ConfigError per YAML syntax error, at the line:col the parser gives. */
export function yamlSyntaxErrors(
  errors: readonly YAMLError[],
  file: string,
): ConfigError[] {
  return errors.map((e) => {
    const pos = e.linePos?.[0];
    // The parser's message repeats the position and an excerpt; keep line 1.
    const what = (e.message.split('\n')[0] ?? '').replace(
      / at line \d+, column \d+:?$/,
      '',
    );
    const hint =
      e.code === 'DUPLICATE_KEY'
        ? 'remove or rename one of the two'
        : 'fix the YAML syntax';
    return new ConfigError(
      `YAML syntax error: ${what}; ${hint}`,
      pos ? { file, line: pos.line, column: pos.col } : { file },
    );
  });
}

/**
 * The closest of `known` to `word`, for "did you mean" hints: a key that
 * contains the word (`ram` -> `ram_size_mb`) first, else the nearest by
 * edit distance.
 */
export function closestKey(word: string, known: readonly string[]): string | undefined {
  const lower = word.toLowerCase();
  const containing = known.filter((k) => k.includes(lower));
  if (containing.length > 0) return closest(lower, containing);
  return known.length ? closest(lower, known) : undefined;
}

/** Describes a value for "found ..." without printing secrets. */
export function describeFound(value: unknown, key?: PathSegment): string {
  if (value === null || value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (key !== undefined && SECRET_KEYS.has(String(key))) {
    return typeof value === 'string'
      ? `a value of ${value.length} characters`
      : `a ${typeof value}`;
  }
  return typeof value === 'string'
    ? JSON.stringify(value)
    : `${String(value)} (a ${typeof value})`;
}

const TYPE_NAMES: Record<string, string> = {
  integer: 'a whole number',
  number: 'a number',
  string: 'a string',
  boolean: 'true or false',
  array: 'a list',
  object: 'a mapping',
  null: 'null',
};

/**
 * One ConfigError per schema error. `vmKeys` are the keys of a VM entry,
 * used to point a misplaced top-level key at `defaults:`.
 */
export function schemaErrors(
  errors: readonly ErrorObject[],
  locator: Locator,
  vmKeys: readonly string[],
): ConfigError[] {
  // ajv reports a bad key name twice: as the inner pattern error (marked
  // with propertyName) and as the propertyNames error. Keep the latter.
  const useful = errors.filter(
    (e) => !('propertyName' in e && e.propertyName !== undefined),
  );
  return useful.map((e) => schemaError(e, locator, vmKeys));
}

const schemaError = (e: ErrorObject, locator: Locator, vmKeys: readonly string[]) => {
  const path: PathSegment[] = e.instancePath.split('/').slice(1).map(unescapePointer);
  const key = path.at(-1);
  const schema = (e.parentSchema ?? {}) as SchemaNode;
  const found = describeFound(e.data, key);
  const p = e.params as Record<string, unknown>;

  const make = (message: string, at = path, part: 'key' | 'value' = 'value') =>
    new ConfigError(message, locator.at(at, part), fieldPath(at));

  switch (e.keyword) {
    case 'additionalProperties': {
      const name = String(p.additionalProperty);
      const known = Object.keys(schema.properties ?? {});
      const moved =
        path.length === 0 && vmKeys.includes(name)
          ? ` "${name}" is a VM setting: put it under defaults: (every VM) or vms.vm-N: (one VM).`
          : ` Did you mean "${closestKey(name, known)}"?`;
      return make(
        `unknown key "${name}".${moved} Known keys here: ${known.join(', ')}.`,
        [...path, name],
        'key',
      );
    }
    case 'propertyNames': {
      const name = String(p.propertyName);
      const digits = /\d+/.exec(name)?.[0];
      const hint = digits ? ` Did you mean "vm-${Number(digits)}"?` : '';
      return make(
        `"${name}" is not a VM name: expected vm- followed by the VM's number, such as vm-3.${hint}`,
        [...path, name],
        'key',
      );
    }
    case 'type': {
      const types = ([] as string[]).concat(p.type as string | string[]);
      const expected = types.map((t) => TYPE_NAMES[t] ?? t).join(' or ');
      const quote =
        types.includes('string') && typeof e.data !== 'object'
          ? '; put it in quotes to make it a string'
          : '';
      return make(`expected ${expected}, found ${found}${quote}.`);
    }
    case 'enum': {
      const allowed = (p.allowedValues as unknown[]).map(String);
      const hint =
        typeof e.data === 'string'
          ? ` Did you mean "${closestKey(e.data, allowed)}"?`
          : '';
      return make(`expected one of ${allowed.join(', ')}; found ${found}.${hint}`);
    }
    case 'minimum':
    case 'maximum':
      return make(
        `expected ${e.keyword === 'minimum' ? 'at least' : 'at most'} ${String(p.limit)}, found ${found}.`,
      );
    case 'minLength':
    case 'maxLength': {
      const bound = e.keyword === 'minLength' ? 'at least' : 'at most';
      const length = typeof e.data === 'string' ? e.data.length : 0;
      return make(
        `expected ${bound} ${String(p.limit)} characters, found ${length}. ${explain(schema)}`.trim(),
      );
    }
    case 'minItems':
      return make(
        `expected at least ${String(p.limit)} entries, found none. ${explain(schema)}`.trim(),
      );
    case 'pattern':
    case 'format': {
      const example = schema.examples?.[0];
      const like = example === undefined ? '' : ` Example: ${String(example)}`;
      return make(
        `${found} is not allowed here. Expected: ${explain(schema) || e.message}${like}`,
      );
    }
    default:
      return make(`${e.message ?? 'is not valid'}; found ${found}.`);
  }
};

// "Per-VM only." is for the README; in an error it only distracts.
const explain = (schema: SchemaNode) =>
  (schema.description ?? '').replace(/^Per-VM only\. /, '');

const unescapePointer = (seg: string) => seg.replace(/~1/g, '/').replace(/~0/g, '~');
