/**
 * Just enough of the RFB (VNC) protocol, RFC 6143, to tell whether a port
 * has a VNC server behind it and which authentication it offers: the
 * 12-byte version greeting, then the security types of RFB 3.7 and later.
 */
import { connect, type Socket } from 'node:net';

/** RFC 6143 7.1.2: security type 1 is None, 2 is VNC Authentication. */
export const RFB_SECURITY_VNC_AUTH = 2;

const GREETING = /^RFB \d{3}\.\d{3}\n$/;

/** A host to connect to for a listen address: a wildcard means this host. */
export function connectHost(listenAddress: string): string {
  if (listenAddress === '0.0.0.0' || listenAddress === '') return '127.0.0.1';
  if (listenAddress === '::') return '::1';
  return listenAddress;
}

/**
 * The server's greeting (`RFB 003.008`) on `host:port`, or undefined when
 * nothing answers with one within `timeoutMs`.
 */
export async function readRfbGreeting(
  host: string,
  port: number,
  timeoutMs = 1500,
): Promise<string | undefined> {
  const session = await open(host, port, timeoutMs);
  if (!session) return undefined;
  try {
    const greeting = (await session.read(12))?.toString('latin1');
    return greeting && GREETING.test(greeting) ? greeting.trimEnd() : undefined;
  } finally {
    session.socket.destroy();
  }
}

/**
 * The security types the server offers after the version handshake, e.g.
 * [2] for VNC authentication only. Undefined when the handshake fails.
 */
export async function rfbSecurityTypes(
  host: string,
  port: number,
  timeoutMs = 1500,
): Promise<number[] | undefined> {
  const session = await open(host, port, timeoutMs);
  if (!session) return undefined;
  try {
    const greeting = (await session.read(12))?.toString('latin1');
    if (!greeting || !GREETING.test(greeting)) return undefined;
    // Answer with the same version (capped at 3.8); 3.3 servers pick the type themselves.
    const version = greeting < 'RFB 003.008\n' ? greeting : 'RFB 003.008\n';
    session.socket.write(version);
    if (version < 'RFB 003.007\n') {
      const chosen = await session.read(4);
      return chosen ? [chosen.readUInt32BE(0)] : undefined;
    }
    const count = (await session.read(1))?.readUInt8(0);
    if (!count) return count === 0 ? [] : undefined;
    const types = await session.read(count);
    return types ? [...types] : undefined;
  } finally {
    session.socket.destroy();
  }
}

interface Session {
  socket: Socket;
  /** Resolves with exactly `n` bytes, or undefined on close or timeout. */
  read(n: number): Promise<Buffer | undefined>;
}

function open(
  host: string,
  port: number,
  timeoutMs: number,
): Promise<Session | undefined> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    let buffered = Buffer.alloc(0);
    let waiter: (() => void) | undefined;
    const deadline = setTimeout(() => socket.destroy(), timeoutMs);
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      waiter?.();
    });
    socket.on('close', () => {
      clearTimeout(deadline);
      waiter?.();
      resolve(undefined); // no effect once connected
    });
    socket.on('error', () => undefined); // 'close' follows
    socket.on('connect', () =>
      resolve({
        socket,
        read: (n) =>
          new Promise((done) => {
            const take = () => {
              if (buffered.length >= n) {
                const out = buffered.subarray(0, n);
                buffered = buffered.subarray(n);
                waiter = undefined;
                done(out);
              } else if (socket.destroyed) {
                waiter = undefined;
                done(undefined);
              }
            };
            waiter = take;
            take();
          }),
      }),
    );
  });
}
