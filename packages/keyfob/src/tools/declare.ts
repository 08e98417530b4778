/**
 * `defineTool`: a tool an agent may call, declared with what it calls and the scope each call
 * needs (DESIGN.md, Agent tools). Everything that can be checked without the keyfob instance is
 * checked here, so a mistake fails when the tool is declared, not when an agent first calls it.
 */
import { InvalidInput } from '../errors.js';
import { bindUrl, paramsOf, parseTemplate, type TemplatePart } from './template.js';

/** Methods a tool may use. */
export type ToolMethod = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** One HTTP request a tool (or one of its actions) makes. */
export interface ToolRequest {
  method: ToolMethod;
  /**
   * `${VAR}` from the keyfob instance's environment (never one that holds a credential), and
   * `{param}` from the call's parameters, only in path segments and query values.
   */
  url: string;
  /** Fixed headers; values may hold `${VAR}` but no `{param}`. No credential header. */
  headers?: Readonly<Record<string, string>>;
}

/** What {@link defineTool} takes: a single `request` or named `actions`. */
export interface ToolDeclaration {
  /** `[a-z0-9_-]`, 1 to 64 characters. */
  id: string;
  /** What the tool does, for the agent's prompt. */
  description: string;
  /** The profile whose credential the tool uses; else `provider`'s, else the resolved credential. */
  profile?: string;
  /** A provider name: the selected profile when it uses that provider, else its only profile. */
  provider?: string;
  /** A one-action tool's request (with `requiredScope`). */
  request?: ToolRequest;
  /**
   * With `request`: the scope it needs; `null` for a public request (no credential sent at
   * all); omitted: the credential is sent and the server decides.
   */
  requiredScope?: string | null;
  /** Named requests (with `scopes`). */
  actions?: Readonly<Record<string, ToolRequest>>;
  /** With `actions`: every action's scope, `null` for public. An action not listed is refused. */
  scopes?: Readonly<Record<string, string | null>>;
}

/** One action of a declared tool, parsed. */
export interface ToolAction {
  readonly name: string;
  readonly method: ToolMethod;
  readonly url: TemplatePart[];
  readonly headers: ReadonlyArray<readonly [string, TemplatePart[]]>;
  /** The scope it needs; `null`: public; `undefined`: the credential without a scope check. */
  readonly scope: string | null | undefined;
  /** Parameter names the URL takes, in order. */
  readonly params: readonly string[];
}

/** A declared tool: what `createToolExecutor` takes. */
export interface Tool {
  readonly id: string;
  readonly description: string;
  readonly profile: string | undefined;
  readonly provider: string | undefined;
  /** True for a `request` tool: its one action is `default`, and `action` is not a parameter. */
  readonly single: boolean;
  readonly actions: ReadonlyMap<string, ToolAction>;
}

/** The action name of a one-request tool. */
export const SINGLE_ACTION = 'default';

