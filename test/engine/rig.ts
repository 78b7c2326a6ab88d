/**
 * A test rig for the engine: a temp project with a synthetic graph.json,
 * and the real CLI run as a child process against it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { SyntheticGraph } from './fixtures/synthetic-plugin.ts';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const CLI = join(REPO, 'tasks/index.ts');
/** Node's own argv for the CLI: no tsx wrapper process, so signals reach the real program. */
export const NODE_ARGS = [
  '--import',
  pathToFileURL(join(REPO, 'node_modules/tsx/dist/loader.mjs')).href,
  CLI,
];
const PLUGIN = join(REPO, 'test/engine/fixtures/synthetic-plugin.ts');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export class Rig {
  private constructor(readonly dir: string) {}

  static async create(
    graph: SyntheticGraph,
    files: Record<string, string> = {},
  ): Promise<Rig> {
    const rig = new Rig(await mkdtemp(join(tmpdir(), 'qvm-engine-')));
    await rig.write('graph.json', JSON.stringify(graph));
    for (const [path, content] of Object.entries(files)) await rig.write(path, content);
    return rig;
  }

  async write(path: string, content: string): Promise<void> {
    await mkdir(dirname(join(this.dir, path)), { recursive: true });
    await writeFile(join(this.dir, path), content);
  }

  async read(path: string): Promise<string> {
    return readFile(join(this.dir, path), 'utf8');
  }

  /** Starts the CLI without waiting for it. */
  start(args: string[], env: NodeJS.ProcessEnv = {}): ChildProcess {
    return spawn(process.execPath, [...NODE_ARGS, ...args], {
      cwd: this.dir,
      env: { ...process.env, QVM_PLUGIN: PLUGIN, CI: 'true', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  }

  /** Runs the CLI to the end. */
  async cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
    return finish(this.start(args, env));
  }

  /** Task names in runs.log, in the order they ran (emptied after reading). */
  async runs(): Promise<string[]> {
    const log = await readFile(join(this.dir, 'runs.log'), 'utf8').catch(() => '');
    await rm(join(this.dir, 'runs.log'), { force: true });
    return log
      .split('\n')
      .filter(Boolean)
      .map((l) => l.split(' ')[0]!);
  }

  /** [name, start, end] of each run, for overlap checks. */
  async spans(): Promise<[string, number, number][]> {
    const log = await readFile(join(this.dir, 'runs.log'), 'utf8').catch(() => '');
    return log
      .split('\n')
      .filter(Boolean)
      .map((l) => {
        const [n, s, e] = l.split(' ');
        return [n!, Number(s), Number(e)];
      });
  }

  async dispose(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }
}

export function finish(child: ChildProcess): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d) => (stdout += d));
  child.stderr?.on('data', (d) => (stderr += d));
  return new Promise((resolve) =>
    child.on('close', (code) => resolve({ code, stdout, stderr })),
  );
}

/** Waits until `check` returns true, polling; throws after `ms`. */
export async function waitFor(check: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('timed out waiting for a condition');
}

/** A chain a → b → c plus an unrelated task x, each with its own input file. */
export function chainGraph(): { graph: SyntheticGraph; files: Record<string, string> } {
  return {
    graph: {
      tasks: [
        { name: 'a', group: 'g1', files: ['in/a.txt'], outputs: ['out/a.txt'] },
        {
          name: 'b',
          group: 'g1',
          deps: ['a'],
          files: ['in/b.txt'],
          outputs: ['out/b.txt'],
        },
        {
          name: 'c',
          group: 'g1',
          deps: ['b'],
          files: ['in/c.txt'],
          outputs: ['out/c.txt'],
        },
        { name: 'x', group: 'g2', files: ['in/x.txt'], outputs: ['out/x.txt'] },
      ],
    },
    files: { 'in/a.txt': 'a', 'in/b.txt': 'b', 'in/c.txt': 'c', 'in/x.txt': 'x' },
  };
}
