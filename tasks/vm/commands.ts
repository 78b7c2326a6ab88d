/**
 * The plugin's own commands: doctor, status, stop, destroy.
 */
import type { Command } from 'commander';
import type { CliServices } from '../engine/types.ts';

export function registerCommands(_program: Command, _cli: CliServices): void {}
