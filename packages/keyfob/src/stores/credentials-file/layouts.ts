/**
 * The two vendor layouts behind one interface: what entries a file has, and the file's text
 * with one entry set or removed, everything else kept.
 *
 * - `single-json`: one JSON object keyed by profile name; each entry an object. Top-level keys
 *   that are not profile names or whose value is not an object are the vendor's, kept as they
 *   are. Only text that is not JSON, or JSON that is not an object, is damaged.
 * - `ini`: sections are profiles; see `ini.ts`. Only text that is not UTF-8 or holds NUL bytes
 *   is damaged. A repeated section is ambiguous: that profile is refused, the others work.
 */
import { isProfileName } from '../../profile-name.js';
import { isRecord } from '../../shape.js';
import type { EntryValues } from './fields.js';
import { parseIni, removeSectionKeys, sectionsNamed, serializeIni, setSectionKeys } from './ini.js';

/** A parsed credentials file. */
export interface ParsedFile {
  /** Names of the entries (not yet checked as profile names). */
  names(): string[];
  /** The profile's entry, or `null`; `repeated` is called when it appears twice. */
  entry(profile: string, repeated: (line: number) => never): Readonly<Record<string, unknown>> | null;
  /** The file's text with the profile's mapped keys set to `values` (`null` removes one). */
  withEntry(profile: string, values: EntryValues, repeated: (line: number) => never): string;
  /** The file's text without the profile's `owned` keys (its entry goes when nothing else is left). */
  withoutEntry(profile: string, owned: readonly string[], repeated: (line: number) => never): string;
}

/** A layout: how its files are parsed. */
export interface Layout {
  empty(): ParsedFile;
  /** The parsed file, or what makes it damaged. */
  parse(bytes: Uint8Array): ParsedFile | { problem: string };
}

/** The layout named `name`. */
export function layoutOf(name: 'single-json' | 'ini'): Layout {
  return name === 'ini' ? iniLayout : jsonLayout;
}

function decode(bytes: Uint8Array): string | null {
  try {
    const text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    return text.includes('\0') ? null : text.replace(/^\uFEFF/, '');
  } catch {
    return null;
  }
}

const jsonLayout: Layout = {
  empty: () => jsonFile({}),
  parse(bytes) {
    const text = decode(bytes);
    if (text === null) return { problem: 'not UTF-8 text' };
    let value: unknown;
    try {
      value = text.trim() === '' ? {} : JSON.parse(text);
    } catch {
      return { problem: 'not valid JSON' };
    }
    if (!isRecord(value))
      return {
        problem: Array.isArray(value) ? 'a JSON array, not an object of profiles' : 'not a JSON object',
      };
    return jsonFile(value);
  },
};

function jsonFile(root: Record<string, unknown>): ParsedFile {
  const entryOf = (profile: string) => {
    const value = Object.hasOwn(root, profile) ? root[profile] : undefined;
    return isRecord(value) ? value : null;
  };
  const text = (next: Record<string, unknown>) => `${JSON.stringify(next, null, 2)}\n`;
  return {
    names: () => Object.keys(root).filter((k) => isProfileName(k) && entryOf(k) !== null),
    entry: (profile) => entryOf(profile),
    withEntry(profile, values) {
      // The vendor's keys of the entry stay, in their order; keyfob's are set or removed.
      const entry: Record<string, unknown> = { ...(entryOf(profile) ?? {}) };
      for (const [key, value] of Object.entries(values)) {
        if (value === null) delete entry[key];
        else entry[key] = value;
      }
      return text({ ...root, [profile]: entry });
    },
    withoutEntry(profile, owned) {
      const entry: Record<string, unknown> = { ...(entryOf(profile) ?? {}) };
      for (const key of owned) delete entry[key];
      const next = { ...root };
      if (Object.keys(entry).length === 0) delete next[profile];
      else next[profile] = entry;
      return text(next);
    },
  };
}

const iniLayout: Layout = {
  empty: () => iniFile(parseIni('')),
  parse(bytes) {
    const text = decode(bytes);
    if (text === null) return { problem: 'not UTF-8 text' };
    return iniFile(parseIni(text));
  },
};

function iniFile(doc: ReturnType<typeof parseIni>): ParsedFile {
  const only = (profile: string, repeated: (line: number) => never) => {
    const found = sectionsNamed(doc, profile);
    if (found.length > 1) repeated((found[1]?.header ?? 0) + 1);
    return found[0] ?? null;
  };
  return {
    names: () => [...new Set(doc.sections.map((s) => s.name))],
    entry(profile, repeated) {
      const section = only(profile, repeated);
      if (!section) return null;
      return Object.fromEntries([...section.keys].map(([key, { value }]) => [key, value]));
    },
    withEntry(profile, values, repeated) {
      only(profile, repeated);
      const asText = Object.fromEntries(
        Object.entries(values).map(([k, v]) => [
          k,
          v === null ? null : typeof v === 'object' ? JSON.stringify(v) : String(v),
        ]),
      );
      return serializeIni(setSectionKeys(doc, profile, asText));
    },
    withoutEntry(profile, owned, repeated) {
      only(profile, repeated);
      return serializeIni(removeSectionKeys(doc, profile, owned));
    },
  };
}
