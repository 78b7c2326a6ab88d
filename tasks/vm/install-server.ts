/**
 * The answer-file server for one install: bound to 127.0.0.1 on a port the
 * OS picks (the guest reaches it as 10.0.2.2), serving only this VM's files
 * from memory under a random path, and taking the guest's report.
 * See docs/contracts.md for the paths.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ServedFile } from './render.ts';

export interface GuestReport {
  status: 'success' | 'failure';
  log: string;
}

export interface InstallServerEvents {
  /** Every request, as "GET /<token>/user-data 200" (the token is replaced by ...). */
  onRequest(line: string): void;
  /** A file was fetched (its name under BASE). */
  onFetch(name: string): void;
  /** The guest marked a phase of its setup. */
  onPhase(phase: string): void;
  onReport(report: GuestReport): void;
}

const MAX_BODY = 16 * 1024 * 1024;

export class InstallServer {
  readonly token = randomBytes(16).toString('hex');
  private server: Server | undefined;
  private files = new Map<string, ServedFile>();

  constructor(private readonly events: InstallServerEvents) {}

  /** Starts listening; returns the port. */
  async start(): Promise<number> {
    this.server = createServer((req, res) => {
      this.handle(req)
        .then(([status, body]) => {
          res.writeHead(status, { 'content-type': 'application/octet-stream' });
          res.end(body);
        })
        .catch(() => {
          res.writeHead(500);
          res.end();
        });
    });
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(0, '127.0.0.1', resolve);
    });
    return (this.server.address() as AddressInfo).port;
  }

  /** The URL prefix the guest uses, ending in '/'. */
  baseUrl(port: number): string {
    return `http://10.0.2.2:${port}/${this.token}/`;
  }

  setFiles(files: Map<string, ServedFile>): void {
    this.files = files;
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage): Promise<[number, Buffer | string]> {
    const url = new URL(req.url ?? '/', 'http://host');
    const prefix = `/${this.token}/`;
    const shown = `${req.method} ${url.pathname.replace(this.token, '…')}${url.search}`;
    if (!url.pathname.startsWith(prefix)) {
      this.events.onRequest(`${shown} 404 (outside this install's path)`);
      return [404, 'not found\n'];
    }
    const name = url.pathname.slice(prefix.length);

    if (req.method === 'GET') {
      const file = this.files.get(name);
      this.events.onRequest(`${shown} ${file ? 200 : 404}`);
      if (!file) return [404, 'not found\n'];
      this.events.onFetch(name);
      return [200, file.body];
    }
    if (req.method === 'POST' && (name === 'report' || name === 'log')) {
      const body = await readBody(req);
      this.events.onRequest(`${shown} 200 (${body.length} bytes)`);
      if (name === 'log') {
        this.events.onPhase(url.searchParams.get('phase') ?? 'progress');
      } else {
        const status =
          url.searchParams.get('status') === 'success' ? 'success' : 'failure';
        this.events.onReport({ status, log: body.toString('utf8') });
      }
      return [200, 'ok\n'];
    }
    this.events.onRequest(`${shown} 405`);
    return [405, 'method not allowed\n'];
  }
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY) {
        req.destroy();
        reject(new Error('body too large'));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}
