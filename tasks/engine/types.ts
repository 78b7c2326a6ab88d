/**
 * The engine's vocabulary. A plugin describes its work as `TaskDef`s; the
 * engine decides which are fresh, runs the stale ones, and records what it
 * ran. Nothing here knows what a VM is.
 */
import type { Command } from 'commander';
import type { Reporter } from './events.ts';
import type { ExecOptions, ExecResult } from './process.ts';

/** What a task's fingerprint is made of, apart from its dependencies. */
export interface Inputs {
  /** Files read by the task, relative to the project root. Missing files hash as absent. */
  files?: string[];
  /** Globs (globby syntax, relative to the root) whose matches are inputs. */
  globs?: string[];
  /** Plain values: settings, versions. Must be JSON-serialisable. */
  values?: Record<string, unknown>;
}

/** Data a task returns from `run`, stored with its fingerprint (a pid, a disk id). */
export type TaskRecord = Record<string, unknown>;

/** A running task's check of reality: fresh only if `fresh` is true. */
export type ProbeResult = { fresh: true } | { fresh: false; reason: string };

/** What a task sees while it runs. */
export interface TaskContext {
  readonly task: string;
  readonly root: string;
  readonly buildDir: string;
  /** Aborted on Ctrl-C, SIGTERM, or when a failure stops the whole run. */
  readonly signal: AbortSignal;
  /** One line of the task's output: goes to its log file and, verbosely, to the reporter. */
  log(line: string): void;
  /** A named step of a long task ("booting the installer"), shown as progress. */
  phase(name: string): void;
  /** Runs a child in its own process group, killed if the run is interrupted. */
  exec(file: string, args: string[], options?: ExecOptions): Promise<ExecResult>;
  /** The record this task stored at its last success, if any. */
  readonly previous: TaskRecord | undefined;
}

/** What a probe sees: the record written by the last successful run. */
export interface ProbeContext {
  readonly task: string;
  readonly root: string;
  readonly buildDir: string;
  readonly record: TaskRecord | undefined;
}

export type Outcome = 'success' | 'failure' | 'interrupted';

/** One unit of work in the graph. */
export interface TaskDef {
  /** Unique name, `group.kind` by convention: `vm-3.install`. */
  name: string;
  /** Selecting the group name selects every task in it: `vm-3`. */
  group?: string;
  /** Kebab-case kind (`vm-install`); with `kindVersion` it is part of the fingerprint. */
  kind: string;
  /** Bump when the kind's behaviour changes, so every task of that kind is stale. */
  kindVersion: number;
  description?: string;
  deps?: string[];
  /**
   * Order-only dependencies (make's `| prereq`): they run first and must
   * succeed, but their fingerprints are not part of this task's. For a task
   * that reads only some of what another writes, and declares that part itself.
   */
  after?: string[];
  /** Resolved after the dependencies have run, so they may name files those wrote. */
  inputs?: Inputs | ((ctx: ProbeContext) => Inputs | Promise<Inputs>);
  /** Files the task writes, relative to the root; a missing one makes it stale. */
  outputs?: string[];
  /** For tasks that start something that keeps running: is it still there? */
  probe?(ctx: ProbeContext): Promise<ProbeResult>;
  run(ctx: TaskContext): Promise<TaskRecord | void>;
  /** Releases what `run` acquired; called after success, failure and interruption. */
  cleanup?(ctx: TaskContext, outcome: Outcome): Promise<void>;
}

/** What the engine hands a plugin when it loads. */
export interface PluginContext {
  root: string;
  buildDir: string;
  reporter: Reporter;
}

/** A source of tasks and, optionally, of extra CLI commands. */
export interface Plugin {
  name: string;
  /** Reads the plugin's configuration; throws ConfigError on bad input. */
  load(ctx: PluginContext): Promise<TaskDef[]>;
  /** Checks that must pass before `run` starts any of these tasks. */
  preflight?(ctx: PluginContext, tasks: TaskDef[]): Promise<void>;
  /** Adds plugin commands (status, stop, doctor...) to the program. */
  commands?(program: Command, cli: CliServices): void;
}

/** What the CLI offers to plugin commands. */
export interface CliServices {
  context(options: { json?: boolean }): Promise<PluginContext>;
  /** Takes the build directory lock for a command that changes build/. */
  withLock<T>(ctx: PluginContext, noWait: boolean, body: () => Promise<T>): Promise<T>;
}
