/**
 * Read-only views of the graph: `plan`, `explain`, `list` and `graph`. Each
 * works from a dry run, so it says exactly what `run` would do.
 */
import { prerequisites, type Graph } from './graph.ts';
import { dryRunTargets } from './run.ts';
import type { TaskResult } from './scheduler.ts';
import type { Plugin, PluginContext } from './types.ts';

export function renderPlan(results: Map<string, TaskResult>, json: boolean): string {
  const entries = [...results].map(([task, r]) => ({
    task,
    action: r.status === 'would-run' ? 'run' : r.status === 'fresh' ? 'skip' : r.status,
    reason:
      r.status === 'would-run' ? r.reason : r.status === 'fresh' ? 'fresh' : r.reason,
  }));
  if (json) return entries.map((e) => JSON.stringify(e)).join('\n') + '\n';
  const toRun = entries.filter((e) => e.action === 'run');
  const lines = toRun.map((e) => `${e.task}: would run (${e.reason})`);
  const failed = entries.filter((e) => e.action === 'failed');
  for (const e of failed)
    lines.push(`${e.task}: cannot tell (its inputs could not be read; see above)`);
  lines.push(
    `${toRun.length} of ${entries.length} tasks would run; ${entries.length - toRun.length - failed.length} are fresh`,
  );
  return lines.join('\n') + '\n';
}

export async function explainTarget(
  plugin: Plugin,
  ctx: PluginContext,
  target: string,
  json: boolean,
): Promise<string> {
  const { results, graph } = await dryRunTargets(plugin, ctx, [target]);
  const names = graph.select([target]);
  const out: object[] = [];
  const lines: string[] = [];
  for (const name of names) {
    const chain = causeChain(graph, results, name);
    const r = results.get(name)!;
    out.push({
      task: name,
      fresh: r.status === 'fresh',
      reason: r.reason ?? null,
      changes: r.changes ?? [],
      because: chain,
    });
    if (r.status === 'fresh') {
      lines.push(`${name} is fresh: nothing changed since its last success`);
      continue;
    }
    lines.push(`${name} is stale: ${r.reason}`);
    for (const change of r.changes ?? []) lines.push(`  - ${change}`);
    for (const step of chain) lines.push(`  because ${step}`);
  }
  return json
    ? out.map((o) => JSON.stringify(o)).join('\n') + '\n'
    : lines.join('\n') + '\n';
}

/** For a task stale only because a dependency will run, follow the chain to the root cause. */
function causeChain(
  graph: Graph,
  results: Map<string, TaskResult>,
  name: string,
): string[] {
  const chain: string[] = [];
  let current = results.get(name);
  let currentName = name;
  while (current?.reason?.startsWith('dependency ')) {
    const dep = (graph.get(currentName).deps ?? []).find(
      (d) => results.get(d)?.status === 'would-run',
    );
    if (!dep) break;
    current = results.get(dep);
    currentName = dep;
    const more =
      (current?.changes?.length ?? 0) > 3 ? ` (${current!.changes!.join('; ')})` : '';
    chain.push(`${dep} is stale: ${current?.reason}${more}`);
  }
  return chain;
}

export function renderList(graph: Graph, json: boolean): string {
  const rows = [...graph.tasks.values()].map((t) => ({
    name: t.name,
    group: t.group ?? null,
    kind: t.kind,
    deps: prerequisites(t),
    description: t.description ?? '',
  }));
  if (json) return rows.map((r) => JSON.stringify(r)).join('\n') + '\n';
  const width = Math.max(...rows.map((r) => r.name.length), 4);
  const lines = rows.map(
    (r) =>
      `${r.name.padEnd(width)}  ${r.description}${r.deps.length ? `  (after ${r.deps.join(', ')})` : ''}`,
  );
  const groups = [...graph.groups.keys()];
  if (groups.length)
    lines.push(
      '',
      `groups (each runs all its tasks): ${groups.join(', ')}`,
      'all: every task',
    );
  return lines.join('\n') + '\n';
}

export async function renderGraph(
  plugin: Plugin,
  ctx: PluginContext,
  targets: string[],
  format: 'mermaid' | 'dot',
): Promise<string> {
  const { results, graph } = await dryRunTargets(plugin, ctx, targets);
  const id = (name: string) => name.replace(/[^A-Za-z0-9_]/g, '_');
  const state = (name: string) =>
    results.get(name)?.status === 'fresh' ? 'fresh' : 'stale';
  const lines: string[] = [];
  if (format === 'dot') {
    lines.push('digraph tasks {', '  rankdir=LR;');
    for (const name of results.keys()) {
      const fill = state(name) === 'fresh' ? 'palegreen' : 'lightsalmon';
      lines.push(
        `  "${name}" [style=filled, fillcolor=${fill}, tooltip="${state(name)}"];`,
      );
      for (const dep of graph.get(name).deps ?? [])
        lines.push(`  "${dep}" -> "${name}";`);
      for (const dep of graph.get(name).after ?? [])
        lines.push(`  "${dep}" -> "${name}" [style=dashed];`);
    }
    lines.push('}');
  } else {
    lines.push('flowchart LR');
    for (const name of results.keys()) {
      lines.push(`  ${id(name)}["${name}"]:::${state(name)}`);
      for (const dep of graph.get(name).deps ?? [])
        lines.push(`  ${id(dep)} --> ${id(name)}`);
      for (const dep of graph.get(name).after ?? [])
        lines.push(`  ${id(dep)} -.-> ${id(name)}`);
    }
    lines.push('  classDef fresh fill:#c8f7c5', '  classDef stale fill:#f7d1c5');
  }
  return lines.join('\n') + '\n';
}
