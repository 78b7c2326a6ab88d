/**
 * Cap benchmark: for each cap mechanism this host allows, boots a TCG guest
 * burning one, then two vCPUs, and measures its QEMU process's CPU
 * (utime+stime over 6 s) uncapped and capped at 30%, 50% and 80% of one
 * core, with what the rest of the host used meanwhile. Prints the figures;
 * asserts nothing. Run with `npx tsx bench/cap.bench.ts`.
 */
import { rm } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { availableMechanisms } from '../tasks/vm/cpu-cap/pick.ts';
import type { CapKind } from '../tasks/vm/cpu-cap/types.ts';
import { destroyVms } from '../tasks/vm/lifecycle.ts';
import {
  buildRunningGuest,
  guestAppend,
  killLeftovers,
  makeTestBuild,
  measureVmAndHost,
  runBootTask,
  runLimitTask,
  testVmConfig,
  waitForBurn,
} from '../test/fixture/build-running-guest.ts';

const TARGETS = [30, 50, 80];
const SAMPLE_MS = 6000;
const VCPUS = [1, 2];
const guest = await buildRunningGuest();
const mechanisms = await availableMechanisms();
const runs = mechanisms.flatMap((mechanism) =>
  VCPUS.map((vcpus) => ({ mechanism, vcpus })),
);
const build = await makeTestBuild(runs.map((_, i) => 31 + i));
const configs = runs.map(({ vcpus }, i) =>
  testVmConfig(31 + i, 26100 + 2 * i, { vcpus }),
);
const rows: string[][] = [
  ['mechanism', 'vCPUs', 'target', 'measured', 'error', 'rest of host'],
];

try {
  for (const [i, run] of runs.entries()) await benchMechanism(run.mechanism, configs[i]!);
} finally {
  await destroyVms(configs, build.buildDir).catch(() => undefined);
  await killLeftovers(build.buildDir);
  await rm(build.root, { recursive: true, force: true });
}
const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
console.log(
  `cap benchmark: TCG guest burning all vCPUs; CPU of its QEMU over ${SAMPLE_MS / 1000} s, % of one core`,
);
for (const row of rows)
  console.log(row.map((cell, c) => cell.padEnd(widths[c]!)).join('  '));

async function benchMechanism(mechanism: CapKind, config: (typeof configs)[number]) {
  const burning = { ...guest, append: guestAppend({ burn: true }) };
  const { pid } = await runBootTask(build, config, burning);
  await waitForBurn(build, config.vm_id);
  const uncapped = await measureVmAndHost(pid, SAMPLE_MS);
  rows.push(row(mechanism, config.vcpus, undefined, uncapped));

  for (const percent of TARGETS) {
    await runLimitTask(build, { ...config, cpu_limit_percent: percent }, mechanism);
    await sleep(2000);
    rows.push(
      row(mechanism, config.vcpus, percent, await measureVmAndHost(pid, SAMPLE_MS)),
    );
  }
  await destroyVms([config], build.buildDir);
}

function row(
  mechanism: string,
  vcpus: number,
  target: number | undefined,
  m: { vm: number; host: number },
) {
  const error =
    target === undefined
      ? ''
      : `${m.vm >= target ? '+' : ''}${(m.vm - target).toFixed(1)}`;
  const rest = `${Math.max(0, m.host - m.vm).toFixed(0)}%`; // the two reads differ by a few ms
  return [
    mechanism,
    String(vcpus),
    target === undefined ? 'none' : `${target}%`,
    `${m.vm.toFixed(1)}%`,
    error,
    rest,
  ];
}
