/**
 * Parsing config text as YAML, bounded so that no file can make keyfob hang or crash:
 * - at most {@link MAX_CONFIG_BYTES} bytes;
 * - a lexer pass first, refusing nesting deeper than {@link MAX_CONFIG_DEPTH} and more than
 *   {@link MAX_CONFIG_NODES} values, because the YAML composer recurses once per level and a
 *   stack overflow inside V8 can abort the process instead of throwing;
 * - the YAML 1.2 core schema only: no custom tags (an unknown tag is an error, not a string), no
 *   `<<` merge keys, keys must be plain strings;
 * - alias expansion capped (`maxAliasCount`), which stops "billion laughs";
 * - duplicate keys refused by a linear pass of our own: the `yaml` package's `uniqueKeys` check
 *   compares every pair of keys, which takes minutes on a 1 MiB mapping.
 *
 * Loaded lazily by `load.ts`: a config whose parsed form is cached never loads the YAML parser.
 */
import {
  CST,
  type Document,
  isPair,
  isScalar,
  isSeq,
  Lexer,
  LineCounter,
  type ParsedNode,
  parseAllDocuments,
  visit,
} from 'yaml';
import { InvalidConfig } from '../errors.js';
import { formatKeyPath, type KeyPathSegment, MAX_CONFIG_DEPTH } from './interpolate.js';
import { finishConfig, MAX_CONFIG_BYTES } from './load.js';
import type { Env } from './names.js';
import type { KeyfobConfig } from './schema.js';

/** Most scalars and flow collections a config file may hold. */
export const MAX_CONFIG_NODES = 10_000;

/** Aliases (`*name`) a file may expand; configs rarely use any. */
export const MAX_ALIAS_COUNT = 100;

/** Options of {@link parseConfig}. */
export interface ParseConfigOptions {
  /** Absolute path the text came from; named in messages and the base of relative paths. */
  file: string;
  env: Env;
  /** What users type before `login` in hints; defaults to `keyfob`. */
  command?: string;
}

/**
 * Parses config text as {@link loadConfig} does once the file is read.
 *
 * @throws InvalidConfig for bad YAML (with line and column), a file over the limits, or any
 *   interpolation or validation failure.
 */
export function parseConfig(text: string, options: ParseConfigOptions): KeyfobConfig {
  return finishConfig(parseYaml(text, options.file), {
    file: options.file,
    env: options.env,
    command: options.command ?? 'keyfob',
  });
}

/**
 * The YAML half of {@link parseConfig}: bounded parsing to plain data, before interpolation.
 *
 * @throws InvalidConfig for bad YAML (with line and column) or a file over the limits.
 */
export function parseYaml(text: string, file: string): unknown {
  if (Buffer.byteLength(text, 'utf8') > MAX_CONFIG_BYTES) throw tooLarge(file);
  prescan(text, file);
  const lineCounter = new LineCounter();
  const documents = parseAllDocuments(text, {
    version: '1.2',
    schema: 'core',
    merge: false,
    customTags: [],
    resolveKnownTags: false,
    strict: true,
    stringKeys: true,
    uniqueKeys: false,
    prettyErrors: false,
    logLevel: 'silent',
    lineCounter,
  });
  const at = (offset: number): string => {
    const { line, col } = lineCounter.linePos(offset);
    return `line ${line}, column ${col}`;
  };
  const second = documents[1];
  if (second !== undefined) {
    throw new InvalidConfig(
      `${at(second.range[0])}: a second YAML document (---) starts here; a config file holds one`,
      { file },
    );
  }
  const document = documents[0];
  let raw: unknown = null;
  if (document !== undefined) {
    const problem = document.errors[0] ?? document.warnings[0];
    if (problem !== undefined) {
      throw new InvalidConfig(`${at(problem.pos[0])}: ${firstLine(problem.message)}`, { file });
    }
    checkDuplicateKeys(document, file, at);
    try {
      raw = document.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
    } catch (error) {
      throw new InvalidConfig(
        error instanceof ReferenceError && /alias/i.test(error.message)
          ? `expands too many aliases (*name), as a resource-exhaustion attack would; at most ${MAX_ALIAS_COUNT} are allowed`
          : `cannot be read as YAML: ${firstLine(error instanceof Error ? error.message : String(error))}`,
        { file },
        { cause: error },
      );
    }
  }
  return raw;
}

