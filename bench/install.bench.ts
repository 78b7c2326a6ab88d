/**
 * Install benchmark: wall time of installing 1, 2 and 4 fixture VMs
 * (Subiquity flavour, TCG) with -j 1 and -j 2, through the real CLI.
 * Run with `npx tsx bench/install.bench.ts`.
 */
import { Project } from '../test/vm/helpers/project.ts';

console.log('VMs  -j  wall time   per VM');
for (const count of [1, 2, 4]) {
  for (const jobs of [1, 2]) {
    const project = await Project.create({ flavour: 'subiquity', count });
    try {
      // The config and iso tasks are not what is measured: run them first.
      await project.cli(['run', '*.config', 'iso']);
      const started = performance.now();
      const run = await project.cli(['run', '*.install', '-j', String(jobs)]);
      const seconds = (performance.now() - started) / 1000;
      if (run.code !== 0)
        throw new Error(`install failed:\n${run.stdout}\n${run.stderr}`);
      console.log(
        `${String(count).padStart(3)}  ${jobs}   ${seconds.toFixed(1).padStart(6)} s   ${(seconds / count).toFixed(1).padStart(5)} s`,
      );
    } finally {
      await project.dispose();
    }
  }
}
