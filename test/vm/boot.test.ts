// vm-N.boot against real qemu-system-x86_64 under TCG: the running-guest
// kernel is booted directly (fixture disks hold no boot loader), the disk is
// an empty qcow2, and the task is driven as the scheduler would drive it.
import assert from 'node:assert/strict';
import { readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { TaskFailure } from '../../tasks/engine/errors.ts';
import type { Inputs, TaskDef, TaskRecord } from '../../tasks/engine/types.ts';
import { vmRunPaths } from '../../tasks/vm/boot-args.ts';
import { bootTask, type BootRecord } from '../../tasks/vm/boot-task.ts';
import type { VmConfig } from '../../tasks/vm/config-types.ts';
import { isAlive, readCmdline } from '../../tasks/vm/cpu-cap/procfs.ts';
import { destroyVms } from '../../tasks/vm/lifecycle.ts';
import { qmpCommand } from '../../tasks/vm/qmp.ts';
import { readRfbGreeting, rfbSecurityTypes } from '../../tasks/vm/rfb.ts';
import { isOurQemu, readPidfile, waitForExit } from '../../tasks/vm/vm-process.ts';
import {
  buildRunningGuest,
  guestAppend,
  killLeftovers,
  makeTestBuild,
  testContext,
  testVmConfig,
  writeVmConfig,
} from '../fixture/build-running-guest.ts';

const PORT = 25900;
let build: Awaited<ReturnType<typeof makeTestBuild>>;
let guest: { kernel: string; initrd: string };
let config: VmConfig;
let record: BootRecord;

function makeTask(cfg: VmConfig): TaskDef {
  return bootTask(cfg, {
    root: build.root,
    buildDir: build.buildDir,
    accel: 'tcg',
    diskPath: build.disk(cfg.vm_id),
    directKernel: { ...guest, append: guestAppend({ rfb: true }) },
    installTask: `vm-${cfg.vm_id}.install`,
  });
}

async function runBoot(cfg: VmConfig): Promise<{ record: BootRecord; lines: string[] }> {
  await writeVmConfig(build.buildDir, cfg);
  const ctx = testContext(`vm-${cfg.vm_id}.boot`, build.root, build.buildDir);
  const task = makeTask(cfg);
  try {
    const result = (await task.run(ctx)) as BootRecord;
    await task.cleanup?.(ctx, 'success');
    return { record: result, lines: ctx.lines };
  } catch (err) {
    await task.cleanup?.(ctx, 'failure');
    throw err;
  }
}

function probe(cfg: VmConfig, rec: TaskRecord | undefined) {
  const name = `vm-${cfg.vm_id}.boot`;
  return makeTask(cfg).probe!({
    task: name,
    root: build.root,
    buildDir: build.buildDir,
    record: rec,
  });
}

async function waitForGreeting(port: number, ms = 60_000): Promise<string | undefined> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const greeting = await readRfbGreeting('127.0.0.1', port, 1000);
    if (greeting) return greeting;
    await sleep(500);
  }
  return undefined;
}

let bootLines: string[] = [];
before(async () => {
  guest = await buildRunningGuest();
  build = await makeTestBuild([1]);
  config = testVmConfig(1, PORT);
  ({ record, lines: bootLines } = await runBoot(config));
});

after(async () => {
  await destroyVms([config], build.buildDir).catch(() => undefined);
  await killLeftovers(build.buildDir);
  await rm(build.root, { recursive: true, force: true });
});

test('after boot the pidfile names a live QEMU of this VM', async () => {
  const pid = await readPidfile(vmRunPaths(join(build.buildDir, 'run'), 1).pidfile);
  assert.equal(pid, record.pid);
  assert.ok(
    await isOurQemu(record.pid, config, join(build.buildDir, 'run'), record.startTime),
  );
});

test('QMP query-status says the VM is running', async () => {
  const qmp = vmRunPaths(join(build.buildDir, 'run'), 1).qmp;
  const status = await qmpCommand<{ status: string }>(qmp, 'query-status');
  assert.equal(status.status, 'running');
});

test('the console VNC port offers VNC authentication only', async () => {
  assert.deepEqual(await rfbSecurityTypes('127.0.0.1', config.vnc_port_console), [2]);
});

test("the forwarded guest port answers the guest's RFB 003.008 greeting", async () => {
  assert.equal(await waitForGreeting(config.vnc_port_host), 'RFB 003.008');
});

test('the VNC password is on no command line, in no log, and its secret file is gone', async () => {
  const argv = (await readCmdline(record.pid)) ?? [];
  assert.ok(argv.length > 0);
  assert.ok(
    !argv.join(' ').includes(config.vnc_password),
    'password in /proc/PID/cmdline',
  );
  const paths = vmRunPaths(join(build.buildDir, 'run'), 1);
  for (const log of [paths.consoleLog, paths.qemuLog]) {
    const text = await readFile(log, 'utf8');
    assert.ok(text.length > 0, `${log} is empty`);
    assert.ok(!text.includes(config.vnc_password), `password in ${log}`);
  }
  assert.ok(
    !bootLines.join('\n').includes(config.vnc_password),
    'password in the task log',
  );
  await assert.rejects(readFile(paths.secret), { code: 'ENOENT' });
});

test('the boot probe is fresh while its QEMU runs', async () => {
  assert.deepEqual(await probe(config, record), { fresh: true });
});

test('a changed RAM value changes the inputs and the run restarts the VM', async () => {
  const bigger = { ...config, ram_size_mb: config.ram_size_mb + 32 };
  const before = (makeTask(config).inputs as Inputs).values!;
  const now = (makeTask(bigger).inputs as Inputs).values!;
  assert.notEqual(before.ram_size_mb, now.ram_size_mb);

  const { record: next, lines } = await runBoot(bigger);
  assert.notEqual(next.pid, record.pid);
  // The busybox guest's acpid powers off on the ACPI button: a graceful stop.
  assert.ok(
    lines.some((l) => new RegExp(`stopped QEMU pid ${record.pid} \\(powerdown`).test(l)),
    lines.join('\n'),
  );
  assert.ok(await waitForExit(record.pid, 1000), 'the old QEMU is still alive');
  assert.ok(await isAlive(next.pid), 'the new QEMU is not alive');
  assert.ok(((await readCmdline(next.pid)) ?? []).includes(String(bigger.ram_size_mb)));
  assert.deepEqual(await probe(bigger, next), { fresh: true });
  config = bigger;
  record = next;
});

test('kill -9 of the QEMU makes the boot probe say stale', async () => {
  process.kill(record.pid, 'SIGKILL');
  assert.ok(await waitForExit(record.pid, 5000));
  const verdict = await probe(config, record);
  assert.equal(verdict.fresh, false);
  assert.match(
    !verdict.fresh ? verdict.reason : '',
    new RegExp(`its QEMU \\(pid ${record.pid}\\) is not running`),
  );
});

test('a port held by another process fails the boot naming the port and that pid', async (t) => {
  const holder: Server = createServer();
  await new Promise<void>((resolve) =>
    holder.listen(config.vnc_port_console, '127.0.0.1', resolve),
  );
  try {
    await assert.rejects(runBoot(config), (err: Error) => {
      assert.ok(err instanceof TaskFailure, `not a TaskFailure: ${err.message}`);
      t.diagnostic(err.message);
      assert.match(
        err.message,
        new RegExp(`port ${config.vnc_port_console} .*pid ${process.pid}\\b`),
      );
      return true;
    });
  } finally {
    await new Promise((resolve) => holder.close(resolve));
  }
});
