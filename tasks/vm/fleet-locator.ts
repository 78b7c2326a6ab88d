/**
 * Finds where a value or key sits in a parsed YAML document, so every
 * problem in fleet.yaml can be reported as `fleet.yaml:LINE:COL`.
 */
import path from 'node:path';
import { isMap, isScalar, isSeq, type Document, type LineCounter, type Node } from 'yaml';
import type { SourceLocation } from '../engine/errors.ts';

/** A step into a document: a mapping key or a list index. */
export type PathSegment = string | number;

/** Answers "where is this?" for paths into one file. */
export interface Locator {
  /** The file name shown in messages, such as `fleet.yaml`. */
  readonly file: string;
  /**
   * The location of the value at `path` (or of its key, with `'key'`).
   * When the path does not exist, the location of its deepest existing
   * ancestor; when there is no document, the file alone.
   */
  at(path: readonly PathSegment[], part?: 'key' | 'value'): SourceLocation;
}

/** Formats a path as users write it: `vms.vm-3.mac_address`, `cpu_models[1]`. */
export function fieldPath(path: readonly PathSegment[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number' || /^\d+$/.test(seg)) out += `[${seg}]`;
    else out += out === '' ? seg : `.${seg}`;
  }
  return out;
}

/** A path relative to the working directory when below it, else absolute. */
export function displayPath(file: string): string {
  const rel = path.relative(process.cwd(), file);
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : file;
}

/** A locator over `doc`; with a null document it knows only the file. */
export function createLocator(
  file: string,
  doc: Document | null,
  lineCounter: LineCounter | null,
): Locator {
  const position = (node: Node | null | undefined): SourceLocation => {
    if (!node?.range || !lineCounter) return { file };
    const { line, col } = lineCounter.linePos(node.range[0]);
    return { file, line, column: col };
  };

  return {
    file,
    at(path, part = 'value') {
      if (!doc) return { file };

      let node = doc.contents as Node | null;
      let keyNode: Node | null = null;
      for (const seg of path) {
        const step = child(node, seg);
        if (!step) return position(keyNode ?? node);
        [node, keyNode] = step;
      }
      return position(part === 'key' ? (keyNode ?? node) : (node ?? keyNode));
    },
  };
}

// One step down: the child's value node and, in a mapping, its key node.
const child = (
  node: Node | null,
  seg: PathSegment,
): [Node | null, Node | null] | null => {
  if (isMap(node)) {
    const pair = node.items.find(
      (p) => String(isScalar(p.key) ? p.key.value : p.key) === String(seg),
    );
    if (!pair) return null;
    // `vm-3:` with nothing after it has a null value node; point at the key.
    return [(pair.value as Node | null) ?? null, pair.key as Node];
  }
  if (isSeq(node)) {
    const item = node.items[Number(seg)];
    return item === undefined ? null : [item as Node, null];
  }
  return null;
};
