import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { appendFile, readdir } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { finish, waitFor, type CliResult } from '../engine/rig.ts';
import {
  Project,
  startedTasks,
  testPorts,
  type FixtureFlavour,
} from './helpers/project.ts';

const THREE = ['vm-1.install', 'vm-2.install', 'vm-3.install'];

/** Installs vm-1..3 with -j 2 and checks that exactly their installs ran. */
async function installThree(project: Project): Promise<CliResult> {
  const run = await project.cli(['run', '*.install', '-j', '2', '--json']);
  assert.equal(run.code, 0, run.stdout + run.stderr);
  const installs = startedTasks(run.stdout).filter((t) => t.endsWith('.install'));
  assert.deepEqual(installs.sort(), THREE);
  return run;
}

function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });
}

describe('unattended install with the fixture installer (Subiquity)', () => {
  let project: Project;

  before(async () => {
    project = await Project.create({ flavour: 'subiquity', count: 3, templates: true });
  });
  after(() => project.dispose());

  test('run installs three VMs', async () => {
    const run = await installThree(project);
    for (const vm of ['vm-1', 'vm-2', 'vm-3']) {
      assert.ok(
        existsSync(join(project.dir, `build/disks/${vm}.qcow2`)),
        `${vm} disk in place`,
      );
      const setupLog = await project.read(`build/logs/${vm}.setup.log`);
      assert.match(setupLog, /apt-get/);
      assert.match(setupLog, /openvpn-client@client/);
    }
    assert.deepEqual(
      (await readdir(join(project.dir, 'build/disks'))).filter((f) =>
        f.endsWith('.partial'),
      ),
      [],
    );

    const phases = run.stdout
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l))
      .filter((e) => e.type === 'task-phase' && e.task === 'vm-1.install')
      .map((e) => e.phase as string);
    const order = [
      'booting the installer',
      'answer file fetched',
      'setup script running',
      'reported success',
      'powered off',
    ];
    assert.deepEqual(
      phases.filter((p) => order.includes(p)),
      order,
      `phases in order: ${phases.join(' > ')}`,
    );
  });

  test('the second run does nothing', async () => {
    const run = await project.cli(['run', '*.install', '--json']);
    assert.equal(run.code, 0);
    assert.deepEqual(startedTasks(run.stdout), []);
  });

  test('changing vpn/vpn-2.ovpn reinstalls vm-2 only, and explain names the file', async () => {
    await appendFile(join(project.dir, 'vpn/vpn-2.ovpn'), 'verb 3\n');
    const explain = await project.cli(['explain', 'vm-2.install']);
    assert.match(explain.stdout, /vm-2\.install is stale: vpn\/vpn-2\.ovpn changed/);
    const run = await project.cli(['run', '*.install', '-j', '2', '--json']);
    assert.equal(run.code, 0, run.stdout);
    assert.deepEqual(startedTasks(run.stdout), ['vm-2.install']);
  });

  test('changing the setup script reinstalls every VM', async () => {
    await appendFile(
      join(project.dir, 'templates/setup_vm_in_guest.sh'),
      '\n# changed by a test\n',
    );
    const run = await project.cli(['run', '*.install', '-j', '2', '--json']);
    assert.equal(run.code, 0, run.stdout);
    assert.deepEqual(startedTasks(run.stdout).sort(), THREE);
  });
});

for (const flavour of ['ubiquity', 'debian'] as FixtureFlavour[]) {
  describe(`unattended install with the fixture installer (${flavour})`, () => {
    test('run installs three VMs and a second run does nothing', async () => {
      const project = await Project.create({ flavour, count: 3 });
      try {
        await installThree(project);
        const iso = JSON.parse(await project.read('build/iso/iso.json'));
        assert.equal(iso.flavour, flavour);
        const again = await project.cli(['run', '*.install', '--json']);
        assert.deepEqual(startedTasks(again.stdout), []);
      } finally {
        await project.dispose();
      }
    });
  });
}

describe('install failures', () => {
  test('a guest that reports failure fails its task with its log shown; one that never powers off hits the timeout', async () => {
    const project = await Project.create({
      flavour: 'subiquity',
      count: 2,
      fleet: [
        'count: 2',
        'accel: tcg',
        testPorts().trimEnd(),
        'defaults:',
        '  ram_size_mb: 512',
        '  telegram_url: null',
        'vms:',
        '  vm-1:',
        '    extra_kernel_args: [fixture.fail=apt]',
        '  vm-2:',
        '    extra_kernel_args: [fixture.nopoweroff]',
        '    install_timeout_minutes: 0.4',
        '',
      ].join('\n'),
    });
    try {
      const run = await project.cli(['run', '*.install', '-j', '2']);
      assert.equal(run.code, 1, run.stdout);
      assert.match(
        run.stdout,
        /vm-1\.install: FAILED after .*: vm-1: the guest reported that its setup failed/,
      );
      assert.match(
        run.stdout,
        /^ {4}.*apt-get/m,
        'the tail of the guest setup log is shown',
      );
      assert.match(
        run.stdout,
        /vm-2\.install: FAILED after .*did not finish within 0\.4 minutes/,
      );
      assert.equal(existsSync(join(project.dir, 'build/disks/vm-1.qcow2')), false);
      assert.equal(
        existsSync(join(project.dir, 'build/disks/vm-1.qcow2.partial')),
        false,
      );
      assert.deepEqual(await project.qemuPids(), []);
      const plan = await project.cli(['plan', '*.install']);
      assert.match(plan.stdout, /vm-1\.install: would run/);
      assert.match(plan.stdout, /vm-2\.install: would run/);
    } finally {
      await project.dispose();
    }
  });

  test('Ctrl-C during an install leaves no QEMU, no server and no disk, and the next run redoes only that install', async () => {
    const project = await Project.create({ flavour: 'subiquity', count: 2 });
    try {
      assert.equal((await project.cli(['run', 'vm-2.install'])).code, 0);
      const child = project.start(['run', 'vm-1.install', '--json', '--verbose']);
      let port = 0;
      child.stdout!.on('data', (d: Buffer) => {
        const m = /install server on 127\.0\.0\.1:(\d+)/.exec(d.toString());
        if (m) port = Number(m[1]);
      });
      const done = finish(child);
      await waitFor(
        async () => port > 0 && (await project.qemuPids()).length > 0,
        30_000,
      );
      child.kill('SIGINT');
      const result = await done;
      assert.equal(result.code, 130, result.stdout + result.stderr);
      assert.deepEqual(await project.qemuPids(), []);
      assert.ok(await refused(port), 'the install server is closed');
      assert.equal(existsSync(join(project.dir, 'build/disks/vm-1.qcow2')), false);
      assert.equal(
        existsSync(join(project.dir, 'build/disks/vm-1.qcow2.partial')),
        false,
      );
      const plan = await project.cli(['plan', '*.install']);
      assert.match(plan.stdout, /^vm-1\.install: would run \(no previous success\)$/m);
      assert.match(plan.stdout, /1 of \d+ tasks would run/);
    } finally {
      await project.dispose();
    }
  });
});
