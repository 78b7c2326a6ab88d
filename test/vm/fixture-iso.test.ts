// The fixture installer ISOs, booted for real with qemu-system-x86_64 under
// TCG: they act on exactly the kernel command lines of docs/contracts.md,
// fetch their answer file, run its hook and end the way it asks.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import YAML from 'yaml';
import { buildFixtureIso, type FixtureFlavour } from '../fixture/build-installer-iso.ts';
import {
  bootFixture,
  extractBootFiles,
  killAllQemu,
  startAnswerServer,
  type AnswerServer,
  type BootResult,
  type Install,
} from '../fixture/fixture-rig.ts';

const CONSOLE = 'console=ttyS0,115200n8';
const FLAVOURS: FixtureFlavour[] = ['ubiquity', 'subiquity', 'debian'];

/** The kernel command lines of docs/contracts.md, for a given BASE and EXTRA. */
const cmdline: Record<FixtureFlavour, (base: string, extra?: string) => string> = {
  ubiquity: (base, extra = '') =>
    `boot=casper automatic-ubiquity noprompt url=${base}ubuntu.seed ${CONSOLE} ${extra} --- `,
  subiquity: (base, extra = '') =>
    `autoinstall ds=nocloud-net;s=${base} ${CONSOLE} ${extra}`,
  debian: (base, extra = '') =>
    `auto=true priority=critical preseed/url=${base}preseed.cfg ${CONSOLE} ${extra}`,
};

/** The hook: report to the host, then write a file inside the target. */
function hookCommand(flavour: FixtureFlavour, base: string): string {
  const inTarget = flavour === 'subiquity' ? 'curtin in-target --' : 'in-target';
  return `wget -q -O- --post-data=ok ${base}report?status=success && ${inTarget} sh -c 'echo hi > /tmp/x'`;
}

function preseed(
  owner: 'ubiquity' | 'd-i',
  hookKey: string,
  hook: string,
  finish: string[],
) {
  return [
    'd-i passwd/user-fullname string Fixture User',
    'd-i passwd/username string tester',
    'd-i passwd/user-password-crypted password $6$fixture$abcdefghijklmnopqrstuv',
    'ubiquity ubiquity/summary note',
    `${owner} ${hookKey} string ${hook}`,
    ...finish,
    '',
  ].join('\n');
}

function userData(lateCommands: string[], extra: Record<string, unknown> = {}) {
  const autoinstall = {
    version: 1,
    identity: { username: 'tester', hostname: 'fixture-vm', password: '$6$fixture$abc' },
    'late-commands': lateCommands,
    shutdown: 'poweroff',
    ...extra,
  };
  return `#cloud-config\n${YAML.stringify({ autoinstall })}`;
}

/** The answer files of a flavour whose hook is `hook`, asking for poweroff. */
function answerFiles(flavour: FixtureFlavour, hook: string): Record<string, string> {
  switch (flavour) {
    case 'ubiquity':
      return {
        'ubuntu.seed': preseed('ubiquity', 'ubiquity/success_command', hook, [
          'ubiquity ubiquity/poweroff boolean true',
        ]),
      };
    case 'subiquity':
      return { 'meta-data': '', 'user-data': userData([hook]) };
    case 'debian':
      return {
        'preseed.cfg': preseed('d-i', 'preseed/late_command', hook, [
          'd-i finish-install/reboot_in_progress note',
          'd-i debian-installer/exit/poweroff boolean true',
        ]),
      };
  }
}

let server: AnswerServer;
let workDir: string;
const boot: Partial<
  Record<FixtureFlavour, { iso: string; kernel: string; initrd: string }>
> = {};

before(async () => {
  workDir = await mkdtemp(path.join(os.tmpdir(), 'fixture-iso-test-'));
  server = await startAnswerServer();
  for (const flavour of FLAVOURS) {
    const iso = await buildFixtureIso(flavour);
    boot[flavour] = { iso, ...(await extractBootFiles(flavour, iso, workDir)) };
  }
});

