/** One JSON object per line for every event (`--json`), with a timestamp. */
import type { EngineEvent, Reporter } from '../events.ts';

export class JsonReporter implements Reporter {
  constructor(private readonly write: (text: string) => void) {}

  emit(event: EngineEvent): void {
    this.write(JSON.stringify({ time: new Date().toISOString(), ...event }) + '\n');
  }

  close(): void {}
}
