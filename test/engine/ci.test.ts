import assert from 'node:assert/strict';
import { XMLParser } from 'fast-xml-parser';
import { describe, test } from 'node:test';
import { Rig, chainGraph } from './rig.ts';

const fleetGraph = {
  tasks: Array.from({ length: 7 }, (_, i) => [
    { name: `vm-${i + 1}.config`, group: `vm-${i + 1}` },
    { name: `vm-${i + 1}.install`, group: `vm-${i + 1}`, deps: [`vm-${i + 1}.config`] },
  ]).flat(),
};

function started(stdout: string): string[] {
  return stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l))
    .filter((e) => e.type === 'task-start')
    .map((e) => e.task as string);
}

describe('CI support', () => {
  test('shards partition the fleet exactly, the same way on every run', async () => {
    const rig = await Rig.create(fleetGraph);
    try {
      const seen: string[][] = [];
      for (const k of [1, 2, 3]) {
        const run = await rig.cli(['run', '--shard', `${k}/3`, '--force', '--json']);
        assert.equal(run.code, 0, run.stderr);
        seen.push(started(run.stdout).sort());
      }
      const all = seen.flat().sort();
      assert.deepEqual(
        all,
        fleetGraph.tasks.map((t) => t.name).sort(),
        'every task in exactly one shard',
      );
      const again = await rig.cli(['run', '--shard', '2/3', '--force', '--json']);
      assert.deepEqual(started(again.stdout).sort(), seen[1]);
      for (const names of seen) {
        const groups = new Set(names.map((n) => n.split('.')[0]));
        for (const g of groups)
          assert.ok(names.includes(`${g}.config`) && names.includes(`${g}.install`));
      }
    } finally {
      await rig.dispose();
    }
  });

  test('a malformed --shard is a usage error', async () => {
    const rig = await Rig.create(fleetGraph);
    try {
      const run = await rig.cli(['run', '--shard', '4/3']);
      assert.equal(run.code, 2);
      assert.match(run.stderr, /expected --shard K\/N with 1 <= K <= N/);
    } finally {
      await rig.dispose();
    }
  });

  test('the JUnit file holds one case per task, failures with their message', async () => {
    const { graph, files } = chainGraph();
    const rig = await Rig.create(graph, files);
    try {
      await rig.cli(['run', 'x']);
      await rig.write('fail-b', '');
      const run = await rig.cli(['run', '--junit', 'report.xml']);
      assert.equal(run.code, 1);
      const xml = new XMLParser({ ignoreAttributes: false }).parse(
        await rig.read('report.xml'),
      );
      const suite = xml.testsuites.testsuite;
      const cases = [suite.testcase].flat() as Record<string, unknown>[];
      assert.deepEqual(cases.map((c) => c['@_name']).sort(), ['a', 'b', 'c', 'x']);
      const byName = Object.fromEntries(cases.map((c) => [c['@_name'], c]));
      assert.ok(byName.x!.skipped !== undefined, 'the fresh task is skipped');
      const failure = byName.b!.failure as Record<string, string>;
      assert.equal(failure['@_message'], 'b was told to fail');
      assert.match(String(failure['#text']), /running b/);
      assert.ok(byName.c!.error !== undefined, 'the blocked task is an error');
      assert.equal(suite['@_failures'], '1');
    } finally {
      await rig.dispose();
    }
  });
});
