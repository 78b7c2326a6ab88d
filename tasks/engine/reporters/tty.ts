/**
 * The terminal view: the same lines as the plain view, plus a live footer
 * with each running task, its current phase and how long it has run.
 */
import type { EngineEvent, Reporter } from '../events.ts';
import { formatDuration } from '../fs-util.ts';
import { formatEvent } from './plain.ts';

interface Running {
  since: number;
  phase: string;
  estimateMs?: number;
}

const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

export class TtyReporter implements Reporter {
  private readonly running = new Map<string, Running>();
  private footerLines = 0;
  private frame = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly stream: NodeJS.WriteStream,
    private readonly verbose: boolean,
  ) {
    this.timer = setInterval(() => this.redraw(), 200);
    this.timer.unref();
  }

  emit(event: EngineEvent): void {
    this.track(event);
    const line = formatEvent(event, this.verbose);
    this.clearFooter();
    if (line !== undefined) this.stream.write(line + '\n');
    this.drawFooter();
  }

  close(): void {
    clearInterval(this.timer);
    this.clearFooter();
  }

  private track(event: EngineEvent): void {
    if (event.type === 'task-start' && !event.reason.startsWith('dependency ')) {
      this.running.set(event.task, { since: Date.now(), phase: 'running' });
    } else if (event.type === 'task-phase') {
      const r = this.running.get(event.task);
      if (r)
        Object.assign(r, {
          phase: event.phase,
          estimateMs: event.estimateMs ?? r.estimateMs,
        });
    } else if (
      event.type === 'task-success' ||
      event.type === 'task-failure' ||
      event.type === 'task-interrupted'
    ) {
      this.running.delete(event.task);
    }
  }

  private redraw(): void {
    this.frame++;
    this.clearFooter();
    this.drawFooter();
  }

  private clearFooter(): void {
    if (this.footerLines === 0) return;
    this.stream.write(`\x1b[${this.footerLines}A\x1b[J`);
    this.footerLines = 0;
  }

  private drawFooter(): void {
    const spin = SPINNER[this.frame % SPINNER.length];
    const now = Date.now();
    const lines = [...this.running].map(([task, r]) => {
      const elapsed = now - r.since;
      const eta = r.estimateMs ? ` of about ${formatDuration(r.estimateMs)}` : '';
      return `${spin} ${task}  ${formatDuration(elapsed)}${eta}  ${r.phase}`;
    });
    const width = this.stream.columns ?? 100;
    for (const line of lines) this.stream.write(line.slice(0, width - 1) + '\n');
    this.footerLines = lines.length;
  }
}
