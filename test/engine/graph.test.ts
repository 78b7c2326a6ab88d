import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Rig, chainGraph } from './rig.ts';

describe('graph and targets', () => {
  test('an unknown target is a usage error that lists the closest names', async () => {
    const { graph, files } = chainGraph();
    const rig = await Rig.create(graph, files);
    try {
      const run = await rig.cli(['run', 'g3']);
      assert.equal(run.code, 2);
      assert.match(run.stderr, /unknown target 'g3'\. Did you mean: .*g1.*g2/);
      assert.deepEqual(await rig.runs(), []);
    } finally {
      await rig.dispose();
    }
  });

  test('a cycle is reported with its members', async () => {
    const rig = await Rig.create({
      tasks: [
        { name: 'p', deps: ['r'] },
        { name: 'q', deps: ['p'] },
        { name: 'r', deps: ['q'] },
      ],
    });
    try {
      const run = await rig.cli(['run']);
      assert.equal(run.code, 2);
      assert.match(run.stderr, /dependency cycle: (p|q|r) → (p|q|r) → (p|q|r) → \1/);
    } finally {
      await rig.dispose();
    }
  });

  test('a failure stops its dependents and lets unrelated work finish', async () => {
    const { graph, files } = chainGraph();
    const rig = await Rig.create(graph, { ...files, 'fail-b': '' });
    try {
      const run = await rig.cli(['run']);
      assert.equal(run.code, 1);
      assert.deepEqual((await rig.runs()).sort(), ['a', 'x']);
      assert.match(run.stdout, /b: FAILED after .*: b was told to fail/);
      assert.match(run.stdout, /c: not run, because b did not succeed/);
      assert.match(
        run.stdout,
        /failed: 2 ran, 0 fresh, 1 failed, 1 not run after a failure/,
      );
    } finally {
      await rig.dispose();
    }
  });

  test('graph prints Mermaid and DOT with fresh and stale tasks marked', async () => {
    const { graph, files } = chainGraph();
    const rig = await Rig.create(graph, files);
    try {
      await rig.cli(['run', 'x']);
      const mermaid = await rig.cli(['graph']);
      assert.match(mermaid.stdout, /^flowchart LR/);
      assert.match(mermaid.stdout, /x\["x"\]:::fresh/);
      assert.match(mermaid.stdout, /a\["a"\]:::stale/);
      assert.match(mermaid.stdout, /a --> b/);
      const dot = await rig.cli(['graph', '--format', 'dot']);
      assert.match(dot.stdout, /"a" -> "b";/);
      assert.match(dot.stdout, /"x" \[style=filled, fillcolor=palegreen/);
    } finally {
      await rig.dispose();
    }
  });

  test('a bad option value exits 2 with a message', async () => {
    const { graph, files } = chainGraph();
    const rig = await Rig.create(graph, files);
    try {
      const run = await rig.cli(['run', '-j', 'zero']);
      assert.equal(run.code, 2);
      assert.match(run.stderr, /expected -j to be a whole number/);
    } finally {
      await rig.dispose();
    }
  });
});

describe('run options', () => {
  test('--fail-fast interrupts unrelated running work at the first failure', async () => {
    const rig = await Rig.create(
      { tasks: [{ name: 'bad' }, { name: 'slow', sleepMs: 20_000 }] },
      { 'fail-bad': '' },
    );
    try {
      const started = Date.now();
      const run = await rig.cli(['run', '-j', '2', '--fail-fast']);
      assert.equal(run.code, 1);
      assert.match(run.stdout, /bad: FAILED/);
      assert.match(run.stdout, /slow: interrupted/);
      assert.ok(Date.now() - started < 15_000, 'the slow task did not run to its end');
      const plan = await rig.cli(['plan']);
      assert.match(plan.stdout, /slow: would run/);
    } finally {
      await rig.dispose();
    }
  });

  test('clean forgets every result, so everything runs again', async () => {
    const { graph, files } = chainGraph();
    const rig = await Rig.create(graph, files);
    try {
      await rig.cli(['run']);
      await rig.runs();
      const clean = await rig.cli(['clean']);
      assert.equal(clean.code, 0, clean.stderr);
      const run = await rig.cli(['run']);
      assert.deepEqual((await rig.runs()).sort(), ['a', 'b', 'c', 'x']);
      assert.match(run.stdout, /4 ran, 0 fresh/);
      assert.equal(await rig.read('in/a.txt'), 'a', 'inputs are untouched');
    } finally {
      await rig.dispose();
    }
  });
});
