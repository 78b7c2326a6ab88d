/**
 * Engine benchmark: synthetic graphs of 10, 100 and 1000 VM-like chains
 * (5 tasks each, 3 input files per task), run in-process. Prints the cold
 * run, the no-op run and the run after one input file changed.
 * Run with `npm run bench`.
 */
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryReporter } from '../tasks/engine/events.ts';
import { runTargets } from '../tasks/engine/run.ts';
import type { Plugin } from '../tasks/engine/types.ts';
import {
  syntheticTasks,
  type SyntheticTask,
} from '../test/engine/fixtures/synthetic-plugin.ts';

const KINDS = ['config', 'iso', 'install', 'boot', 'limit'];

async function makeProject(chains: number): Promise<{ root: string; plugin: Plugin }> {
  const root = await mkdtemp(join(tmpdir(), 'qvm-bench-'));
  const tasks: SyntheticTask[] = [];
  for (let c = 1; c <= chains; c++) {
    await mkdir(join(root, `in/vm-${c}`), { recursive: true });
    KINDS.forEach((kind, i) => {
      const name = `vm-${c}.${kind}`;
      const files = [0, 1, 2].map((f) => `in/vm-${c}/${kind}-${f}.txt`);
      tasks.push({
        name,
        group: `vm-${c}`,
        deps: i === 0 ? [] : [`vm-${c}.${KINDS[i - 1]}`],
        files,
        values: { kind, chain: c },
        outputs: [`out/vm-${c}/${kind}.txt`],
      });
    });
  }
  await Promise.all(
    tasks.flatMap((t) =>
      t.files!.map((f) => writeFile(join(root, f), `${f}\n`.repeat(20))),
    ),
  );
  const plugin: Plugin = {
    name: 'bench',
    load: async () => syntheticTasks(root, { tasks }),
  };
  return { root, plugin };
}

async function timeRun(root: string, plugin: Plugin): Promise<[number, number]> {
  const reporter = new MemoryReporter();
  const started = performance.now();
  const outcome = await runTargets(
    plugin,
    { root, buildDir: join(root, 'build'), reporter },
    {
      targets: ['all'],
      jobs: 2,
      force: false,
      failFast: false,
      noWait: true,
      dryRun: false,
    },
  );
  if (outcome.exitCode !== 0)
    throw new Error(`bench run failed: exit ${outcome.exitCode}`);
  const ran = [...outcome.results.values()].filter((r) => r.status === 'ran').length;
  return [performance.now() - started, ran];
}

const ms = (n: number) => `${n.toFixed(0).padStart(6)} ms`;
console.log('chains  tasks   cold run            no-op run           one input changed');
for (const chains of [10, 100, 1000]) {
  const { root, plugin } = await makeProject(chains);
  const [cold, coldRan] = await timeRun(root, plugin);
  const [noop, noopRan] = await timeRun(root, plugin);
  await writeFile(join(root, `in/vm-1/install-0.txt`), 'changed\n');
  const [changed, changedRan] = await timeRun(root, plugin);
  console.log(
    `${String(chains).padStart(6)}  ${String(chains * 5).padStart(5)}   ${ms(cold)} (${coldRan} ran)   ${ms(noop)} (${noopRan} ran)   ${ms(changed)} (${changedRan} ran)`,
  );
  await rm(root, { recursive: true, force: true });
}
