/**
 * Status benchmark: boots 10 fixture VMs (TCG, 128 MB, guest RFB on),
 * caps them with the host's `auto` mechanism, then times `collectStatus`
 * for all 10 at once (three runs) and one VM after another (one run).
 * Prints the figures and the table; asserts nothing.
 * Run with `npx tsx bench/status.bench.ts`.
 */
import { rm } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { destroyVms } from '../tasks/vm/lifecycle.ts';
import { readRfbGreeting } from '../tasks/vm/rfb.ts';
import { collectStatus, renderStatusTable } from '../tasks/vm/status.ts';
import {
  buildRunningGuest,
  guestAppend,
  killLeftovers,
  makeTestBuild,
  runBootTask,
  runLimitTask,
  testVmConfig,
} from '../test/fixture/build-running-guest.ts';

const COUNT = 10;
const ids = Array.from({ length: COUNT }, (_, i) => 51 + i);
const guest = await buildRunningGuest();
const build = await makeTestBuild(ids);
const direct_kernel = { ...guest, append: guestAppend({ rfb: true }) };
const configs = ids.map((id, i) => testVmConfig(id, 26000 + 2 * i, { direct_kernel }));

try {
  const bootStart = Date.now();
  await Promise.all(configs.map(bootAndCap));
  const bootMs = Date.now() - bootStart;
  const readyMs = await waitForGuests();
  console.log(
    `${COUNT} VMs booted and capped in ${bootMs} ms; all guests answered RFB after ${readyMs} ms`,
  );

  for (let run = 1; run <= 3; run++) {
    const start = Date.now();
    const rows = await collectStatus(configs, build.buildDir);
    console.log(
      `collectStatus, ${COUNT} VMs concurrently, run ${run}: ${Date.now() - start} ms`,
    );
    if (run === 3) console.log(renderStatusTable(rows));
  }
  const start = Date.now();
  for (const config of configs) await collectStatus([config], build.buildDir);
  console.log(`collectStatus, ${COUNT} VMs one after another: ${Date.now() - start} ms`);
} finally {
  await destroyVms(configs, build.buildDir).catch(() => undefined);
  await killLeftovers(build.buildDir);
  await rm(build.root, { recursive: true, force: true });
}

async function bootAndCap(config: (typeof configs)[number]): Promise<void> {
  await runBootTask(build, config);
  await runLimitTask(build, config, 'auto');
}

async function waitForGuests(): Promise<number> {
  const start = Date.now();
  const pending = new Set(configs);
  while (pending.size > 0 && Date.now() - start < 180_000) {
    for (const config of [...pending]) {
      if (await readRfbGreeting('127.0.0.1', config.vnc_port_host, 500))
        pending.delete(config);
    }
    await sleep(500);
  }
  return Date.now() - start;
}
