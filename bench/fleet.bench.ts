/**
 * Fleet definition benchmark: load + validate fleet.yaml, read the stored
 * configs, resolve identities and write vm-N.json and vm_info.* for 10,
 * 100 and 1000 VMs. The fresh run starts from an empty build/; the second
 * run finds every config stored and should write nothing.
 * Run with `npx tsx bench/fleet.bench.ts`.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadFleet } from '../tasks/vm/fleet.ts';
import { readStoredConfigs, writeVmConfig } from '../tasks/vm/fleet-store.ts';
import { resolveConfigs } from '../tasks/vm/identity.ts';
import { writeVmInfo } from '../tasks/vm/vm-info.ts';

type Phases = {
  load: number;
  read: number;
  resolve: number;
  write: number;
  written: number;
};

// One run of the vm-N.config step for the whole fleet, timed by phase.
async function runOnce(root: string): Promise<Phases> {
  const build = join(root, 'build');
  let t = performance.now();
  const lap = () => {
    const now = performance.now();
    const elapsed = now - t;
    t = now;
    return elapsed;
  };

  const { settings, specs } = await loadFleet(root);
  const load = lap();
  const stored = await readStoredConfigs(build);
  const read = lap();
  const configs = resolveConfigs(settings, specs, stored.configs);
  const resolve = lap();
  const changed = await Promise.all(configs.map((c) => writeVmConfig(build, c)));
  await writeVmInfo(build, configs);
  const write = lap();
  return { load, read, resolve, write, written: changed.filter(Boolean).length };
}

// Ports move out of 5900-6099 so that 1000 VMs fit.
const fleetYaml = (count: number) => `count: ${count}
vnc_port_host_base: 20000
vnc_port_console_base: 30000
vms:
  vm-2: { ram_size_mb: 4096, mac_address: "52:54:00:12:34:56" }
`;

const ms = (n: number) => `${n.toFixed(1).padStart(7)}`;
const row = (count: number, label: string, p: Phases) => {
  const total = p.load + p.read + p.resolve + p.write;
  console.log(
    `${String(count).padStart(5)}  ${label.padEnd(6)} ${ms(p.load)} ${ms(p.read)} ${ms(p.resolve)} ${ms(p.write)} ${ms(total)}  ${String(p.written).padStart(5)}`,
  );
};

// Compiling the schemas once is a per-process cost; show it apart.
const warm = await mkdtemp(join(tmpdir(), 'qvm-fleet-bench-'));
await writeFile(join(warm, 'fleet.yaml'), 'count: 1\n');
const warmStart = performance.now();
await loadFleet(warm);
console.log(
  `first loadFleet in this process (schema compile): ${(performance.now() - warmStart).toFixed(1)} ms\n`,
);
await rm(warm, { recursive: true, force: true });

console.log('  VMs  run       load    read resolve   write   total  files written (ms)');
for (const count of [10, 100, 1000]) {
  const root = await mkdtemp(join(tmpdir(), 'qvm-fleet-bench-'));
  try {
    await writeFile(join(root, 'fleet.yaml'), fleetYaml(count));
    row(count, 'fresh', await runOnce(root));
    row(count, 'second', await runOnce(root));
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}
