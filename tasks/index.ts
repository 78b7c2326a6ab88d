/**
 * Entry point: `npx tsx tasks [command] [targets...]`. Loads the VM plugin
 * (or, for the engine's own tests and benchmark, the plugin module named by
 * QVM_PLUGIN) and hands it to the engine's CLI.
 */
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';
import { main } from './engine/cli.ts';
import type { Plugin } from './engine/types.ts';

async function loadPlugin(): Promise<Plugin> {
  const override = process.env.QVM_PLUGIN;
  if (override) {
    const mod = (await import(pathToFileURL(resolve(override)).href)) as {
      default: Plugin;
    };
    return mod.default;
  }
  const mod = await import('./vm/plugin.ts');
  return mod.vmPlugin;
}

const plugin = await loadPlugin();
process.exitCode = await main(process.argv.slice(2), {
  plugin,
  name: 'npx tsx tasks',
  defaultTarget: 'all',
});
