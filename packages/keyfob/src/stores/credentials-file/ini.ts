/**
 * A line-based INI reader and editor for credentials files as AWS and Komodo write them
 * (`[section]`, `key = value`, `#` and `;` comment lines).
 *
 * Not the `ini` npm package: its `encode` rewrites the whole file from parsed data, losing
 * comments, blank lines and the order and spelling of what keyfob does not own. Here an edit
 * touches only the lines of the keys it sets or removes; every other line (comments, foreign
 * keys and sections, lines keyfob cannot parse) stays byte for byte.
 */
import { InvalidInput } from '../../errors.js';

/** One `[name]` section: its header line and the lines up to the next header. */
export interface IniSection {
  name: string;
  /** Index of the `[name]` line. */
  header: number;
  /** Index one past the section's last line. */
  end: number;
  /** Keys to their value and line (a repeated key: the last one wins, as botocore reads it). */
  keys: Map<string, { value: string; line: number }>;
}

/** A parsed INI text. Lines keep their text; `eol` is the file's own line ending. */
export interface IniDocument {
  lines: string[];
  eol: string;
  sections: IniSection[];
}

const HEADER = /^\s*\[([^\]]*)\]\s*(?:[#;].*)?$/;
const KEY_VALUE = /^\s*([^\s=#;[][^=]*?)\s*=\s?(.*?)\s*$/;

/** Parses `text`; never fails: a line it cannot read is kept and ignored. */
export function parseIni(text: string): IniDocument {
  const eol = text.includes('\r\n') ? '\r\n' : '\n';
  const lines = text.length === 0 ? [] : text.split(/\r?\n/);
  // A final newline leaves one empty string: it is the file's ending, not a line.
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  return { lines, eol, sections: sectionsOf(lines) };
}

function sectionsOf(lines: readonly string[]): IniSection[] {
  const sections: IniSection[] = [];
  let current: IniSection | null = null;
  lines.forEach((line, index) => {
    const header = HEADER.exec(line);
    if (header) {
      if (current) current.end = index;
      current = { name: (header[1] ?? '').trim(), header: index, end: lines.length, keys: new Map() };
      sections.push(current);
      return;
    }
    const pair = KEY_VALUE.exec(line);
    if (current && pair) current.keys.set(pair[1] as string, { value: pair[2] ?? '', line: index });
  });
  return sections;
}

/** The sections named `name` (more than one: the file repeats it). */
export function sectionsNamed(doc: IniDocument, name: string): IniSection[] {
  return doc.sections.filter((s) => s.name === name);
}

/** The INI text of `doc`, with its own line ending and a final newline. */
export function serializeIni(doc: IniDocument): string {
  return doc.lines.length === 0 ? '' : `${doc.lines.join(doc.eol)}${doc.eol}`;
}

/**
 * Sets and removes keys of section `name` (created at the end of the file when missing):
 * a string value replaces the key's line (or is added after the section's last key), `null`
 * removes the key's lines. Other lines are untouched.
 *
 * @throws InvalidInput when a value holds a line break or NUL (it would become another line).
 */
export function setSectionKeys(
  doc: IniDocument,
  name: string,
  values: Record<string, string | null>,
): IniDocument {
  for (const [key, value] of Object.entries(values)) {
    if (value !== null && /[\r\n\0]/.test(value)) {
      throw new InvalidInput(
        `the value of ${key} in section [${name}] holds a line break, which INI cannot keep`,
      );
    }
  }
  const lines = [...doc.lines];
  const section = sectionsNamed(doc, name)[0];
  if (!section) {
    const added = Object.entries(values).filter((e): e is [string, string] => e[1] !== null);
    if (added.length === 0) return doc;
    if (lines.length > 0 && lines[lines.length - 1]?.trim() !== '') lines.push('');
    lines.push(`[${name}]`, ...added.map(([k, v]) => `${k} = ${v}`));
    return { lines, eol: doc.eol, sections: sectionsOf(lines) };
  }
  const remove = new Set<number>();
  const pending = new Map(Object.entries(values));
  let lastKeyLine = section.header;
  for (let i = section.header + 1; i < section.end; i++) {
    const pair = KEY_VALUE.exec(lines[i] as string);
    if (!pair) continue;
    lastKeyLine = i;
    const key = pair[1] as string;
    if (!Object.hasOwn(values, key)) continue;
    const value = values[key];
    if (value === null || value === undefined || !pending.has(key)) {
      // Removed, or a repeat of a key already written: only one line per key remains.
      remove.add(i);
    } else {
      lines[i] = `${key} = ${value}`;
      pending.delete(key);
    }
  }
  const added = [...pending]
    .filter((e): e is [string, string] => e[1] !== null)
    .map(([k, v]) => `${k} = ${v}`);
  const out: string[] = [];
  lines.forEach((line, i) => {
    if (!remove.has(i)) out.push(line);
    if (i === lastKeyLine) out.push(...added);
  });
  return { lines: out, eol: doc.eol, sections: sectionsOf(out) };
}

/**
 * Removes section `name` when no keys but `owned` remain in it (the header, its keys and blank
 * lines; comment lines right before the next header stay, they describe that one); otherwise
 * only the `owned` keys go, so the vendor's own keys are kept.
 */
export function removeSectionKeys(doc: IniDocument, name: string, owned: readonly string[]): IniDocument {
  const section = sectionsNamed(doc, name)[0];
  if (!section) return doc;
  const foreign = [...section.keys.keys()].some((key) => !owned.includes(key));
  if (foreign) return setSectionKeys(doc, name, Object.fromEntries(owned.map((k) => [k, null])));
  let cut = section.end;
  // Comment lines directly above the next section belong to it.
  while (cut > section.header + 1 && /^\s*[#;]/.test(doc.lines[cut - 1] as string)) cut--;
  const lines = [...doc.lines.slice(0, section.header), ...doc.lines.slice(cut)];
  // No run of blank lines is left where the section was.
  while (
    lines.length > 0 &&
    section.header > 0 &&
    lines[section.header - 1]?.trim() === '' &&
    lines[section.header]?.trim() === ''
  ) {
    lines.splice(section.header, 1);
  }
  return { lines, eol: doc.eol, sections: sectionsOf(lines) };
}
