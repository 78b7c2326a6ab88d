/**
 * A rig for running the guest scripts on this machine: a scratch target root,
 * stub system commands that log their arguments, and a real HTTP server on
 * 127.0.0.1 that plays the host's install server (serves files, takes
 * reports and progress marks) and a Telegram download link.
 */
import { execFile } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

const SETUP_IN_TARGET = [
  'log="$QVM_INSTALLER_TARGET/var/log/setup_vm_in_guest.log"',
  '[ -z "${STUB_SETUP_LOG:-}" ] || { mkdir -p "${log%/*}"; echo "$STUB_SETUP_LOG" >"$log"; }',
  '[ -z "${STUB_SETUP_REPORTS:-}" ] || : >"$QVM_INSTALLER_TARGET/root/qvm/reported"',
  'exit "${STUB_SETUP_EXIT:-0}"',
].join('\n');

/** Stub bodies run by /bin/sh after the line that logs `NAME ARGS` to $STUB_CALLS. */
export const DEFAULT_STUBS: Record<string, string> = {
  'apt-get':
    '[ -z "${STUB_APT_FAIL:-}" ] || { echo "E: stub apt-get fails on purpose" >&2; exit 100; }',
  systemctl: '',
  chown: '',
  // id -u NAME succeeds once useradd "created" NAME.
  id: '[ -e "$STUB_STATE/user-$2" ]',
  useradd: 'for last; do :; done; touch "$STUB_STATE/user-$last"',
  x11vnc:
    '[ "$1" != -storepasswd ] || { printf obfuscated >"$3"; echo "stored passwd in file: $3"; }',
  // Nothing answers inside the installer: the VPN is not up yet.
  ping: 'exit 1',
  // hook.sh's way into the target. The setup script it would run writes
  // STUB_SETUP_LOG as its log, "reports" when STUB_SETUP_REPORTS is set and
  // exits with STUB_SETUP_EXIT.
  'in-target': SETUP_IN_TARGET,
  curtin: SETUP_IN_TARGET,
};

/** What the fake install server received. */
export interface Received {
  reports: Array<{ status: string; body: string }>;
  phases: string[];
}

/** The outcome of one script run. */
export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** One scratch directory with its server; `close()` removes both. */
export interface GuestRig {
  dir: string;
  /** The scratch target root (QVM_TARGET_ROOT, or /target for hook.sh). */
  root: string;
  /** http://127.0.0.1:PORT */
  origin: string;
  /** BASE under which `files` are served and reports are taken. */
  base: string;
  /** The URL that redirects to the Telegram tarball, like the official link. */
  telegramUrl: string;
  files: Map<string, Buffer>;
  received: Received;
  calls(): Promise<string[]>;
  run(
    args: string[],
    opts?: { env?: Record<string, string>; stubs?: Record<string, string> },
  ): Promise<RunResult>;
  close(): Promise<void>;
}

const TOKEN = 'feedfacefeedfacefeedfacefeedface';

