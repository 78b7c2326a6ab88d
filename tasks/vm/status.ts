/**
 * What each VM is doing right now, read from reality rather than from the
 * task records: its process, CPU use over about a second, the cap the kernel
 * or cpulimit applies, its VNC ports and the QMP run state. All VMs are
 * measured at once, so ten VMs take about as long as one.
 */
import { join, resolve } from 'node:path';
import { exists, formatDuration } from '../engine/fs-util.ts';
import { vmRunPaths } from './boot-args.ts';
import type { VmConfig } from './config-types.ts';
import { readCaps } from './cpu-cap/pick.ts';
import { measureCpu, processUptime } from './cpu-cap/procfs.ts';
import type { CapReading } from './cpu-cap/types.ts';
import { QmpClient } from './qmp.ts';
import { connectHost, readRfbGreeting } from './rfb.ts';
import { findRunningQemu } from './vm-process.ts';

/**
 * `running`: its QEMU is alive. `stopped`: installed and booted before, not
 * running now. `installed`: the disk exists, never booted. `not installed`: no disk.
 */
export type VmState = 'not installed' | 'installed' | 'running' | 'stopped';

/** One VM's status; null where the VM is not running or the value could not be read. */
export interface VmStatus {
  vm: string;
  state: VmState;
  pid: number | null;
  uptimeSeconds: number | null;
  /** CPU use over the sample, in percent of one core. */
  cpuPercent: number | null;
  /** The configured cap, percent of one core. */
  capTarget: number;
  /** The caps read back from the system (normally one). */
  caps: CapReading[];
  /** QEMU's VNC console, as QMP `query-vnc` reports it. */
  console: { host: string; port: number | null; auth: string | null };
  /** The guest's forwarded VNC, with the greeting it answered, if any. */
  guestVnc: { host: string; port: number; greeting: string | null };
  /** QMP `query-status`: running, paused, shutdown... */
  runState: string | null;
}

/** Status of every VM in `configs`, measured concurrently over `sampleMs`. */
export async function collectStatus(
  configs: VmConfig[],
  buildDir: string,
  sampleMs = 1000,
): Promise<VmStatus[]> {
  return Promise.all(
    configs.map((config) => statusOf(config, resolve(buildDir), sampleMs)),
  );
}

async function statusOf(
  config: VmConfig,
  buildDir: string,
  sampleMs: number,
): Promise<VmStatus> {
  const vm = `vm-${config.vm_id}`;
  const runDir = join(buildDir, 'run');
  const row: VmStatus = {
    vm,
    state: 'not installed',
    pid: null,
    uptimeSeconds: null,
    cpuPercent: null,
    capTarget: config.cpu_limit_percent,
    caps: [],
    console: { host: config.listen_address, port: null, auth: null },
    guestVnc: { host: config.listen_address, port: config.vnc_port_host, greeting: null },
    runState: null,
  };

  const qemu = await findRunningQemu(config, runDir);
  if (!qemu) {
    if (await exists(join(buildDir, 'disks', `${vm}.qcow2`))) {
      const booted = await exists(join(buildDir, '.state', 'tasks', `${vm}.boot.json`));
      row.state = booted ? 'stopped' : 'installed';
    }
    return row;
  }

  row.state = 'running';
  row.pid = qemu.pid;
  const qmpPath = vmRunPaths(runDir, config.vm_id).qmp;
  const [cpu, uptime, caps, qmp, greeting] = await Promise.all([
    measureCpu(qemu.pid, sampleMs),
    processUptime(qemu.pid),
    readCaps(qemu.pid),
    askQmp(qmpPath),
    readRfbGreeting(connectHost(config.listen_address), config.vnc_port_host),
  ]);
  row.cpuPercent = cpu === undefined ? null : Math.round(cpu * 10) / 10;
  row.uptimeSeconds = uptime === undefined ? null : Math.round(uptime);
  row.caps = caps;
  row.runState = qmp?.runState ?? null;
  row.console = {
    host: qmp?.host ?? config.listen_address,
    port: qmp?.port ?? null,
    auth: qmp?.auth ?? null,
  };
  row.guestVnc.greeting = greeting ?? null;
  return row;
}

interface QmpView {
  runState: string;
  host?: string;
  port?: number;
  auth?: string;
}

// One QMP session for both questions: the monitor serves one client at a time.
async function askQmp(path: string): Promise<QmpView | undefined> {
  let client: QmpClient | undefined;
  try {
    client = await QmpClient.connect(path, 2000);
    const status = await client.execute<{ status: string }>(
      'query-status',
      undefined,
      2000,
    );
    const vnc = await client.execute<{
      enabled: boolean;
      host?: string;
      service?: string;
      auth?: string;
    }>('query-vnc', undefined, 2000);
    const port = vnc.enabled && vnc.service ? Number(vnc.service) : undefined;
    return { runState: status.status, host: vnc.host, port, auth: vnc.auth };
  } catch {
    return undefined;
  } finally {
    client?.close();
  }
}

/** A plain-text table, one line per VM, for a terminal or a CI log. */
export function renderStatusTable(rows: VmStatus[]): string {
  const header = [
    'VM',
    'STATE',
    'PID',
    'UPTIME',
    'CPU',
    'CAP',
    'CONSOLE VNC',
    'GUEST VNC',
    'QMP',
  ];
  const lines = rows.map((r) => [
    r.vm,
    r.state,
    r.pid === null ? '-' : String(r.pid),
    r.uptimeSeconds === null ? '-' : formatDuration(r.uptimeSeconds * 1000),
    r.cpuPercent === null ? '-' : `${r.cpuPercent.toFixed(1)}%`,
    r.state !== 'running' ? '-' : describeCaps(r),
    r.console.port === null
      ? '-'
      : `${r.console.host}:${r.console.port} (${r.console.auth ?? '?'})`,
    r.state !== 'running'
      ? '-'
      : `${r.guestVnc.host}:${r.guestVnc.port} ${r.guestVnc.greeting ?? 'no answer'}`,
    r.runState ?? '-',
  ]);
  const table = [header, ...lines];
  const widths = header.map((_, i) =>
    Math.max(...table.map((cells) => cells[i]!.length)),
  );
  return (
    table
      .map((cells) =>
        cells
          .map((c, i) => c.padEnd(widths[i]!))
          .join('  ')
          .trimEnd(),
      )
      .join('\n') + '\n'
  );
}

/** The rows as JSON, for `status --json`. */
export function statusJson(rows: VmStatus[]): string {
  return JSON.stringify(rows, null, 2) + '\n';
}

function describeCaps(row: VmStatus): string {
  if (row.caps.length === 0) return `none (want ${row.capTarget}%)`;
  return row.caps.map((c) => `${c.mechanism} ${c.percent}%`).join(' + ');
}