const DOC_MODE = '\x02';
const FLOW_ERROR_END = '\x18';
const SCALAR = '\x1f';
const NOT_CONTENT = new Set([
  'space',
  'newline',
  'comment',
  'byte-order-mark',
  'directive-line',
  'doc-start',
  'doc-end',
]);

/**
 * Bounds nesting and size with the `yaml` lexer, which is iterative, before the recursive parts
 * of the parser see the text. Block nesting is estimated from columns: each nested block
 * collection starts at a greater column than its parent (a zero-indented sequence under a key at
 * most doubles the count), so the depth of the column stack bounds the real depth from below by
 * half and the check errs on the side of refusing only absurd files.
 */
function prescan(text: string, file: string): void {
  const columns: number[] = [];
  let flow = 0;
  let nodes = 0;
  let line = 1;
  let column = 0;
  let lineHasContent = false;
  let scalarNext = false;
  const tooDeep = (): never => {
    throw new InvalidConfig(
      `line ${line}: nested deeper than ${MAX_CONFIG_DEPTH} levels; a keyfob config needs a handful`,
      { file },
    );
  };
  for (const token of new Lexer().lex(text)) {
    if (token === DOC_MODE || token === FLOW_ERROR_END) continue;
    if (token === SCALAR) {
      scalarNext = true;
      nodes++;
      continue;
    }
    const type = scalarNext ? 'scalar' : CST.tokenType(token);
    scalarNext = false;
    const isContent = type === null || !NOT_CONTENT.has(type);
    const isIndicator = type === 'seq-item-ind' || type === 'explicit-key-ind';
    if (type === 'doc-start') columns.length = 0;
    if (flow === 0 && isContent && (isIndicator || !lineHasContent)) {
      while (columns.length > 0 && (columns.at(-1) ?? 0) >= column) columns.pop();
      columns.push(column);
      if (columns.length > MAX_CONFIG_DEPTH) tooDeep();
    }
    if (type === 'flow-seq-start' || type === 'flow-map-start') {
      nodes++;
      if (++flow > MAX_CONFIG_DEPTH) tooDeep();
    } else if ((type === 'flow-seq-end' || type === 'flow-map-end') && flow > 0) {
      flow--;
    } else if (type === 'single-quoted-scalar' || type === 'double-quoted-scalar' || type === 'alias') {
      nodes++;
    }
    if (nodes > MAX_CONFIG_NODES) {
      throw new InvalidConfig(
        `line ${line}: more than ${MAX_CONFIG_NODES} values; this is not a keyfob config`,
        {
          file,
        },
      );
    }
    if (isContent) lineHasContent = true;
    const lastNewline = token.lastIndexOf('\n');
    if (lastNewline === -1) {
      column += token.length;
    } else {
      for (const char of token) if (char === '\n') line++;
      column = token.length - lastNewline - 1;
      if (lastNewline === token.length - 1) lineHasContent = false;
    }
  }
}

function checkDuplicateKeys(document: Document.Parsed, file: string, at: (offset: number) => string): void {
  visit(document, {
    Map(_, map, ancestors) {
      const seen = new Set<string>();
      for (const pair of map.items) {
        const key = pair.key as ParsedNode | null;
        const name = isScalar(key) ? String(key.value) : '';
        if (!seen.has(name)) {
          seen.add(name);
          continue;
        }
        const path = keyPathOf([...ancestors, map, pair]);
        throw new InvalidConfig(
          `duplicate key (${at(key?.range[0] ?? 0)}); each key may appear once in a mapping`,
          { file, key: formatKeyPath(path) },
        );
      }
    },
  });
}

function keyPathOf(ancestors: readonly unknown[]): KeyPathSegment[] {
  const path: KeyPathSegment[] = [];
  ancestors.forEach((node, index) => {
    if (isPair(node)) {
      path.push(isScalar(node.key) ? String(node.key.value) : '?');
    } else if (isSeq(node)) {
      const child = ancestors[index + 1];
      const position = node.items.indexOf(child as never);
      if (position >= 0) path.push(position);
    }
  });
  return path;
}

function tooLarge(file: string): InvalidConfig {
  return new InvalidConfig(`is larger than ${MAX_CONFIG_BYTES} bytes (1 MiB); keyfob refuses to parse it`, {
    file,
  });
}

function firstLine(message: string): string {
  const line = message.split('\n', 1)[0] ?? '';
  return line.length > 200 ? `${line.slice(0, 200)}…` : line;
}
