/**
 * A temporary fleet project for integration tests: fleet.yaml, the fixture
 * installer ISO, VPN profiles and (optionally) its own templates/, with the
 * real CLI run against it under TCG.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFile, cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { finish, NODE_ARGS, REPO, type CliResult } from '../../engine/rig.ts';
import { buildFixtureIso } from '../../fixture/build-installer-iso.ts';
import { leftoverProcesses } from '../../fixture/build-running-guest.ts';

export type FixtureFlavour = 'ubiquity' | 'subiquity' | 'debian';

export class Project {
  private constructor(readonly dir: string) {}

  static async create(opts: {
    flavour: FixtureFlavour;
    count: number;
    fleet?: string;
    templates?: boolean;
  }): Promise<Project> {
    const project = new Project(await mkdtemp(join(tmpdir(), 'qvm-fleet-')));
    await mkdir(join(project.dir, 'iso'), { recursive: true });
    await copyFile(
      await buildFixtureIso(opts.flavour),
      join(project.dir, 'iso/ubuntu-desktop.iso'),
    );
    for (let i = 1; i <= opts.count; i++) {
      await project.write(
        `vpn/vpn-${i}.ovpn`,
        `client\nremote vpn-${i}.example.net 1194\nauth-user-pass\n`,
      );
    }
    if (opts.templates)
      await cp(join(REPO, 'templates'), join(project.dir, 'templates'), {
        recursive: true,
      });
    await project.write(
      'fleet.yaml',
      opts.fleet ??
        `count: ${opts.count}\naccel: tcg\n${testPorts()}defaults:\n  ram_size_mb: 640\n  telegram_url: null\n  install_timeout_minutes: 4\n`,
    );
    return project;
  }

  async write(path: string, content: string): Promise<void> {
    await mkdir(dirname(join(this.dir, path)), { recursive: true });
    await writeFile(join(this.dir, path), content);
  }

  async read(path: string): Promise<string> {
    return readFile(join(this.dir, path), 'utf8');
  }

  start(args: string[]): ChildProcess {
    return spawn(process.execPath, [...NODE_ARGS, ...args], {
      cwd: this.dir,
      env: { ...process.env, QVM_ACCEL: 'tcg', CI: 'true' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  }

  cli(args: string[]): Promise<CliResult> {
    return finish(this.start(args));
  }

  /** Pids of QEMU processes started for this project (their command line names its build/). */
  async qemuPids(): Promise<number[]> {
    return (await leftoverProcesses(join(this.dir, 'build'))).map((p) => p.pid);
  }

  async dispose(): Promise<void> {
    for (const pid of await this.qemuPids()) process.kill(pid, 'SIGKILL');
    await rm(this.dir, { recursive: true, force: true });
  }
}

/**
 * Port bases for a test fleet, away from 5900/6000 where a real fleet on the
 * same host may listen, and different for each project.
 */
export function testPorts(): string {
  const base = 20000 + Math.floor(Math.random() * 200) * 100;
  return `vnc_port_host_base: ${base}\nvnc_port_console_base: ${base + 50}\n`;
}

/** Task names that started running, from --json output. */
export function startedTasks(stdout: string): string[] {
  return stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l))
    .filter((e) => e.type === 'task-start')
    .map((e) => e.task as string);
}
