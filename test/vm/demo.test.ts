import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { isAlive } from '../../tasks/vm/cpu-cap/procfs.ts';
import { finish, NODE_ARGS, REPO, type CliResult } from '../engine/rig.ts';

const run = promisify(execFile);

/** QEMU and cpulimit processes whose command line names `dir`, zombies excluded. */
async function leftovers(dir: string): Promise<string[]> {
  const { stdout } = await run('ps', ['-eo', 'pid=,stat=,args=']);
  return stdout
    .split('\n')
    .filter(
      (l) =>
        l.includes(dir) || / cpulimit /.test(` ${l.split(/\s+/).slice(3).join(' ')} `),
    )
    .filter((l) => /qemu-system|cpulimit/.test(l) && !/\sZ/.test(l.slice(0, 16)));
}

/** Every file (not folder) below `dir`. */
async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await filesUnder(path)));
    else out.push(path);
  }
  return out;
}

describe('the demo fleet, from the README commands', () => {
  let dir: string;
  const cli = async (args: string[]): Promise<CliResult> => {
    const { spawn } = await import('node:child_process');
    return finish(
      spawn(process.execPath, [...NODE_ARGS, ...args], {
        cwd: dir,
        env: { ...process.env, CI: 'true' },
        stdio: ['ignore', 'pipe', 'pipe'],
      }),
    );
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'qvm-demo-'));
    await run(
      process.execPath,
      ['--import', 'tsx', join(REPO, 'examples/demo/prepare.ts'), dir],
      { cwd: REPO },
    );
  });
  after(async () => {
    await cli(['destroy', '--yes']);
    await rm(dir, { recursive: true, force: true });
  });

  test('run all installs, boots and caps every VM, and writes vm_info', async () => {
    const result = await cli(['run', 'all', '-j', '2']);
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.match(result.stdout, /ok: 14 ran, 0 fresh/);
    const info = await readFile(join(dir, 'build/output/vm_info.txt'), 'utf8');
    assert.equal(
      info.split('\n')[0],
      'VM_Name,MAC_Address,VNC_Port_Host,VNC_Password,UUID,BIOS_Serial',
    );
    assert.equal(info.trim().split('\n').length, 4);
  });

  test('nothing under build/ that may hold a secret is readable by other users', async () => {
    for (const place of ['disks', 'run']) {
      assert.equal(
        statSync(join(dir, 'build', place)).mode & 0o777,
        0o700,
        `build/${place} is private`,
      );
    }
    for (const place of [
      'disks',
      'run',
      'vm_configs',
      'output',
      'logs',
      '.state/tasks',
    ]) {
      for (const path of await filesUnder(join(dir, 'build', place))) {
        // Sockets are guarded by their 0700 folder (build/run).
        if (statSync(path).isSocket()) continue;
        assert.equal(statSync(path).mode & 0o077, 0, `${path} is readable by others`);
      }
    }
  });

  test('status shows every VM running, capped, with both VNC ports answering', async () => {
    type Row = {
      vm: string;
      state: string;
      caps: { percent: number }[];
      guestVnc: { greeting: string | null };
      runState: string;
    };
    // The guests answer on port 5900 once their kernel has booted: a few seconds under TCG.
    let rows: Row[] = [];
    for (let attempt = 0; attempt < 30; attempt++) {
      const status = await cli(['status', '--json']);
      assert.equal(status.code, 0, status.stderr);
      rows = JSON.parse(status.stdout) as Row[];
      if (rows.every((r) => r.guestVnc.greeting)) break;
      await new Promise((r) => setTimeout(r, 1000));
    }
    assert.deepEqual(
      rows.map((r) => r.state),
      ['running', 'running', 'running'],
    );
    for (const row of rows) {
      assert.equal(row.runState, 'running');
      assert.equal(row.caps[0]?.percent, 50);
      assert.match(row.guestVnc.greeting ?? '', /^RFB 003\.00\d/);
    }
  });

  test('a second run does nothing', async () => {
    const result = await cli(['run']);
    assert.match(result.stdout, /ok: 0 ran, 14 fresh/);
  });

  test('kill -9 of a VM makes its boot stale and the next run starts it again', async () => {
    const pid = Number((await readFile(join(dir, 'build/run/vm-2.pid'), 'utf8')).trim());
    process.kill(pid, 'SIGKILL');
    await new Promise((r) => setTimeout(r, 300));
    const explain = await cli(['explain', 'vm-2.boot']);
    assert.match(
      explain.stdout,
      /vm-2\.boot is stale: its QEMU \(pid \d+\) is not running/,
    );
    const result = await cli(['run']);
    assert.equal(result.code, 0, result.stdout);
    assert.match(result.stdout, /vm-2\.boot: stale/);
    assert.match(result.stdout, /ok: 2 ran, 12 fresh/);
  });

  test("changing a VM's RAM restarts it without reinstalling it", async () => {
    const before = Number(
      (await readFile(join(dir, 'build/run/vm-1.pid'), 'utf8')).trim(),
    );
    const fleet = await readFile(join(dir, 'fleet.yaml'), 'utf8');
    await writeFile(
      join(dir, 'fleet.yaml'),
      fleet + 'vms:\n  vm-1:\n    ram_size_mb: 700\n',
    );
    const result = await cli(['run']);
    assert.equal(result.code, 0, result.stdout);
    assert.doesNotMatch(result.stdout, /vm-1\.install: stale/);
    assert.match(result.stdout, /vm-1\.boot: stale/);
    const after = Number(
      (await readFile(join(dir, 'build/run/vm-1.pid'), 'utf8')).trim(),
    );
    assert.notEqual(after, before);
    assert.equal(await isAlive(before), false, 'the old QEMU is gone');
    const cmdline = await readFile(`/proc/${after}/cmdline`, 'utf8');
    assert.match(cmdline, /-m\u0000700\u0000/);
  });

  test('lowering count deletes nothing; destroy removes the VM left beyond it', async () => {
    const fleet = await readFile(join(dir, 'fleet.yaml'), 'utf8');
    await writeFile(join(dir, 'fleet.yaml'), fleet.replace(/^count: 3$/m, 'count: 2'));
    const result = await cli(['run']);
    assert.equal(result.code, 0, result.stdout);
    assert.ok(existsSync(join(dir, 'build/disks/vm-3.qcow2')), 'vm-3 keeps its disk');
    const pid = Number((await readFile(join(dir, 'build/run/vm-3.pid'), 'utf8')).trim());
    assert.ok(await isAlive(pid), 'vm-3 keeps running');

    const destroy = await cli(['destroy', 'vm-3', '--yes']);
    assert.equal(destroy.code, 0, destroy.stderr);
    assert.equal(existsSync(join(dir, 'build/disks/vm-3.qcow2')), false);
    assert.equal(await isAlive(pid), false);
    assert.ok(existsSync(join(dir, 'build/vm_configs/vm-3.json')), 'its identity stays');
    await writeFile(join(dir, 'fleet.yaml'), fleet);
  });

  test('stop and destroy leave no QEMU or cpulimit behind', async () => {
    const stop = await cli(['stop', 'vm-2', '--timeout', '5']);
    assert.match(stop.stdout, /vm-2: stopped/);
    const destroy = await cli(['destroy', '--yes']);
    assert.equal(destroy.code, 0, destroy.stderr);
    assert.deepEqual(await leftovers(dir), []);
    const status = await cli(['status', '--json']);
    assert.deepEqual(
      JSON.parse(status.stdout).map((r: { state: string }) => r.state),
      ['not installed', 'not installed', 'not installed'],
    );
  });
});