/** Builds the rig: stubs, a Telegram tarball made with `tar -cJf`, and the server. */
export async function makeGuestRig(): Promise<GuestRig> {
  const dir = await mkdtemp(join(tmpdir(), 'qvm-guest-'));
  const root = join(dir, 'target');
  await mkdir(join(dir, 'state'));
  await mkdir(root);
  await writeStubs(join(dir, 'bin'), DEFAULT_STUBS);
  const tarball = await makeTelegramTarball(dir);

  const received: Received = { reports: [], phases: [] };
  const files = new Map<string, Buffer>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://rig');
      const body = Buffer.concat(chunks).toString('utf8');
      const name = url.pathname.slice(`/${TOKEN}/`.length);
      if (url.pathname === '/telegram/latest') {
        res.writeHead(302, { location: '/telegram/tsetup.5.0.1.tar.xz' }).end();
      } else if (url.pathname === '/telegram/tsetup.5.0.1.tar.xz') {
        res.writeHead(200).end(tarball);
      } else if (req.method === 'POST' && name === 'report') {
        received.reports.push({ status: url.searchParams.get('status') ?? '', body });
        res.writeHead(200).end('ok\n');
      } else if (req.method === 'POST' && name === 'log') {
        received.phases.push(url.searchParams.get('phase') ?? '');
        res.writeHead(200).end('ok\n');
      } else if (req.method === 'GET' && files.has(name)) {
        res.writeHead(200).end(files.get(name));
      } else {
        res.writeHead(404).end('not found\n');
      }
    });
  });
  const origin = await listen(server);

  return {
    dir,
    root,
    origin,
    base: `${origin}/${TOKEN}/`,
    telegramUrl: `${origin}/telegram/latest`,
    files,
    received,
    calls: async () =>
      (await readFile(join(dir, 'calls.log'), 'utf8').catch(() => ''))
        .split('\n')
        .filter(Boolean),
    run: (args, opts = {}) => runWithStubs(dir, root, args, opts),
    close: async () => {
      await new Promise((done) => server.close(done));
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Runs `fn` with a fresh rig and always closes it. */
export async function withGuestRig(fn: (rig: GuestRig) => Promise<void>): Promise<void> {
  const rig = await makeGuestRig();
  try {
    await fn(rig);
  } finally {
    await rig.close();
  }
}

async function runWithStubs(
  dir: string,
  root: string,
  args: string[],
  opts: { env?: Record<string, string>; stubs?: Record<string, string> },
): Promise<RunResult> {
  const extraBin = join(dir, 'bin-extra');
  await rm(extraBin, { recursive: true, force: true });
  await writeStubs(extraBin, opts.stubs ?? {});
  const env: Record<string, string | undefined> = {
    ...process.env,
    PATH: `${extraBin}:${join(dir, 'bin')}:${process.env.PATH ?? '/usr/bin:/bin'}`,
    QVM_TARGET_ROOT: root,
    STUB_CALLS: join(dir, 'calls.log'),
    STUB_STATE: join(dir, 'state'),
    ...opts.env,
  };
  for (const name of ['http_proxy', 'https_proxy', 'HTTP_PROXY', 'HTTPS_PROXY'])
    delete env[name];

  try {
    const { stdout, stderr } = await run(args[0] ?? 'true', args.slice(1), {
      env,
      timeout: 60_000,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const failure = err as { code?: number; stdout?: string; stderr?: string };
    if (typeof failure.code !== 'number') throw err;
    return {
      code: failure.code,
      stdout: failure.stdout ?? '',
      stderr: failure.stderr ?? '',
    };
  }
}

async function writeStubs(bin: string, stubs: Record<string, string>): Promise<void> {
  await mkdir(bin, { recursive: true });
  for (const [name, body] of Object.entries(stubs)) {
    const file = join(bin, name);
    const log = `printf '%s\\n' "${name} $*" >>"$STUB_CALLS"`;
    await writeFile(file, `#!/bin/sh\n${log}\n${body}\n`);
    await chmod(file, 0o755);
  }
}

// A stand-in for tsetup.X.Y.Z.tar.xz: unpacks to Telegram/Telegram and Telegram/Updater.
async function makeTelegramTarball(dir: string): Promise<Buffer> {
  const app = join(dir, 'tsetup', 'Telegram');
  await mkdir(app, { recursive: true });
  await writeFile(join(app, 'Telegram'), '#!/bin/sh\necho telegram\n', { mode: 0o755 });
  await writeFile(join(app, 'Updater'), '#!/bin/sh\necho updater\n', { mode: 0o755 });
  const tarball = join(dir, 'tsetup.tar.xz');
  await run('tar', ['-cJf', tarball, '-C', join(dir, 'tsetup'), 'Telegram']);
  return readFile(tarball);
}

function listen(server: Server): Promise<string> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    });
  });
}