after(async () => {
  killAllQemu();
  await server?.close();
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

async function runFixture(
  flavour: FixtureFlavour,
  name: string,
  append: string,
  options: {
    stopWhen?: (serial: string) => boolean;
    holdMs?: number;
    timeoutMs?: number;
  } = {},
): Promise<BootResult> {
  const files = boot[flavour];
  assert.ok(files, `fixture ISO for ${flavour} was not built`);
  return bootFixture({
    ...files,
    append,
    workDir,
    name,
    timeoutMs: options.timeoutMs ?? 90_000,
    stopWhen: options.stopWhen,
    holdMs: options.holdMs,
  });
}

function paths(install: Install, method: string): string[] {
  return install.requests.filter((r) => r.method === method).map((r) => r.path);
}

function assertCleanExit(result: BootResult) {
  assert.equal(result.killedBy, null, `QEMU did not exit by itself:\n${result.serial}`);
  assert.equal(result.exitCode, 0, result.serial);
}

describe('fixture installer ISOs under TCG', { concurrency: 2 }, () => {
  const fetched: Record<FixtureFlavour, string[]> = {
    ubiquity: ['ubuntu.seed'],
    subiquity: ['meta-data', 'user-data'],
    debian: ['preseed.cfg'],
  };

  for (const flavour of FLAVOURS) {
    test(`${flavour}: the contract's command line gets the answer file fetched, the hook run and QEMU powered off`, async () => {
      const install = server.addInstall();
      install.files = answerFiles(flavour, hookCommand(flavour, install.base));

      const result = await runFixture(
        flavour,
        `${flavour}-ok`,
        cmdline[flavour](install.base),
      );

      assertCleanExit(result);
      for (const file of fetched[flavour])
        assert.ok(paths(install, 'GET').includes(file), file);
      const report = install.requests.find((r) => r.method === 'POST');
      assert.deepEqual([report?.path, report?.body], ['report?status=success', 'ok']);
      assert.match(result.serial, /fixture: target new: 644 root:root 3 \/tmp\/x/);
      assert.match(result.serial, /fixture: powering off/);
    });
  }

  test('ubiquity refuses preseed/url= and powers off without fetching or running anything', async () => {
    const install = server.addInstall(
      answerFiles('ubiquity', hookCommand('ubiquity', '')),
    );
    const append = cmdline.ubiquity(install.base).replace(' url=', ' preseed/url=');

    const result = await runFixture('ubiquity', 'ubiquity-preseed-url', append);

    assertCleanExit(result);
    assert.match(result.serial, /fixture: refused: ubiquity: preseed\/url=/);
    assert.deepEqual(install.requests, []);
  });

  test('ubiquity refuses a command line without noprompt', async () => {
    const install = server.addInstall(
      answerFiles('ubiquity', hookCommand('ubiquity', '')),
    );
    const append = cmdline.ubiquity(install.base).replace('noprompt ', '');

    const result = await runFixture('ubiquity', 'ubiquity-no-noprompt', append);

    assertCleanExit(result);
    assert.match(result.serial, /fixture: refused: ubiquity: no noprompt/);
    assert.deepEqual(install.requests, []);
  });

  test('subiquity refuses a seed URL without the trailing slash', async () => {
    const install = server.addInstall(
      answerFiles('subiquity', hookCommand('subiquity', '')),
    );
    const append = cmdline.subiquity(install.base.replace(/\/$/, ''));

    const result = await runFixture('subiquity', 'subiquity-no-slash', append);

    assertCleanExit(result);
    assert.match(
      result.serial,
      /fixture: refused: subiquity: the seed URL must end with \//,
    );
    assert.deepEqual(install.requests, []);
  });

  test('a failing Subiquity late-command runs error-commands and leaves the installer waiting', async () => {
    const install = server.addInstall();
    const post = (what: string) =>
      `wget -q -O- --post-data=${what} ${install.base}log?phase=${what}`;
    install.files = {
      'meta-data': '',
      'user-data': userData([post('first'), 'exit 3', post('never')], {
        'error-commands': [post('error')],
      }),
    };

    const result = await runFixture(
      'subiquity',
      'subiquity-late-fails',
      cmdline.subiquity(install.base),
      {
        stopWhen: (serial) => serial.includes('fixture: waiting forever'),
        holdMs: 2_000,
      },
    );

    assert.equal(result.killedBy, 'stop-when', result.serial);
    assert.ok(result.aliveAfterHold, 'the installer should wait, not end');
    assert.deepEqual(paths(install, 'POST'), ['log?phase=first', 'log?phase=error']);
    assert.match(result.serial, /late-commands\[2\] exited with status 3/);
  });

  test('fixture.nopoweroff keeps QEMU running after a finished install', async () => {
    const install = server.addInstall();
    install.files = answerFiles('debian', hookCommand('debian', install.base));

    const result = await runFixture(
      'debian',
      'debian-nopoweroff',
      cmdline.debian(install.base, 'fixture.nopoweroff'),
      {
        stopWhen: (serial) =>
          serial.includes('fixture.nopoweroff: staying up instead of poweroff'),
        holdMs: 3_000,
      },
    );

    assert.equal(result.killedBy, 'stop-when', result.serial);
    assert.ok(result.aliveAfterHold, 'QEMU ended although fixture.nopoweroff was given');
    assert.deepEqual(paths(install, 'POST'), ['report?status=success']);
  });
});
