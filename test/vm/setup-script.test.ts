/**
 * The guest setup script and the installer hook, run for real: bash (or sh)
 * on a scratch root with stub system commands, talking HTTP to a real local
 * server that stands in for the install server and Telegram's download link.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, readFile, readlink, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';

import { TEMPLATES_DIR } from './helpers/render-fixtures.ts';
import {
  runSetup,
  serveGuestFiles,
  snapshot,
  stageGuestFiles,
  VNC_PASSWORD,
  VPN_PASSWORD,
} from './helpers/render-guest-files.ts';
import { makeGuestRig, withGuestRig, type GuestRig } from './helpers/render-guest-rig.ts';

const exec = promisify(execFile);

const UBUNTU_CUSTOM_CONF = `# GDM configuration storage
[daemon]
# Uncomment the line below to force the login screen to use Xorg
#WaylandEnable=false
AutomaticLoginEnable=false

[security]

[debug]
#Enable=true
`;

const text = (path: string) => readFile(path, 'utf8');
const mode = async (path: string) => (await stat(path)).mode & 0o777;

describe('shellcheck', () => {
  test('setup_vm_in_guest.sh passes shellcheck as bash', async () => {
    await exec('shellcheck', ['-s', 'bash', join(TEMPLATES_DIR, 'setup_vm_in_guest.sh')]);
  });

  test('the rendered installer hook passes shellcheck as POSIX sh', () =>
    withGuestRig(async (rig) => {
      await stageGuestFiles(rig);
      await exec('shellcheck', ['-s', 'sh', join(rig.root, 'root/qvm/hook.sh')]);
    }));
});

describe('setup_vm_in_guest.sh on a scratch root', () => {
  let rig: GuestRig;
  let first: Awaited<ReturnType<typeof runSetup>>;
  let envFile: string;
  let log: string;
  const home = () => join(rig.root, 'home/alice');

  before(async () => {
    rig = await makeGuestRig();
    envFile = await stageGuestFiles(rig);
    await mkdir(join(rig.root, 'etc/gdm3'), { recursive: true });
    await writeFile(join(rig.root, 'etc/gdm3/custom.conf'), UBUNTU_CUSTOM_CONF);
    await mkdir(join(rig.root, 'etc'), { recursive: true });
    await writeFile(join(rig.root, 'etc/group'), 'root:x:0:\nadm:x:4:\nsudo:x:27:\n');
    first = await runSetup(rig, envFile);
    log = await text(join(rig.root, 'var/log/setup_vm_in_guest.log'));
  });
  after(() => rig.close());

  test('exits 0', () => {
    assert.equal(first.code, 0, first.stderr);
  });

  test('installs x11vnc, openvpn and the tools it needs with apt-get', async () => {
    const apt = (await rig.calls()).filter((call) => call.startsWith('apt-get'));
    assert.match(apt[0] ?? '', /update$/);
    assert.match(
      apt[1] ?? '',
      / install -y x11vnc openvpn xz-utils wget ca-certificates/,
    );
  });

  test('creates the missing user with the password hash and the existing groups', async () => {
    const useradd = (await rig.calls()).filter((call) => call.startsWith('useradd'));
    assert.equal(useradd.length, 1);
    assert.match(
      useradd[0] ?? '',
      /--create-home .*--groups adm,sudo --password \$6\$qvmtestsalt\$\S+ alice$/,
    );
  });

  test('stores the VNC password with x11vnc -storepasswd, mode 600, owned by the user', async () => {
    const calls = await rig.calls();
    const passwd = join(home(), '.vnc/passwd');
    assert.ok(calls.includes(`x11vnc -storepasswd ${VNC_PASSWORD} ${passwd}`));
    assert.equal(await mode(passwd), 0o600);
    assert.equal(await mode(join(home(), '.vnc')), 0o700);
    assert.ok(calls.includes(`chown -R alice: ${join(home(), '.vnc')}`));
  });

  test('starts x11vnc from an XDG autostart entry on display :0 with the stored password', async () => {
    const entry = await text(join(rig.root, 'etc/xdg/autostart/x11vnc.desktop'));
    const exec = /^Exec=(.*)$/m.exec(entry)?.[1] ?? '';
    assert.match(entry, /^\[Desktop Entry\]\nType=Application\n/);
    for (const flag of [
      '-rfbauth /home/alice/.vnc/passwd',
      '-forever',
      '-shared',
      '-rfbport 5900',
      '-display :0',
    ]) {
      assert.ok(exec.includes(flag), `${flag} missing from ${exec}`);
    }
  });

  test('forces Xorg and auto-login in custom.conf and keeps the other lines', async () => {
    const conf = await text(join(rig.root, 'etc/gdm3/custom.conf'));
    assert.equal(
      conf,
      `# GDM configuration storage
[daemon]
WaylandEnable=false
AutomaticLoginEnable=true
AutomaticLogin=alice
# Uncomment the line below to force the login screen to use Xorg
#WaylandEnable=false

[security]

[debug]
#Enable=true
`,
    );
  });

  test('installs the profile as client.conf (600) with auth-user-pass pointing at client.auth (600)', async () => {
    const dir = join(rig.root, 'etc/openvpn/client');
    const conf = await text(join(dir, 'client.conf'));
    assert.equal(
      conf,
      'client\ndev tun\nremote vpn.example.net 1194\nauth-user-pass /etc/openvpn/client/client.auth\n',
    );
    assert.equal(await mode(join(dir, 'client.conf')), 0o600);
    assert.equal(await text(join(dir, 'client.auth')), `vpnuser\n${VPN_PASSWORD}\n`);
    assert.equal(await mode(join(dir, 'client.auth')), 0o600);
    assert.ok(
      (await rig.calls()).includes('systemctl enable openvpn-client@client.service'),
    );
  });

  test('only warns when the VPN check host does not answer', async () => {
    assert.ok((await rig.calls()).includes('ping -c 3 -W 5 10.8.0.1'));
    assert.match(log, /warning: 10\.8\.0\.1 does not answer a ping/);
  });

  test('unpacks Telegram into /opt/telegram, links it and adds a menu entry', async () => {
    assert.equal(
      await text(join(rig.root, 'opt/telegram/Telegram/Telegram')),
      '#!/bin/sh\necho telegram\n',
    );
    assert.equal(await mode(join(rig.root, 'opt/telegram/Telegram/Telegram')), 0o755);
    assert.ok((await stat(join(rig.root, 'opt/telegram/Telegram/Updater'))).isFile());
    const link = await readlink(join(rig.root, 'usr/local/bin/telegram-desktop'));
    assert.equal(link, '/opt/telegram/Telegram/Telegram');
    const entry = await text(
      join(rig.root, 'usr/share/applications/telegram-desktop.desktop'),
    );
    assert.match(entry, /^Exec=\/opt\/telegram\/Telegram\/Telegram -- %u$/m);
    assert.match(entry, /^Name=Telegram Desktop$/m);
  });

  test('skips GNOME first-login wizard and writes the completion flag', async () => {
    assert.equal(await text(join(home(), '.config/gnome-initial-setup-done')), 'yes\n');
    assert.ok((await stat(join(home(), 'vm_setup_complete.flag'))).isFile());
    assert.ok(
      (await rig.calls()).includes(
        `chown alice: ${join(home(), 'vm_setup_complete.flag')}`,
      ),
    );
  });

  test('reports success to REPORT_URL with the whole log as the body', () => {
    assert.equal(rig.received.reports.length, 1);
    const [report] = rig.received.reports;
    assert.equal(report?.status, 'success');
    assert.equal(report?.body, log);
    assert.match(log, /finished: status=success \(exit status 0\)\n$/);
    assert.deepEqual(rig.received.phases, ['packages', 'desktop', 'openvpn', 'telegram']);
  });

  test('never writes the VNC or VPN password (or the hash) to the log', () => {
    assert.ok(!log.includes(VNC_PASSWORD));
    assert.ok(!log.includes(VPN_PASSWORD));
    assert.ok(!log.includes('$6$qvmtestsalt'));
  });

  test('a second run ends in the same state without duplicated lines', async () => {
    const before = await snapshot(rig.root);
    const second = await runSetup(rig, envFile);
    assert.equal(second.code, 0, second.stderr);
    assert.deepEqual(await snapshot(rig.root), before);
    assert.equal(
      (await rig.calls()).filter((call) => call.startsWith('useradd')).length,
      1,
    );
    assert.deepEqual(
      rig.received.reports.map((r) => r.status),
      ['success', 'success'],
    );
    assert.equal(await text(join(rig.root, 'var/log/setup_vm_in_guest.log.1')), log);
  });
});

describe('setup_vm_in_guest.sh when things go wrong or are left out', () => {
  test('a failing apt-get makes it exit non-zero and report failure with the log', () =>
    withGuestRig(async (rig) => {
      const envFile = await stageGuestFiles(rig);
      const result = await runSetup(rig, envFile, { env: { STUB_APT_FAIL: '1' } });
      assert.notEqual(result.code, 0);
      assert.deepEqual(
        rig.received.reports.map((r) => r.status),
        ['failure'],
      );
      assert.match(
        rig.received.reports[0]?.body ?? '',
        /E: stub apt-get fails on purpose/,
      );
      assert.match(
        rig.received.reports[0]?.body ?? '',
        /status=failure \(exit status 100\)/,
      );
      await assert.rejects(stat(join(rig.root, 'home/alice/vm_setup_complete.flag')));
      // hook.sh needs no fallback report: the script's own went out.
      assert.ok((await stat(join(rig.root, 'root/qvm/reported'))).isFile());
    }));

  test('falls back to curl when wget fails, for Telegram and for the report', () =>
    withGuestRig(async (rig) => {
      const envFile = await stageGuestFiles(rig);
      const result = await runSetup(rig, envFile, { stubs: { wget: 'exit 4' } });
      assert.equal(result.code, 0, result.stderr);
      assert.deepEqual(
        rig.received.reports.map((r) => r.status),
        ['success'],
      );
      assert.ok((await stat(join(rig.root, 'opt/telegram/Telegram/Telegram'))).isFile());
    }));

  test('works with busybox wget, which has no time-limit options', () =>
    withGuestRig(async (rig) => {
      const envFile = await stageGuestFiles(rig);
      const result = await runSetup(rig, envFile, {
        stubs: { wget: 'exec busybox wget "$@"' },
      });
      assert.equal(result.code, 0, result.stderr);
      assert.deepEqual(
        rig.received.reports.map((r) => r.status),
        ['success'],
      );
      assert.ok((await stat(join(rig.root, 'opt/telegram/Telegram/Telegram'))).isFile());
      assert.ok((await rig.calls()).some((call) => call.startsWith('wget -q -O ')));
    }));

  test('skips Telegram and the VPN check when their values are empty, and warns about a missing auth file', () =>
    withGuestRig(async (rig) => {
      const envFile = await stageGuestFiles(
        rig,
        { telegram_url: null, vpn_check_host: null },
        false,
      );
      const result = await runSetup(rig, envFile);
      assert.equal(result.code, 0, result.stderr);
      const log = await text(join(rig.root, 'var/log/setup_vm_in_guest.log'));
      assert.match(log, /skipping Telegram Desktop: TELEGRAM_URL is empty/);
      assert.match(log, /skipping the VPN check: VPN_CHECK_HOST is empty/);
      assert.match(
        log,
        /warning: the profile asks for a user name and password but this VM has no auth file/,
      );
      await assert.rejects(stat(join(rig.root, 'opt/telegram')));
      await assert.rejects(stat(join(rig.root, 'etc/openvpn/client/client.auth')));
      assert.ok(!(await rig.calls()).some((call) => call.startsWith('ping')));
    }));
});

describe('installer-hook.sh', () => {
  let rig: GuestRig;
  before(async () => {
    rig = await makeGuestRig();
  });
  after(() => rig.close());

  // Runs hook.sh as the installer would, with busybox's wget as in d-i.
  async function runHook(
    shell: string[],
    flavour: string,
    env: Record<string, string> = {},
  ) {
    await rm(rig.root, { recursive: true, force: true });
    await rm(join(rig.dir, 'calls.log'), { force: true });
    await mkdir(join(rig.dir, 'tmp'), { recursive: true });
    await rm(join(rig.dir, 'tmp/qvm-reported'), { force: true });
    await rm(join(rig.dir, 'tmp/qvm-hook.log'), { force: true });
    rig.received.reports.length = 0;
    const hook = join(rig.dir, 'hook.sh');
    await writeFile(hook, rig.files.get('hook.sh') ?? '');
    return rig.run([...shell, hook, flavour], {
      env: { QVM_INSTALLER_TARGET: rig.root, QVM_HOOK_TMP: join(rig.dir, 'tmp'), ...env },
      stubs: { wget: 'exec busybox wget "$@"' },
    });
  }

  test('fetches the setup files into /target/root/qvm (700, files 600) and runs them with in-target', async () => {
    const served = await serveGuestFiles(rig);
    const result = await runHook(['busybox', 'sh'], 'debian', {
      STUB_SETUP_REPORTS: '1',
    });
    assert.equal(result.code, 0, result.stderr);

    const qvm = join(rig.root, 'root/qvm');
    assert.equal(await mode(qvm), 0o700);
    for (const name of ['setup_vm_in_guest.sh', 'setup.env', 'client.ovpn', 'vpn.auth']) {
      assert.deepEqual(await readFile(join(qvm, name)), served.get(name)?.body, name);
      assert.equal(await mode(join(qvm, name)), 0o600, name);
    }
    const calls = await rig.calls();
    assert.ok(
      calls.includes('in-target bash /root/qvm/setup_vm_in_guest.sh /root/qvm/setup.env'),
    );
    assert.deepEqual(
      rig.received.reports,
      [],
      'the setup script reported; hook.sh must not',
    );
    assert.ok((await stat(join(rig.dir, 'tmp/qvm-reported'))).isFile());
  });

  test('runs the setup script through curtin in-target -- for subiquity', async () => {
    await serveGuestFiles(rig);
    const result = await runHook(['dash'], 'subiquity', { STUB_SETUP_REPORTS: '1' });
    assert.equal(result.code, 0, result.stderr);
    const calls = await rig.calls();
    assert.ok(
      calls.includes(
        'curtin in-target -- bash /root/qvm/setup_vm_in_guest.sh /root/qvm/setup.env',
      ),
    );
  });

  test('does not ask for vpn.auth when the VM has none', async () => {
    await serveGuestFiles(rig, {}, false);
    rig.files.delete('vpn.auth');
    const result = await runHook(['dash'], 'ubiquity', { STUB_SETUP_REPORTS: '1' });
    assert.equal(result.code, 0, result.stderr);
    assert.ok(!(await rig.calls()).some((call) => call.includes('vpn.auth')));
    await assert.rejects(stat(join(rig.root, 'root/qvm/vpn.auth')));
  });

  test('reports failure with its own log and the setup log when the script failed without reporting', async () => {
    await serveGuestFiles(rig);
    const env = {
      STUB_SETUP_EXIT: '3',
      STUB_SETUP_LOG: 'setup_vm_in_guest: error: no disk space',
    };
    const result = await runHook(['dash'], 'ubiquity', env);
    assert.equal(result.code, 3);
    assert.deepEqual(
      rig.received.reports.map((r) => r.status),
      ['failure'],
    );
    const body = rig.received.reports[0]?.body ?? '';
    assert.match(
      body,
      /qvm-hook: the setup script failed \(exit status 3\) without reporting/,
    );
    assert.match(body, /setup_vm_in_guest: error: no disk space/);
  });

  test('reports success for a setup script that succeeded but could not report', async () => {
    await serveGuestFiles(rig);
    const result = await runHook(['dash'], 'debian');
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(
      rig.received.reports.map((r) => r.status),
      ['success'],
    );
  });

  test('reports failure when a setup file cannot be fetched, without running anything', async () => {
    await serveGuestFiles(rig);
    rig.files.delete('client.ovpn');
    const result = await runHook(['busybox', 'sh'], 'debian');
    assert.equal(result.code, 1);
    assert.deepEqual(
      rig.received.reports.map((r) => r.status),
      ['failure'],
    );
    assert.match(
      rig.received.reports[0]?.body ?? '',
      /could not fetch http:\S+\/client\.ovpn/,
    );
    assert.ok(!(await rig.calls()).some((call) => call.startsWith('in-target')));
  });

  test('rejects an unknown flavour and reports failure', async () => {
    await serveGuestFiles(rig);
    const result = await runHook(['dash'], 'anaconda');
    assert.equal(result.code, 1);
    assert.match(
      rig.received.reports[0]?.body ?? '',
      /unknown installer flavour 'anaconda'/,
    );
  });
});
