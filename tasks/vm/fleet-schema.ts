/**
 * The JSON Schemas of fleet.yaml and vm-N.json, compiled once with ajv.
 * The schema files under schema/ are the single source of truth: the
 * README reference is generated from them and the key order of vm-N.json
 * follows vm.schema.json.
 */
import { readFileSync } from 'node:fs';
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';

// ajv-formats is CommonJS; under NodeNext its default import is the module.
const addFormats = addFormatsModule as unknown as typeof addFormatsModule.default;

/** The part of a JSON Schema that error messages and key order read. */
export interface SchemaNode {
  description?: string;
  properties?: Record<string, SchemaNode>;
  examples?: unknown[];
  [keyword: string]: unknown;
}

const readSchema = (name: string): SchemaNode =>
  JSON.parse(readFileSync(new URL(`../../schema/${name}`, import.meta.url), 'utf8'));

let compiled: { fleet: ValidateFunction; vm: ValidateFunction } | undefined;
let schemas: { fleet: SchemaNode; vm: SchemaNode } | undefined;

/** The parsed schema files (read once). */
export function loadSchemas(): { fleet: SchemaNode; vm: SchemaNode } {
  schemas ??= {
    fleet: readSchema('fleet.schema.json'),
    vm: readSchema('vm.schema.json'),
  };
  return schemas;
}

// Compiling takes tens of milliseconds, so it happens on first use only.
const validators = () => {
  if (compiled) return compiled;

  const ajv = new Ajv2020({ allErrors: true, verbose: true, strict: true });
  addFormats(ajv, ['ipv4', 'uri']);
  compiled = {
    fleet: ajv.compile(loadSchemas().fleet),
    vm: ajv.compile(loadSchemas().vm),
  };
  return compiled;
};

/** Checks parsed fleet.yaml content; returns every problem (none: []). */
export function validateFleetFile(data: unknown): ErrorObject[] {
  const validate = validators().fleet;
  return validate(data) ? [] : [...(validate.errors ?? [])];
}

/** Checks one VmConfig against vm.schema.json; returns every problem. */
export function validateVmConfigShape(data: unknown): ErrorObject[] {
  const validate = validators().vm;
  return validate(data) ? [] : [...(validate.errors ?? [])];
}

/** The keys of vm-N.json in the order the schema lists them. */
export function vmConfigKeyOrder(): string[] {
  return Object.keys(loadSchemas().vm.properties ?? {});
}

/** The keys a VM entry in fleet.yaml (`defaults:`, `vms.vm-N:`) may have. */
export function vmEntryKeys(): string[] {
  const defs = loadSchemas().fleet.$defs as Record<string, SchemaNode> | undefined;
  return Object.keys(defs?.vm?.properties ?? {});
}
