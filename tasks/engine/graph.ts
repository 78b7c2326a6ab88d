/**
 * The task graph: checks that it is well formed (unique names, known
 * dependencies, no cycles) and turns the user's target words into the set
 * of tasks to consider.
 */
import { closest, distance } from 'fastest-levenshtein';
import { UsageError, ConfigError } from './errors.ts';
import type { TaskDef } from './types.ts';

export class Graph {
  readonly tasks = new Map<string, TaskDef>();
  readonly groups = new Map<string, string[]>();
  /** Task name → the names that depend on it. */
  readonly dependents = new Map<string, string[]>();

  constructor(defs: TaskDef[]) {
    for (const def of defs) {
      if (this.tasks.has(def.name)) {
        throw new ConfigError(
          `two tasks are named ${def.name}; task names must be unique`,
        );
      }
      this.tasks.set(def.name, def);
      if (def.group)
        this.groups.set(def.group, [...(this.groups.get(def.group) ?? []), def.name]);
    }
    for (const def of defs) {
      for (const dep of prerequisites(def)) {
        if (!this.tasks.has(dep)) {
          throw new ConfigError(
            `task ${def.name} depends on ${dep}, which does not exist`,
          );
        }
        this.dependents.set(dep, [...(this.dependents.get(dep) ?? []), def.name]);
      }
    }
    const cycle = this.findCycle();
    if (cycle) {
      throw new ConfigError(
        `dependency cycle: ${cycle.join(' → ')}; remove one of these dependencies`,
      );
    }
  }

  get(name: string): TaskDef {
    const def = this.tasks.get(name);
    if (!def) throw new Error(`internal: unknown task ${name}`);
    return def;
  }

  /**
   * Target words → task names. A word is `all`, a task name, a group name
   * (`vm-3`), or a pattern with `*` or `?` (`*.install`).
   */
  select(words: string[]): string[] {
    const picked = new Set<string>();
    for (const word of words) {
      const names = this.resolveWord(word);
      if (names.length === 0) throw this.unknownTarget(word);
      for (const name of names) picked.add(name);
    }
    return [...picked];
  }

  private resolveWord(word: string): string[] {
    if (word === 'all') return [...this.tasks.keys()];
    if (this.tasks.has(word)) return [word];
    const group = this.groups.get(word);
    if (group) return group;
    if (/[*?]/.test(word)) {
      const re = new RegExp(
        '^' +
          word
            .replace(/[.+^${}()|[\]\\]/g, '\\$&')
            .replace(/\*/g, '.*')
            .replace(/\?/g, '.') +
          '$',
      );
      return [...this.tasks.keys()].filter((name) => re.test(name));
    }
    return [];
  }

  private unknownTarget(word: string): UsageError {
    const known = ['all', ...this.groups.keys(), ...this.tasks.keys()];
    const best = closest(word, known);
    const near = known
      .filter((name) => distance(word, name) <= Math.max(2, Math.floor(word.length / 3)))
      .slice(0, 5);
    const suggestions = near.length > 0 ? near : [best];
    return new UsageError(
      `unknown target '${word}'. Did you mean: ${suggestions.join(', ')}? ` +
        `Run 'npx tsx tasks list' to see every target.`,
    );
  }

  /** The selected tasks plus everything they depend on, dependencies first. */
  closure(selected: string[]): string[] {
    const order: string[] = [];
    const seen = new Set<string>();
    const visit = (name: string) => {
      if (seen.has(name)) return;
      seen.add(name);
      for (const dep of prerequisites(this.get(name))) visit(dep);
      order.push(name);
    };
    for (const name of selected) visit(name);
    return order;
  }

  private findCycle(): string[] | undefined {
    const state = new Map<string, 'visiting' | 'done'>();
    const stack: string[] = [];
    const visit = (name: string): string[] | undefined => {
      const s = state.get(name);
      if (s === 'done') return undefined;
      if (s === 'visiting') return [...stack.slice(stack.indexOf(name)), name];
      state.set(name, 'visiting');
      stack.push(name);
      for (const dep of prerequisites(this.get(name))) {
        const cycle = visit(dep);
        if (cycle) return cycle;
      }
      stack.pop();
      state.set(name, 'done');
      return undefined;
    };
    for (const name of this.tasks.keys()) {
      const cycle = visit(name);
      if (cycle) return cycle;
    }
    return undefined;
  }
}

/** Everything that must finish before a task starts: its deps and its order-only deps. */
export function prerequisites(def: TaskDef): string[] {
  return [...(def.deps ?? []), ...(def.after ?? [])];
}
