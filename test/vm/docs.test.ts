import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { parse } from 'yaml';
import { readmeWithReference } from '../../scripts/fleet-reference.ts';
import { REPO } from '../engine/rig.ts';
import { Project } from './helpers/project.ts';

/** Options each subcommand accepts, read from the real CLI's --help. */
async function optionsOf(project: Project, command: string): Promise<Set<string>> {
  const help = await project.cli([command, '--help']);
  assert.equal(help.code, 0, `${command} --help: ${help.stderr}`);
  return new Set(
    [...help.stdout.matchAll(/(--[a-z][a-z-]*|-[a-zA-Z])\b/g)].map((m) => m[1]!),
  );
}

/** Every `npx tsx tasks ...` command line in a workflow's scripts. */
function cliCalls(workflow: unknown): string[][] {
  const text = JSON.stringify(workflow);
  return [...text.matchAll(/npx tsx tasks ([^"\\>|&]*)/g)].map((m) =>
    m[1]!.trim().split(/\s+/),
  );
}

describe('documentation and examples', () => {
  test("the README's fleet.yaml reference matches the schema", async () => {
    const { current, updated } = await readmeWithReference();
    assert.equal(current, updated, 'run: npx tsx scripts/fleet-reference.ts --write');
  });

  test("CI runs the README's test command, and the README opens with the two set-up commands", async () => {
    const readme = await readFile(join(REPO, 'README.md'), 'utf8');
    const firstBlock = /```sh\n([\s\S]*?)```/.exec(readme)?.[1] ?? '';
    const commands = firstBlock.split('\n').filter((l) => l.trim() && !l.startsWith('#'));
    assert.equal(commands.length, 2, 'the first code block holds the main-job and the test commands');
    assert.match(commands[0]!, /npx tsx examples\/demo\/prepare\.ts && \(cd examples\/demo && npx tsx \.\.\/\.\.\/tasks run all/);
    const ci = await readFile(join(REPO, '.ci/run'), 'utf8');
    assert.ok(ci.split('\n').includes(commands[1]!), `.ci/run runs: ${commands[1]}`);
  });

  test('the example CI workflows parse and use only options the CLI accepts', async () => {
    const project = await Project.create({ flavour: 'subiquity', count: 1 });
    try {
      for (const file of ['github-actions.yml', 'gitlab-ci.yml']) {
        const workflow = parse(await readFile(join(REPO, 'examples/ci', file), 'utf8'));
        const calls = cliCalls(workflow);
        assert.ok(calls.length >= 2, `${file} calls the CLI`);
        for (const [command, ...args] of calls) {
          const accepted = await optionsOf(project, command!);
          for (const arg of args.filter((a) => a.startsWith('-'))) {
            assert.ok(
              accepted.has(arg),
              `${file}: '${command} ${arg}' is not an option of the CLI`,
            );
          }
        }
        assert.doesNotMatch(
          JSON.stringify(workflow),
          /vm_configs|vm_info\.(txt|json)"/,
          `${file} uploads no secrets`,
        );
      }
    } finally {
      await project.dispose();
    }
  });
});
