import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { Rig, finish, waitFor } from './rig.ts';

function overlaps(spans: [string, number, number][]): boolean {
  const [a, b] = spans;
  return a![1] < b![2] && b![1] < a![2];
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const slowPair = {
  tasks: [
    { name: 's1', sleepMs: 1000 },
    { name: 's2', sleepMs: 1000 },
  ],
};

describe('parallel runs and interruption', () => {
  test('two independent slow tasks overlap under -j 2', async () => {
    const rig = await Rig.create(slowPair);
    try {
      const run = await rig.cli(['run', '-j', '2']);
      assert.equal(run.code, 0, run.stderr);
      assert.ok(overlaps(await rig.spans()), 'expected the two tasks to overlap in time');
    } finally {
      await rig.dispose();
    }
  });

  test('two independent slow tasks do not overlap under -j 1', async () => {
    const rig = await Rig.create(slowPair);
    try {
      const run = await rig.cli(['run', '-j', '1']);
      assert.equal(run.code, 0, run.stderr);
      assert.ok(
        !overlaps(await rig.spans()),
        'expected the tasks to run one after the other',
      );
    } finally {
      await rig.dispose();
    }
  });

  test('a task killed mid-run is stale next time', async () => {
    const rig = await Rig.create({ tasks: [{ name: 'slow', outputs: ['out/slow'] }] });
    try {
      assert.equal((await rig.cli(['run'])).code, 0);
      // The sleep is not an input: the task stays fresh, but a forced run now takes long.
      await rig.write(
        'graph.json',
        JSON.stringify({
          tasks: [{ name: 'slow', sleepMs: 20_000, outputs: ['out/slow'] }],
        }),
      );
      const child = rig.start(['run', '--force']);
      const done = finish(child);
      // The stored fingerprint is removed just before the task starts.
      await waitFor(
        async () =>
          (await rig.read('build/.state/tasks/slow.json').catch(() => '')) === '',
      );
      await new Promise((r) => setTimeout(r, 200));
      child.kill('SIGKILL');
      await done;
      const plan = await rig.cli(['plan']);
      assert.match(plan.stdout, /slow: would run \(no previous success\)/);
    } finally {
      await rig.dispose();
    }
  });

  test('Ctrl-C leaves no child process behind and the task stale', async () => {
    const rig = await Rig.create({
      tasks: [
        { name: 'kid', child: true },
        { name: 'other', sleepMs: 20_000 },
      ],
    });
    try {
      const child = rig.start(['run', '-j', '2']);
      const done = finish(child);
      await waitFor(
        async () => (await rig.read('child-kid.pid').catch(() => '')).trim() !== '',
      );
      const pid = Number((await rig.read('child-kid.pid')).trim());
      assert.ok(alive(pid));
      child.kill('SIGINT');
      const result = await done;
      assert.equal(result.code, 130, result.stdout + result.stderr);
      assert.match(result.stdout, /kid: interrupted; it stays stale/);
      await waitFor(async () => !alive(pid), 3000);
      const plan = await rig.cli(['plan']);
      assert.match(plan.stdout, /kid: would run/);
      assert.match(plan.stdout, /other: would run/);
      await assert.rejects(readFile(join(rig.dir, 'build/.lock')));
    } finally {
      await rig.dispose();
    }
  });

  test('a second concurrent run is refused with --no-wait, and waits without it', async () => {
    const rig = await Rig.create({ tasks: [{ name: 'hold', sleepMs: 2500 }] });
    try {
      const first = rig.start(['run']);
      const firstDone = finish(first);
      await waitFor(
        async () => (await rig.read('build/logs/tasks/hold.log').catch(() => '')) !== '',
      );
      const refused = await rig.cli(['run', '--no-wait']);
      assert.equal(refused.code, 1);
      assert.match(
        refused.stderr,
        /another run \(pid \d+, 'run all'.*holds .*build\/\.lock/,
      );

      const waiting = await rig.cli(['run']);
      assert.equal(waiting.code, 0, waiting.stderr);
      assert.match(waiting.stdout, /waiting for another run/);
      assert.equal((await firstDone).code, 0);
    } finally {
      await rig.dispose();
    }
  });

  test('a lock left by a killed run is detected as stale', async () => {
    const rig = await Rig.create({ tasks: [{ name: 't' }] });
    try {
      // pid 1 exists but its start time does not match: the holder is gone.
      await rig.write(
        'build/.lock',
        JSON.stringify({ pid: 1, startTime: '1', command: 'run', since: 'x' }),
      );
      const run = await rig.cli(['run', '--no-wait']);
      assert.equal(run.code, 0, run.stderr);
      assert.deepEqual(await rig.runs(), ['t']);
    } finally {
      await rig.dispose();
    }
  });
});

describe('a killed run', () => {
  test('kill -9 of the run takes its running child processes with it', async () => {
    const rig = await Rig.create({ tasks: [{ name: 'kid', child: true }] });
    try {
      const child = rig.start(['run']);
      const done = finish(child);
      await waitFor(
        async () => (await rig.read('child-kid.pid').catch(() => '')).trim() !== '',
      );
      const pid = Number((await rig.read('child-kid.pid')).trim());
      assert.ok(alive(pid));
      child.kill('SIGKILL');
      await done;
      await waitFor(async () => !alive(pid) || (await zombie(pid)), 3000);
      const plan = await rig.cli(['plan']);
      assert.match(plan.stdout, /kid: would run \(no previous success\)/);
    } finally {
      await rig.dispose();
    }
  });
});

/** A process that has exited but was not reaped (PID 1 here does not reap). */
async function zombie(pid: number): Promise<boolean> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
}
