/**
 * A small QMP client over QEMU's unix socket: connect, negotiate
 * capabilities, run commands one at a time, close. QEMU's monitor serves one
 * client at a time, so every caller closes as soon as it has its answer.
 */
import { createConnection, type Socket } from 'node:net';

/** A command QEMU answered with an error (`{"error": {"class", "desc"}}`). */
export class QmpError extends Error {
  override name = 'QmpError';
  constructor(
    readonly command: string,
    readonly errorClass: string,
    desc: string,
  ) {
    super(`QMP ${command} failed: ${errorClass}: ${desc}`);
  }
}

type Pending = {
  command: string;
  resolve(value: unknown): void;
  reject(err: Error): void;
};

/** One QMP session. */
export class QmpClient {
  private buffer = '';
  private nextId = 1;
  private readonly pending = new Map<string, Pending>();
  private greeted?: () => void;
  private closedError?: Error;

  private constructor(
    private readonly socket: Socket,
    readonly path: string,
  ) {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => this.receive(chunk));
    socket.on('error', (err) =>
      this.fail(new Error(`QMP socket ${path}: ${err.message}`)),
    );
    socket.on('close', () => this.fail(new Error(`QMP socket ${path} closed`)));
  }

  /** Connects and negotiates `qmp_capabilities`; rejects after `timeoutMs`. */
  static async connect(path: string, timeoutMs = 3000): Promise<QmpClient> {
    const socket = createConnection(path);
    const client = new QmpClient(socket, path);
    const greeting = new Promise<void>((resolve, reject) => {
      client.greeted = resolve;
      socket.once('error', reject);
    });
    try {
      await withTimeout(greeting, timeoutMs, `QMP greeting on ${path}`);
      await client.execute('qmp_capabilities', undefined, timeoutMs);
    } catch (err) {
      client.close();
      throw err;
    }
    return client;
  }

  /** Runs `command` and resolves with its `return` value. */
  execute<T = unknown>(
    command: string,
    args?: Record<string, unknown>,
    timeoutMs = 5000,
  ): Promise<T> {
    if (this.closedError) return Promise.reject(this.closedError);

    const id = String(this.nextId++);
    const answer = new Promise<unknown>((resolve, reject) => {
      this.pending.set(id, { command, resolve, reject });
    });
    this.socket.write(JSON.stringify({ execute: command, arguments: args, id }) + '\n');
    return withTimeout(answer, timeoutMs, `QMP ${command} on ${this.path}`).finally(() =>
      this.pending.delete(id),
    ) as Promise<T>;
  }

  close(): void {
    this.socket.destroy();
  }

  private receive(chunk: string): void {
    this.buffer += chunk;
    let newline: number;
    while ((newline = this.buffer.indexOf('\n')) >= 0) {
      const line = this.buffer.slice(0, newline).trim();
      this.buffer = this.buffer.slice(newline + 1);
      if (line !== '') this.dispatch(JSON.parse(line) as Record<string, unknown>);
    }
  }

  // Events (`{"event": ...}`) arrive between answers and are ignored.
  private dispatch(message: Record<string, unknown>): void {
    if ('QMP' in message) return this.greeted?.();
    const waiter = this.pending.get(String(message.id));
    if (!waiter) return;
    if ('return' in message) return waiter.resolve(message.return);
    const error = (message.error ?? {}) as { class?: string; desc?: string };
    waiter.reject(
      new QmpError(waiter.command, error.class ?? 'unknown', error.desc ?? ''),
    );
  }

  private fail(err: Error): void {
    this.closedError ??= err;
    for (const waiter of this.pending.values()) waiter.reject(err);
    this.pending.clear();
  }
}

/** Connects, runs one command, closes: for status checks. */
export async function qmpCommand<T = unknown>(
  path: string,
  command: string,
  args?: Record<string, unknown>,
  timeoutMs = 3000,
): Promise<T> {
  const client = await QmpClient.connect(path, timeoutMs);
  try {
    return await client.execute<T>(command, args, timeoutMs);
  } finally {
    client.close();
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