const TOOL_ID = /^[a-z0-9_-]{1,64}$/;
const ACTION_NAME = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;
/** RFC 6749 §3.3 scope-token: one scope, no spaces. */
const SCOPE = /^[\x21\x23-\x5b\x5d-\x7e]{1,128}$/;
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}$/;
const METHODS = new Set<string>(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE']);
/** Headers a declaration may not set: the credential's (the executor places it) and the transport's. */
const FORBIDDEN_HEADERS = new Set([
  'authorization',
  'proxy-authorization',
  'cookie',
  'host',
  'content-length',
  'transfer-encoding',
  'connection',
]);

/**
 * Declares a tool.
 * @throws InvalidInput naming what is wrong: the id's shape, `request` and `actions` together or
 *   neither, `requiredScope` without `request`, `scopes` without `actions` or not naming exactly
 *   the actions, a malformed template, a parameter outside the path or query values, a header a
 *   declaration may not set.
 */
export function defineTool(declaration: ToolDeclaration): Tool {
  if (typeof declaration !== 'object' || declaration === null)
    throw new InvalidInput('defineTool takes an object');
  const { id, description, profile, provider, request, requiredScope, actions, scopes } = declaration;
  if (typeof id !== 'string' || !TOOL_ID.test(id)) {
    throw new InvalidInput('a tool id is 1 to 64 of a-z, 0-9, "_" and "-"');
  }
  const where = `tool ${id}`;
  if (typeof description !== 'string' || description.trim() === '') {
    throw new InvalidInput(`${where}: a description is required (the agent reads it)`);
  }
  if (profile !== undefined && provider !== undefined) {
    throw new InvalidInput(`${where}: give profile or provider, not both`);
  }
  for (const [key, value] of [
    ['profile', profile],
    ['provider', provider],
  ] as const) {
    if (value !== undefined && (typeof value !== 'string' || value === '')) {
      throw new InvalidInput(`${where}: ${key} must be a name`);
    }
  }
  if ((request === undefined) === (actions === undefined)) {
    throw new InvalidInput(`${where}: give either request (one action) or actions, exactly one of them`);
  }
  const parsed = new Map<string, ToolAction>();
  if (request !== undefined) {
    if (scopes !== undefined)
      throw new InvalidInput(`${where}: scopes go with actions; a request takes requiredScope`);
    parsed.set(
      SINGLE_ACTION,
      parseAction(where, SINGLE_ACTION, request, checkScope(where, requiredScope, true)),
    );
  } else {
    if (requiredScope !== undefined) {
      throw new InvalidInput(
        `${where}: requiredScope goes with request; actions take scopes: { action: scope | null }`,
      );
    }
    if (typeof actions !== 'object' || actions === null || Object.keys(actions).length === 0) {
      throw new InvalidInput(`${where}: actions must name at least one action`);
    }
    if (typeof scopes !== 'object' || scopes === null) {
      throw new InvalidInput(`${where}: scopes is required with actions (null for a public action)`);
    }
    for (const name of Object.keys(scopes)) {
      if (!Object.hasOwn(actions, name))
        throw new InvalidInput(`${where}: scopes names ${name}, which is not an action`);
    }
    for (const [name, action] of Object.entries(actions)) {
      if (!ACTION_NAME.test(name)) throw new InvalidInput(`${where}: ${name} is not an action name`);
      if (!Object.hasOwn(scopes, name)) {
        throw new InvalidInput(
          `${where}: action ${name} is missing from scopes (an action not listed is refused; say null for a public one)`,
        );
      }
      parsed.set(
        name,
        parseAction(`${where} action ${name}`, name, action, checkScope(where, scopes[name], false)),
      );
    }
  }
  return Object.freeze({
    id,
    description,
    profile,
    provider,
    single: request !== undefined,
    actions: parsed,
  });
}

function checkScope(where: string, scope: unknown, optional: boolean): string | null | undefined {
  if (scope === null) return null;
  if (scope === undefined && optional) return undefined;
  if (typeof scope !== 'string' || !SCOPE.test(scope)) {
    throw new InvalidInput(`${where}: a scope is one scope name (no spaces), or null for a public action`);
  }
  return scope;
}

function parseAction(
  where: string,
  name: string,
  request: ToolRequest,
  scope: string | null | undefined,
): ToolAction {
  if (typeof request !== 'object' || request === null)
    throw new InvalidInput(`${where}: a request is { method, url }`);
  const method = typeof request.method === 'string' ? request.method.toUpperCase() : '';
  if (!METHODS.has(method))
    throw new InvalidInput(`${where}: method must be one of ${[...METHODS].join(', ')}`);
  if (typeof request.url !== 'string') throw new InvalidInput(`${where}: url must be a string`);
  const url = parseTemplate(request.url, `${where} url`, true);
  // Where parameters stand is checked here with placeholder variables, and again with the real
  // values when the executor binds them (a variable may hold a whole base URL).
  checkPositions(url, `${where} url`);
  const headers: Array<readonly [string, TemplatePart[]]> = [];
  for (const [header, value] of Object.entries(request.headers ?? {})) {
    if (!HEADER_NAME.test(header)) throw new InvalidInput(`${where}: ${header} is not a header name`);
    if (FORBIDDEN_HEADERS.has(header.toLowerCase())) {
      throw new InvalidInput(
        `${where}: a tool may not set ${header} (the executor places the credential itself)`,
      );
    }
    if (typeof value !== 'string') throw new InvalidInput(`${where}: header ${header} must be a string`);
    headers.push([header, parseTemplate(value, `${where} header ${header}`, false)] as const);
  }
  return Object.freeze({ name, method: method as ToolMethod, url, headers, scope, params: paramsOf(url) });
}

function checkPositions(url: TemplatePart[], what: string): void {
  // A variable at the very start stands for a base URL; elsewhere for a piece of text.
  const first = url[0];
  const placeholder = (name: string) =>
    first?.kind === 'var' && first.name === name ? 'https://var.invalid/v' : '1';
  // Before the first parameter the scheme and the whole authority must be written out.
  let prefix = '';
  for (const part of url) {
    if (part.kind === 'param') {
      if (!/^[a-z][a-z0-9+.-]*:\/\/[^/?#]*[/?]/i.test(prefix)) {
        throw new InvalidInput(`${what}: a parameter may not fill the scheme, userinfo, host or port`);
      }
      break;
    }
    prefix += part.kind === 'text' ? part.text : placeholder(part.name);
  }
  try {
    bindUrl(url, what, placeholder);
  } catch (error) {
    // A URL that only its real variables make whole (a port, a host name's part) is checked
    // when they are bound; a parameter in a wrong place is refused now.
    if (!(error instanceof InvalidInput) || !/not an http\(s\) URL/.test(error.message)) throw error;
  }
}
