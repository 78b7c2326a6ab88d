/**
 * Plain lines, one per event that matters: for CI logs, pipes and files.
 * Fresh tasks are counted in the summary rather than listed.
 */
import type { EngineEvent, Reporter, RunSummary } from '../events.ts';
import { formatDuration } from '../fs-util.ts';

export interface PlainOptions {
  /** Print each task's output lines too. */
  verbose: boolean;
  write(text: string): void;
}

export class PlainReporter implements Reporter {
  constructor(protected readonly options: PlainOptions) {}

  emit(event: EngineEvent): void {
    const line = formatEvent(event, this.options.verbose);
    if (line !== undefined) this.options.write(line + '\n');
  }

  close(): void {}
}

/** The text of one event, or undefined for events this view leaves out. */
export function formatEvent(event: EngineEvent, verbose: boolean): string | undefined {
  switch (event.type) {
    case 'run-start':
      return `running ${event.tasks} task${event.tasks === 1 ? '' : 's'} for ${event.targets.join(' ')} (-j ${event.jobs})`;
    case 'task-fresh':
      return undefined;
    case 'task-start':
      return `${event.task}: ${event.reason === 'forced' ? 'forced' : 'stale, ' + event.reason}; running`;
    case 'task-output':
      return verbose ? `${event.task}| ${event.line}` : undefined;
    case 'task-phase':
      return (
        `${event.task}: ${event.phase}` +
        (event.estimateMs ? ` (usually ${formatDuration(event.estimateMs)} in all)` : '')
      );
    case 'task-success':
      return `${event.task}: done in ${formatDuration(event.durationMs)}`;
    case 'task-failure':
      return [
        `${event.task}: FAILED after ${formatDuration(event.durationMs)}: ${event.message}`,
        ...event.details.map((d) => `    ${d}`),
        ...(event.log ? [`    full log: ${event.log}`] : []),
      ].join('\n');
    case 'task-blocked':
      return `${event.task}: not run, because ${event.dependency} did not succeed`;
    case 'task-interrupted':
      return `${event.task}: interrupted; it stays stale and runs again next time`;
    case 'info':
      return event.task ? `${event.task}: ${event.message}` : event.message;
    case 'warning':
      return `warning: ${event.task ? event.task + ': ' : ''}${event.message}`;
    case 'run-end':
      return formatSummary(event.summary, event.interrupted);
  }
}

export function formatSummary(s: RunSummary, interrupted: boolean): string {
  const parts = [`${s.ran} ran`, `${s.fresh} fresh`];
  if (s.failed) parts.push(`${s.failed} failed`);
  if (s.blocked) parts.push(`${s.blocked} not run after a failure`);
  if (s.interrupted) parts.push(`${s.interrupted} interrupted`);
  const head = interrupted ? 'interrupted' : s.failed ? 'failed' : 'ok';
  return `${head}: ${parts.join(', ')} in ${formatDuration(s.durationMs)}`;
}
