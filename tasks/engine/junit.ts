/**
 * `--junit FILE`: a JUnit XML report of one run, one test case per task
 * (fresh tasks as skipped), with each failure's message and the tail of the
 * task's log, as GitHub and GitLab display them.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { create } from 'xmlbuilder2';
import type { EngineEvent, Reporter } from './events.ts';
import { writeFileAtomic } from './fs-util.ts';

interface Case {
  name: string;
  className: string;
  seconds: number;
  outcome: 'passed' | 'skipped' | 'failed' | 'blocked' | 'interrupted';
  message?: string;
  details?: string[];
}

const LOG_TAIL_LINES = 40;

/** Collects the events of a run; `write` turns them into the XML file. */
export class JunitCollector implements Reporter {
  private readonly cases = new Map<string, Case>();
  private started = Date.now();

  emit(event: EngineEvent): void {
    const add = (task: string, c: Partial<Case>) =>
      this.cases.set(task, {
        name: task,
        className: task.split('.')[0]!,
        seconds: 0,
        outcome: 'passed',
        ...c,
      });
    switch (event.type) {
      case 'run-start':
        this.started = Date.now();
        break;
      case 'task-fresh':
        add(event.task, {
          outcome: 'skipped',
          message: 'fresh: nothing changed since its last success',
        });
        break;
      case 'task-success':
        add(event.task, { seconds: event.durationMs / 1000 });
        break;
      case 'task-failure':
        add(event.task, {
          seconds: event.durationMs / 1000,
          outcome: 'failed',
          message: event.message,
          details: event.details,
        });
        break;
      case 'task-blocked':
        add(event.task, {
          outcome: 'blocked',
          message: `not run: ${event.dependency} did not succeed`,
        });
        break;
      case 'task-interrupted':
        add(event.task, { outcome: 'interrupted', message: 'interrupted' });
        break;
    }
  }

  close(): void {}

  async write(file: string, buildDir: string): Promise<void> {
    const cases = [...this.cases.values()];
    const count = (o: Case['outcome'][]) =>
      cases.filter((c) => o.includes(c.outcome)).length;
    const root = create({ version: '1.0', encoding: 'UTF-8' }).ele('testsuites', {
      name: 'qemu-vm-manager',
    });
    const suite = root.ele('testsuite', {
      name: 'tasks',
      tests: cases.length,
      failures: count(['failed']),
      errors: count(['blocked', 'interrupted']),
      skipped: count(['skipped']),
      time: ((Date.now() - this.started) / 1000).toFixed(3),
      timestamp: new Date(this.started).toISOString(),
    });
    for (const c of cases) {
      const tc = suite.ele('testcase', {
        name: c.name,
        classname: c.className,
        time: c.seconds.toFixed(3),
      });
      if (c.outcome === 'skipped') tc.ele('skipped', { message: c.message });
      if (c.outcome === 'failed') {
        const tail = await logTail(buildDir, c.name);
        tc.ele('failure', { message: c.message, type: 'task-failure' }).txt(
          [...(c.details ?? []), '', '--- task log (last lines) ---', ...tail].join('\n'),
        );
      }
      if (c.outcome === 'blocked' || c.outcome === 'interrupted')
        tc.ele('error', { message: c.message, type: c.outcome });
    }
    await writeFileAtomic(file, root.end({ prettyPrint: true }) + '\n');
  }
}

async function logTail(buildDir: string, task: string): Promise<string[]> {
  const text = await readFile(
    join(buildDir, 'logs', 'tasks', `${task}.log`),
    'utf8',
  ).catch(() => '');
  return text.split('\n').filter(Boolean).slice(-LOG_TAIL_LINES);
}

/** Sends every event to several reporters. */
export class TeeReporter implements Reporter {
  constructor(private readonly reporters: Reporter[]) {}

  emit(event: EngineEvent): void {
    for (const r of this.reporters) r.emit(event);
  }

  close(): void {
    for (const r of this.reporters) r.close();
  }
}
