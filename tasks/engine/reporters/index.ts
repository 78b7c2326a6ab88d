/** Picks the one reporter for this invocation: JSON, terminal, or plain lines. */
import type { Reporter } from '../events.ts';
import { JsonReporter } from './json.ts';
import { PlainReporter } from './plain.ts';
import { TtyReporter } from './tty.ts';

export interface ReporterChoice {
  json: boolean;
  verbose: boolean;
}

export function createReporter(choice: ReporterChoice): Reporter {
  const write = (text: string) => process.stdout.write(text);
  if (choice.json) return new JsonReporter(write);
  const ci = Boolean(process.env.CI) && process.env.CI !== 'false';
  if (process.stdout.isTTY && !ci) return new TtyReporter(process.stdout, choice.verbose);
  return new PlainReporter({ verbose: choice.verbose, write });
}
