import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import type { FieldProblem } from './admin-client.js';
import { friendlier } from './admin-hints.js';

/**
 * Reading an access document (access.yaml) so every problem — YAML syntax, duplicate keys, unknown
 * keys, duplicate names, and dab's own validation errors — is reported as FILE:LINE:COL: message,
 * pointing at the line to fix.
 */

/** The declarative shape dab's /v1/admin/apply takes; validated by dab, only pre-checked here. */
export interface AccessDocument {
  databases?: Array<Record<string, unknown>>;
  mappings?: Array<Record<string, unknown>>;
}

export type PathSegment = string | number;

/** One problem in the file; line/col are 1-based, absent when nothing in the file matches. */
export interface FileProblem {
  line?: number;
  col?: number;
  /** Where in the document, e.g. mappings[2].selector */
  path?: string;
  message: string;
}

export const TOP_LEVEL_KEYS = ['databases', 'mappings'] as const;

/** The file could not be used: every problem found, in file order. */
export class AccessFileError extends Error {
  override name = 'AccessFileError';
  constructor(
    readonly file: string,
    readonly problems: FileProblem[],
  ) {
    super(`${file}: ${problems.length} problem${problems.length === 1 ? '' : 's'}`);
  }
}

export interface AccessFile {
  file: string;
  document: AccessDocument;
  /** The position of the node at `path`, or of its nearest ancestor present in the file. */
  locate(path: PathSegment[]): { line: number; col: number } | undefined;
}

/** `FILE:LINE:COL: path: message`, the shape editors and CI annotators understand. */
export function formatProblem(file: string, p: FileProblem): string {
  const where = p.line ? `${file}:${p.line}:${p.col ?? 1}` : file;
  return `${where}: ${p.path ? `${p.path}: ` : ''}${p.message}`;
}

/** mappings[2].selector.team — how a path is shown (numbers are list positions, from 0). */
export function formatPath(path: PathSegment[]): string {
  return path.map((s, i) => (typeof s === 'number' ? `[${s}]` : i === 0 ? s : `.${s}`)).join('');
}

const byPosition = (a: FileProblem, b: FileProblem) => (a.line ?? Infinity) - (b.line ?? Infinity) || (a.col ?? 0) - (b.col ?? 0);

/** Parses and pre-checks an access document; throws AccessFileError listing every problem. */
export function parseAccessFile(text: string, file: string): AccessFile {
  const lines = new LineCounter();
  // YAML 1.2 core schema: timestamps stay strings (dab wants ISO text), yes/no stay strings;
  // merge keys (<<: *defaults) allowed so repeated database settings can be shared.
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true, schema: 'core', merge: true, prettyErrors: false });
  const at = (offset: number) => lines.linePos(offset);
  const problems: FileProblem[] = doc.errors.map((e) => ({ ...at(e.pos[0]), message: e.code === 'DUPLICATE_KEY' ? duplicateKeyMessage(doc, e.pos[0]) : e.message.replace(/\s*\n\s*/g, ' ') }));
  if (problems.length) throw new AccessFileError(file, problems.sort(byPosition));

  const root = doc.contents;
  if (root === null || (isScalar(root) && (root.value === null || root.value === ''))) {
    throw new AccessFileError(file, [{ message: 'is empty: declare databases: and/or mappings: (an explicit "mappings: []" declares none)' }]);
  }
  if (!isMap(root)) throw new AccessFileError(file, [{ ...at(rangeStart(root)), message: 'must be a mapping with the keys databases: and mappings:' }]);
  for (const pair of root.items) {
    const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
    if ((TOP_LEVEL_KEYS as readonly string[]).includes(key)) continue;
    const hint = TOP_LEVEL_KEYS.find((k) => editDistance(k, key.toLowerCase()) <= 2);
    problems.push({ ...at(rangeStart(pair.key as Node)), message: `unknown top-level key "${key}": only databases: and mappings: are allowed${hint ? ` (did you mean ${hint}:?)` : ''}` });
  }
  for (const section of TOP_LEVEL_KEYS) problems.push(...checkSection(doc, section, at));
  if (problems.length) throw new AccessFileError(file, problems.sort(byPosition));

  const document = doc.toJS({ maxAliasCount: 1000 }) as AccessDocument;
  return { file, document, locate: (path) => locateIn(doc, path, at) };
}

/** Levenshtein distance, for "did you mean" on misspelt keys. */
function editDistance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) next[j] = Math.min((row[j] ?? 0) + 1, (next[j - 1] ?? 0) + 1, (row[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1));
    row = next;
  }
  return row[b.length] ?? 0;
}

type At = (offset: number) => { line: number; col: number };

