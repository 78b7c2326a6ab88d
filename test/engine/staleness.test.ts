import assert from 'node:assert/strict';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Rig, chainGraph } from './rig.ts';

describe('staleness', () => {
  let rig: Rig;

  before(async () => {
    const { graph, files } = chainGraph();
    rig = await Rig.create(graph, files);
    const first = await rig.cli(['run']);
    assert.equal(first.code, 0, first.stderr);
    assert.deepEqual((await rig.runs()).sort(), ['a', 'b', 'c', 'x']);
  });
  after(() => rig.dispose());

  test('a second run runs nothing', async () => {
    const second = await rig.cli(['run']);
    assert.equal(second.code, 0);
    assert.deepEqual(await rig.runs(), []);
    assert.match(second.stdout, /0 ran, 4 fresh/);
  });

  test('changing one input reruns that task and its dependents only', async () => {
    await rig.write('in/b.txt', 'b changed');
    const run = await rig.cli(['run']);
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(await rig.runs(), ['b', 'c']);
    assert.match(run.stdout, /b: stale, in\/b\.txt changed; running/);
  });

  test('touching a file without changing its content reruns nothing', async () => {
    await rig.write('in/a.txt', 'a');
    await rig.cli(['run']);
    assert.deepEqual(await rig.runs(), []);
  });

  test('a deleted output makes its task stale', async () => {
    await rm(join(rig.dir, 'out/x.txt'));
    const run = await rig.cli(['run']);
    assert.deepEqual(await rig.runs(), ['x']);
    assert.match(run.stdout, /x: stale, output out\/x\.txt is missing/);
  });

  test('--force reruns the named target but not its fresh dependencies', async () => {
    const run = await rig.cli(['run', 'b', '--force']);
    assert.equal(run.code, 0);
    assert.deepEqual(await rig.runs(), ['b']);
  });

  test('explain names the changed file', async () => {
    await rig.write('in/a.txt', 'a again');
    const explain = await rig.cli(['explain', 'c']);
    assert.equal(explain.code, 0, explain.stderr);
    assert.match(explain.stdout, /c is stale: dependency b will run/);
    assert.match(explain.stdout, /a is stale: in\/a\.txt changed/);
    const direct = await rig.cli(['explain', 'a', '--json']);
    const entry = JSON.parse(direct.stdout.trim());
    assert.deepEqual(entry.changes, ['in/a.txt changed']);
    await rig.cli(['run']);
    await rig.runs();
  });

  test('plan lists what would run and why without running it', async () => {
    await rig.write('in/x.txt', 'x2');
    const plan = await rig.cli(['plan']);
    assert.match(plan.stdout, /x: would run \(in\/x\.txt changed\)/);
    assert.match(plan.stdout, /1 of 4 tasks would run/);
    assert.deepEqual(await rig.runs(), []);
    await rig.cli(['run']);
    await rig.runs();
  });

  test('a corrupt state file makes its task stale with a warning, not a crash', async () => {
    await writeFile(join(rig.dir, 'build/.state/tasks/x.json'), '{not json');
    const run = await rig.cli(['run']);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /warning: x: state of x is unreadable/);
    assert.deepEqual(await rig.runs(), ['x']);
  });

  test('a group name selects every task in the group', async () => {
    const run = await rig.cli(['run', 'g1', '--force']);
    assert.equal(run.code, 0);
    assert.deepEqual(await rig.runs(), ['a', 'b', 'c']);
  });

  test('a pattern selects matching tasks', async () => {
    const run = await rig.cli(['run', '?', '--force', '--json']);
    const started = run.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
      .filter((e) => e.type === 'task-start')
      .map((e) => e.task);
    assert.deepEqual(started.sort(), ['a', 'b', 'c', 'x']);
    await rig.runs();
  });
});
