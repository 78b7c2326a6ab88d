/**
 * Is a VM's port free, and if not, who holds it? The holder is found the way
 * `ss -ltnp` does: the LISTEN socket's inode in /proc/net/tcp(6), then the
 * process whose /proc/PID/fd has a `socket:[inode]` link.
 */
import { readFile, readdir, readlink } from 'node:fs/promises';
import { createServer } from 'node:net';
import { allPids, readComm } from './cpu-cap/procfs.ts';

/** The process listening on a port. */
export interface PortHolder {
  pid: number;
  /** Its command name (comm), as `ps` shows it. */
  command: string;
}

/** A port that is taken, with its holder when /proc tells. */
export interface PortConflict {
  port: number;
  address: string;
  /** The bind error: `EADDRINUSE`, or `EADDRNOTAVAIL` when the address is not the host's. */
  code: string;
  holder?: PortHolder;
}

const TCP_LISTEN = '0A';

/** The process listening on TCP `port` (any address, IPv4 or IPv6), if one can be found. */
export async function findPortHolder(port: number): Promise<PortHolder | undefined> {
  const inodes = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    const text = await readFile(table, 'utf8').catch(() => '');
    for (const line of text.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      const local = fields[1];
      if (!local || fields[3] !== TCP_LISTEN) continue;
      if (parseInt(local.slice(local.lastIndexOf(':') + 1), 16) === port)
        inodes.add(fields[9]!);
    }
  }
  if (inodes.size === 0) return undefined;

  for (const pid of await allPids()) {
    const fds = await readdir(`/proc/${pid}/fd`).catch(() => [] as string[]);
    for (const fd of fds) {
      const link = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '');
      const inode = /^socket:\[(\d+)\]$/.exec(link)?.[1];
      if (inode !== undefined && inodes.has(inode)) {
        return { pid, command: (await readComm(pid)) ?? '?' };
      }
    }
  }
  return undefined;
}

/**
 * The ports among `ports` that cannot be bound on `address` right now, each
 * with its holder when found. Binding is the real test: it also catches a
 * holder in another network namespace that /proc cannot show.
 */
export async function checkPortsFree(
  ports: number[],
  address: string,
): Promise<PortConflict[]> {
  const conflicts: PortConflict[] = [];
  for (const port of ports) {
    const code = await bindError(port, address);
    if (code === undefined) continue;
    const holder = code === 'EADDRINUSE' ? await findPortHolder(port) : undefined;
    conflicts.push({ port, address, code, holder });
  }
  return conflicts;
}

/** `port 5901 on 127.0.0.1 is in use by pid 1234 (node)`. */
export function describeConflict(conflict: PortConflict): string {
  if (conflict.code === 'EADDRNOTAVAIL') {
    return `cannot listen on ${conflict.address}: it is not an address of this host`;
  }
  if (conflict.code !== 'EADDRINUSE') {
    return `cannot listen on port ${conflict.port} on ${conflict.address} (${conflict.code})`;
  }
  const where = `port ${conflict.port} on ${conflict.address} is in use`;
  if (!conflict.holder) return `${where} (holder not visible in /proc)`;
  return `${where} by pid ${conflict.holder.pid} (${conflict.holder.command})`;
}

/** The error code binding `address:port` gives, or undefined when it binds. */
function bindError(port: number, address: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', (err: NodeJS.ErrnoException) =>
      resolve(err.code ?? err.message),
    );
    server.listen({ port, host: address, exclusive: true }, () =>
      server.close(() => resolve(undefined)),
    );
  });
}