/** A section is a list of mappings (YAML maps), each with a name unique within the file. */
function checkSection(doc: Document, section: (typeof TOP_LEVEL_KEYS)[number], at: At): FileProblem[] {
  const node = resolve(doc, doc.get(section, true) as Node | undefined);
  if (node === undefined || (isScalar(node) && node.value === null)) return [];
  const kind = section === 'databases' ? 'database' : 'mapping';
  if (!isSeq(node)) return [{ ...at(rangeStart(node)), path: section, message: `must be a list of ${section} (each item starting with "- name: …")` }];
  const problems: FileProblem[] = [];
  const seen = new Map<string, { line: number; index: number }>();
  node.items.forEach((raw, index) => {
    const item = resolve(doc, raw as Node);
    const pos = at(rangeStart(item));
    if (!isMap(item)) {
      problems.push({ ...pos, path: formatPath([section, index]), message: `each item must be a ${kind} (keys and values), not a ${isSeq(item) ? 'list' : 'scalar'}` });
      return;
    }
    const nameNode = item.get('name', true);
    if (!isScalar(nameNode) || typeof nameNode.value !== 'string') return; // dab reports a missing or odd name
    const namePos = at(rangeStart(nameNode));
    const first = seen.get(nameNode.value);
    if (first) {
      problems.push({ ...namePos, path: formatPath([section, index, 'name']), message: `duplicate ${kind} name "${nameNode.value}": also declared at line ${first.line} (${formatPath([section, first.index])}); names must be unique` });
    } else {
      seen.set(nameNode.value, { line: namePos.line, index });
    }
  });
  return problems;
}

function duplicateKeyMessage(doc: Document, offset: number): string {
  let message = 'duplicate key: each key may appear only once per mapping';
  const visit = (node: unknown): void => {
    const n = resolve(doc, node as Node);
    if (isMap(n)) {
      for (const pair of n.items) {
        if (isScalar(pair.key) && rangeStart(pair.key) === offset) message = `duplicate key "${String(pair.key.value)}": each key may appear only once per mapping`;
        visit(pair.value);
      }
    } else if (isSeq(n)) n.items.forEach(visit);
  };
  visit(doc.contents);
  return message;
}

function resolve(doc: Document, node: Node | undefined | null): Node | undefined {
  if (node && isAlias(node)) return (node.resolve(doc) as Node | undefined) ?? node;
  return node ?? undefined;
}

function rangeStart(node: unknown): number {
  return (node as { range?: [number, number, number] } | null)?.range?.[0] ?? 0;
}

/** Walks the document along `path`; keys may contain dots (label keys), so the longest match wins. */
function locateIn(doc: Document, path: PathSegment[], at: At): { line: number; col: number } | undefined {
  let node = resolve(doc, doc.contents as Node);
  let offset: number | undefined;
  let i = 0;
  while (i < path.length && node) {
    const segment = path[i] as PathSegment;
    if (isSeq(node)) {
      const index = typeof segment === 'number' ? segment : /^\d+$/.test(segment) ? Number(segment) : NaN;
      const item = Number.isInteger(index) ? (node.items[index] as Node | undefined) : undefined;
      if (!item) break;
      node = resolve(doc, item);
      offset = rangeStart(item);
      i += 1;
      continue;
    }
    if (!isMap(node)) break;
    const map = node;
    let matched = false;
    for (let take = path.length - i; take >= 1 && !matched; take--) {
      const key = path.slice(i, i + take).map(String).join('.');
      const pair = map.items.find((p) => isScalar(p.key) && String(p.key.value) === key);
      if (!pair) continue;
      offset = rangeStart(pair.key);
      node = resolve(doc, pair.value as Node | null);
      i += take;
      matched = true;
    }
    if (!matched) break;
  }
  return offset === undefined ? undefined : at(offset);
}

/** The document path a server field names: JSON-pointer escapes undone, list positions as numbers. */
export function fieldSegments(field: string): PathSegment[] {
  return field
    .split('.')
    .filter((s) => s.length > 0)
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s.replace(/~1/g, '/').replace(/~0/g, '~')));
}

/**
 * Maps a field's segments (after `body.`) to a path in the document: undefined when the field is
 * not about the file (shown as is), null when it is noise to drop (a union branch not taken).
 */
export type Rebase = (segments: PathSegment[], message: string) => PathSegment[] | null | undefined;

// Ajv reports every branch of a principal's anyOf: "unknown key subject" from the group branch,
// "required property claim" from the claim one. The anyOf error itself says it best.
const branchNoise = (message: string) => message === 'must NOT have additional properties' || message.startsWith('must have required property');

/** dab's field errors, placed in the file, sorted and de-duplicated. */
export function placeServerProblems(access: AccessFile, errors: FieldProblem[], rebase: Rebase): FileProblem[] {
  const placed = errors.map((e) => {
    const segments = fieldSegments(e.field);
    const path = segments[0] === 'body' ? rebase(segments.slice(1), e.message) : undefined;
    return { e, path };
  });
  const unions = placed.filter(({ e, path }) => path && path.at(-1) === 'principal' && e.message === 'must match a schema in anyOf').map(({ path }) => formatPath(path ?? []));
  const kept = placed.filter(({ e, path }) => path !== null && !(path && branchNoise(e.message) && unions.some((u) => formatPath(path).startsWith(`${u}.`))));
  const seen = new Set<string>();
  const problems: FileProblem[] = [];
  for (const { e, path } of kept.length ? kept : placed) {
    const problem: FileProblem = path
      ? { ...access.locate(path), ...(path.length ? { path: formatPath(path) } : {}), message: friendlier(path, e.message) }
      : { path: e.field, message: e.message };
    const key = formatProblem(access.file, problem);
    if (!seen.has(key)) problems.push(problem);
    seen.add(key);
  }
  return problems.sort(byPosition);
}
