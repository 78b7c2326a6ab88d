// status, stop and destroy against real TCG guests: status reads reality
// (process, CPU, cap, VNC, QMP), stop and destroy leave no process behind
// and destroy touches nothing of another VM.
import assert from 'node:assert/strict';
import { access, mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { CapMechanism, VmConfig } from '../../tasks/vm/config-types.ts';
import { v1CpuMount } from '../../tasks/vm/cpu-cap/cgroup-fs.ts';
import { capGroup, type CapRecord } from '../../tasks/vm/cpu-cap/types.ts';
import { destroyVms, stopVms } from '../../tasks/vm/lifecycle.ts';
import { readRfbGreeting } from '../../tasks/vm/rfb.ts';
import { collectStatus, renderStatusTable, statusJson } from '../../tasks/vm/status.ts';
import {
  buildRunningGuest,
  guestAppend,
  killLeftovers,
  leftoverProcesses,
  makeTestBuild,
  runBootTask,
  runLimitTask,
  testVmConfig,
  type TestBuild,
} from '../fixture/build-running-guest.ts';

let build: TestBuild;
let running: VmConfig; // vm-6: booted and capped
let installed: VmConfig; // vm-7: a disk, never booted
let absent: VmConfig; // vm-8: no disk
let cap: CapRecord;

/** Boots `config` (its direct_kernel setting) and caps it, as vm-N.boot then vm-N.limit would. */
async function bootAndCap(config: VmConfig, mechanism: CapMechanism) {
  const booted = await runBootTask(build, config);
  const capped = await runLimitTask(build, config, mechanism);
  return { booted, capped };
}

before(async () => {
  const guest = await buildRunningGuest();
  build = await makeTestBuild([6, 7]);
  const direct_kernel = { ...guest, append: guestAppend({ rfb: true }) };
  running = testVmConfig(6, 25940, { direct_kernel });
  installed = testVmConfig(7, 25942);
  absent = testVmConfig(8, 25944);
  ({ capped: cap } = await bootAndCap(running, 'auto'));
  for (
    let i = 0;
    i < 120 && !(await readRfbGreeting('127.0.0.1', running.vnc_port_host));
    i++
  ) {
    await sleep(500);
  }
});

after(async () => {
  await destroyVms([running, installed, absent], build.buildDir).catch(() => undefined);
  await killLeftovers(build.buildDir);
  await rm(build.root, { recursive: true, force: true });
});

test('status reads a running VM back from the system and tells installed from not installed', async (t) => {
  const started = Date.now();
  const rows = await collectStatus([running, installed, absent], build.buildDir);
  const took = Date.now() - started;
  t.diagnostic(`collectStatus took ${took} ms`);
  for (const line of renderStatusTable(rows).split('\n')) t.diagnostic(line);
  const [vm6, vm7, vm8] = rows;

  assert.equal(vm6!.state, 'running');
  assert.equal(vm6!.pid, cap.pid);
  assert.ok(vm6!.uptimeSeconds !== null && vm6!.uptimeSeconds >= 0);
  assert.ok(vm6!.cpuPercent !== null && vm6!.cpuPercent >= 0);
  assert.deepEqual(
    vm6!.caps.map((c) => [c.mechanism, c.percent]),
    [[cap.mechanism, 80]],
  );
  assert.deepEqual(vm6!.console, {
    host: '127.0.0.1',
    port: running.vnc_port_console,
    auth: 'vnc',
  });
  assert.equal(vm6!.guestVnc.greeting, 'RFB 003.008');
  assert.equal(vm6!.runState, 'running');
  assert.equal(vm7!.state, 'installed');
  assert.equal(vm8!.state, 'not installed');
});

test('the status table has one line per VM and the JSON holds the same rows', async () => {
  const rows = await collectStatus([running, absent], build.buildDir, 200);
  const lines = renderStatusTable(rows).trimEnd().split('\n');
  assert.equal(lines.length, 3);
  assert.match(lines[0]!, /^VM\s+STATE\s+PID\s+UPTIME\s+CPU\s+CAP/);
  assert.match(
    lines[1]!,
    new RegExp(
      `^vm-6\\s+running\\s+${cap.pid}\\b.*${cap.mechanism} 80%.*RFB 003\\.008\\s+running$`,
    ),
  );
  assert.match(lines[2]!, /^vm-8\s+not installed(\s+-)+$/);
  assert.deepEqual(JSON.parse(statusJson(rows)), JSON.parse(JSON.stringify(rows)));
});

test('stopVms powers the VM off, leaves no QEMU or cpulimit, and status then says stopped', async () => {
  const [result] = await stopVms([running], build.buildDir, 20_000);
  assert.equal(result!.how, 'powerdown');
  assert.deepEqual(await leftoverProcesses(build.buildDir), []);

  // The engine keeps vm-6.boot's state after a stop: it was booted before.
  await mkdir(join(build.buildDir, '.state', 'tasks'), { recursive: true });
  await writeFile(join(build.buildDir, '.state', 'tasks', 'vm-6.boot.json'), '{}');
  const [row] = await collectStatus([running], build.buildDir, 100);
  assert.equal(row!.state, 'stopped');
  assert.equal(row!.pid, null);
});

test("destroyVms leaves no QEMU or cpulimit and removes only that VM's disk, state, runtime files and cgroup", async () => {
  const { capped } = await bootAndCap(running, 'cpulimit');
  assert.ok(capped.helperPid);
  const stateDir = join(build.buildDir, '.state', 'tasks');
  for (const name of [
    'vm-6.boot.json',
    'vm-6.limit.json',
    'vm-60.boot.json',
    'vm-7.boot.json',
  ]) {
    await writeFile(join(stateDir, name), '{}');
  }

  const [result] = await destroyVms([running], build.buildDir);
  assert.deepEqual(await leftoverProcesses(build.buildDir), []);
  assert.ok(result!.removed.includes('disks/vm-6.qcow2'), result!.removed.join(', '));
  assert.deepEqual((await readdir(stateDir)).sort(), [
    'vm-60.boot.json',
    'vm-7.boot.json',
  ]);
  assert.deepEqual(await readdir(join(build.buildDir, 'run')), []);
  await access(build.disk(7)); // vm-7's disk is still there
  const mount = await v1CpuMount();
  if (mount)
    await assert.rejects(access(join(mount, capGroup(build.buildDir, 6))), {
      code: 'ENOENT',
    });
});
