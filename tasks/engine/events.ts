/**
 * Typed events: the only way the engine and plugins tell the user anything.
 * One reporter (see reporters/) turns them into terminal, plain or JSON output.
 */

export type EngineEvent =
  | { type: 'run-start'; targets: string[]; tasks: number; jobs: number }
  | { type: 'task-fresh'; task: string }
  | { type: 'task-start'; task: string; reason: string }
  | { type: 'task-output'; task: string; line: string }
  | { type: 'task-phase'; task: string; phase: string; estimateMs?: number }
  | { type: 'task-success'; task: string; durationMs: number }
  | {
      type: 'task-failure';
      task: string;
      durationMs: number;
      message: string;
      details: string[];
      log?: string;
    }
  | { type: 'task-blocked'; task: string; dependency: string }
  | { type: 'task-interrupted'; task: string }
  | { type: 'info'; message: string; task?: string }
  | { type: 'warning'; message: string; task?: string }
  | { type: 'run-end'; ok: boolean; interrupted: boolean; summary: RunSummary };

export interface RunSummary {
  ran: number;
  fresh: number;
  failed: number;
  blocked: number;
  interrupted: number;
  durationMs: number;
}

/** Receives every event; `close` flushes and stops any live display. */
export interface Reporter {
  emit(event: EngineEvent): void;
  close(): void;
}

/** A reporter that keeps events in memory, for commands that print tables. */
export class MemoryReporter implements Reporter {
  readonly events: EngineEvent[] = [];

  emit(event: EngineEvent): void {
    this.events.push(event);
  }

  close(): void {}
}
