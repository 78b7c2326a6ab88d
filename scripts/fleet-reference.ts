/**
 * Generates the README's fleet.yaml reference from schema/fleet.schema.json,
 * so the two cannot drift apart. `npx tsx scripts/fleet-reference.ts --write`
 * updates README.md; without --write it prints the section.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
export const START =
  '<!-- fleet-reference:start (generated from schema/fleet.schema.json) -->';
export const END = '<!-- fleet-reference:end -->';

interface Schema {
  description?: string;
  type?: string | string[];
  enum?: unknown[];
  default?: unknown;
  minimum?: number;
  maximum?: number;
  properties?: Record<string, Schema>;
  $ref?: string;
  $defs?: Record<string, Schema>;
  items?: Schema;
}

function typeOf(s: Schema): string {
  if (s.enum) return s.enum.map((v) => `\`${String(v)}\``).join(' \\| ');
  const type = [s.type ?? 'mapping'].flat().join(' or ');
  const range =
    s.minimum !== undefined || s.maximum !== undefined
      ? ` (${s.minimum ?? ''}–${s.maximum ?? ''})`
      : '';
  return type + range;
}

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

function rows(props: Record<string, Schema>, prefix: string): string[] {
  return Object.entries(props).map(([key, s]) => {
    const def = s.default === undefined ? '' : `\`${JSON.stringify(s.default)}\``;
    return `| \`${prefix}${key}\` | ${typeOf(s)} | ${cell(def)} | ${cell(s.description ?? '')} |`;
  });
}

export async function fleetReference(): Promise<string> {
  const schema = JSON.parse(
    await readFile(join(ROOT, 'schema/fleet.schema.json'), 'utf8'),
  ) as Schema;
  const vm = schema.$defs?.vm?.properties ?? {};
  const top = Object.fromEntries(
    Object.entries(schema.properties ?? {}).filter(
      ([k]) => k !== 'defaults' && k !== 'vms',
    ),
  );
  return [
    START,
    '',
    schema.description ?? '',
    '',
    '| key | type | default | meaning |',
    '|---|---|---|---|',
    ...rows(top, ''),
    '',
    'Per-VM settings, under `defaults:` (every VM) or `vms: { vm-N: ... }` (one VM):',
    '',
    '| key | type | default | meaning |',
    '|---|---|---|---|',
    ...rows(vm, ''),
    '',
    END,
  ].join('\n');
}

/** The README with its reference section replaced by a fresh one. */
export async function readmeWithReference(): Promise<{
  current: string;
  updated: string;
}> {
  const current = await readFile(join(ROOT, 'README.md'), 'utf8');
  const start = current.indexOf(START);
  const end = current.indexOf(END);
  if (start < 0 || end < 0)
    throw new Error(`README.md lacks the markers ${START} and ${END}`);
  const updated =
    current.slice(0, start) + (await fleetReference()) + current.slice(end + END.length);
  return { current, updated };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  if (process.argv.includes('--write')) {
    const { updated } = await readmeWithReference();
    await writeFile(join(ROOT, 'README.md'), updated);
  } else {
    process.stdout.write((await fleetReference()) + '\n');
  }
}
