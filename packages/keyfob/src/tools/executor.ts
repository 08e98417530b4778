/**
 * `createToolExecutor`: runs declared tools for an agent, which never holds the credential
 * (DESIGN.md, Agent tools). Per call: the action is looked up, the scope checked before any
 * request, the parameters refused when they hold a credential or a JWT, the URL filled in one
 * pass, then the request goes through `kf.fetch` (allowed origins, one refresh on a 401, the
 * provider's credential placement) or, for a public action, through the instance's plain fetch
 * with no credential at all; the answer comes back bounded and redacted.
 */
import { InvalidInput } from '../errors.js';
import { heldSecrets, isCredentialVariable } from '../held-secrets.js';
import { type InstanceInternals, internalsOf } from '../instance/internals.js';
import type { Keyfob, TokenResult } from '../instance/types.js';
import { networkFailure } from '../network-failure.js';
import { SINGLE_ACTION, type Tool, type ToolAction } from './declare.js';
import { containsJwt, type HeldSecrets, refusedParameter } from './redact.js';
import { errorResult, failure, responseResult, type ToolResult, type ToolResultMetadata } from './result.js';
import { type BoundUrl, bindText, bindUrl, fillUrl, varsOf } from './template.js';

/** `createToolExecutor(options)`. */
export interface ToolExecutorOptions {
  /** The instance whose credentials the tools use (made by `createKeyfob`). */
  keyfob: Keyfob;
  tools: readonly Tool[];
  /** Receives one line per call (tool, action, status, time, error), credentials redacted. */
  log?: (line: string) => void;
}

/** A tool as an agent's prompt shows it: no credential, no URL. */
export interface ToolListing {
  id: string;
  description: string;
  actions: Array<{
    /** `default` for a one-request tool. */
    name: string;
    method: string;
    /** The scope it needs; `null` when it needs none (public, or the server decides). */
    scope: string | null;
    /** Whether a credential is sent (false: public). */
    authenticated: boolean;
    /** Parameters the URL takes; others go as a JSON body (POST, PUT, PATCH). */
    params: string[];
  }>;
}

export interface ToolExecutor {
  /**
   * Runs `toolId` with `params` (`action` picks the action of a tool with actions). Never
   * throws for an authentication, scope, network or HTTP problem: those are results.
   * @throws InvalidInput for a tool id this executor does not have.
   */
  execute(toolId: string, params?: Readonly<Record<string, unknown>>): Promise<ToolResult>;
  list(): ToolListing[];
}

interface BoundAction {
  action: ToolAction;
  url: BoundUrl;
  headers: Array<[string, string]>;
}

const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH']);

/**
 * Makes an executor for `tools` on `keyfob`'s credentials. Variables are bound now, from the
 * instance's environment.
 * @throws InvalidInput for an instance `createKeyfob` did not make, two tools with one id, an
 *   unset variable, a variable that holds a credential (keyfob's token, client secret or admin
 *   key variables, any `*_ADMIN_API_KEY`, a JWT-shaped value), or a parameter the bound URL
 *   would put outside its path or query values.
 */
export function createToolExecutor(options: ToolExecutorOptions): ToolExecutor {
  const found = internalsOf(options?.keyfob ?? {});
  if (!found) throw new InvalidInput('createToolExecutor needs keyfob: an instance createKeyfob made');
  const inside: InstanceInternals = found;
  const kf = options.keyfob;
  const tools = new Map<string, { tool: Tool; actions: Map<string, BoundAction> }>();
  for (const tool of options.tools ?? []) {
    if (!(tool?.actions instanceof Map)) throw new InvalidInput('tools must be made by defineTool');
    if (tools.has(tool.id)) throw new InvalidInput(`two tools have the id ${tool.id}`);
    const actions = new Map<string, BoundAction>();
    for (const [name, action] of tool.actions) actions.set(name, bindAction(inside, tool.id, action));
    tools.set(tool.id, { tool, actions });
  }
  const log = options.log;
  const cache = new Map<string, { token: string; held: HeldSecrets }>();

  /** The credentials of a call, read again only when the injected token changed. */
  async function heldFor(profile: string | undefined, tokens: readonly string[]): Promise<HeldSecrets> {
    const key = profile ?? '';
    const current = tokens.at(-1);
    const hit = cache.get(key);
    if (current !== undefined && hit && hit.token === current && tokens.length === 1) return hit.held;
    const held = await heldSecrets(inside.ctx, profile, tokens);
    if (current !== undefined) cache.set(key, { token: current, held });
    return held;
  }

  async function run(tool: Tool, actions: Map<string, BoundAction>, params: unknown): Promise<ToolResult> {
    let meta: ToolResultMetadata = { tool: tool.id };
    if (typeof params !== 'object' || params === null || Array.isArray(params)) {
      return failure(meta, 'parameters must be an object', null);
    }
    const { action: asked, ...rest } = params as Record<string, unknown>;
    const name = tool.single && (asked === undefined || asked === SINGLE_ACTION) ? SINGLE_ACTION : asked;
    const bound = typeof name === 'string' && !tool.single ? actions.get(name) : actions.get(SINGLE_ACTION);
    if (!bound || (tool.single && name !== SINGLE_ACTION)) {
      // The asked value is not repeated: it is the agent's, and might be anything.
      return failure(
        meta,
        tool.single
          ? `tool ${tool.id} has no actions; call it without action`
          : `unknown action; tool ${tool.id} has: ${[...actions.keys()].join(', ')}`,
        null,
      );
    }
    const { action } = bound;
    if (!tool.single) meta = { ...meta, action: action.name };
    const chosen = await profileFor(inside, tool);
    if (typeof chosen === 'object') return failure(meta, chosen.error, null, chosen.extra);
    const profile = chosen;
    const tokenOptions = {
      ...(profile !== undefined ? { profile } : {}),
      ...(action.scope ? { scopes: [action.scope] } : {}),
    };
    const fallbackLogin = inside.ctx.command('login');
    // The scope first: nothing is sent to the API before the credential is known to hold it.
    // Its failure is reported after the parameters are checked: a parameter holding a
    // credential is refused whatever else is wrong.
    let token: TokenResult | undefined;
    let tokenError: unknown;
    if (action.scope !== null) {
      try {
        token = await kf.getToken(tokenOptions);
      } catch (error) {
        tokenError = error;
      }
    }
    let held = await heldFor(profile, token ? [token.access_token] : []);
    const refused = refusedParameter(rest, held);
    if (refused) return failure(meta, refused, held);
    if (tokenError !== undefined) {
      const result = errorResult(meta, tokenError, held, fallbackLogin, action.scope ?? undefined);
      if (result) return result;
      throw tokenError;
    }
    const values: Record<string, string> = {};
    for (const param of action.params) {
      const value = rest[param];
      if (value === undefined || value === null) return failure(meta, `parameter ${param} is missing`, held);
      if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
        return failure(
          meta,
          `parameter ${param} must be a string, number or boolean (it fills the URL)`,
          held,
        );
      }
      values[param] = String(value);
    }
    const extra = Object.fromEntries(Object.entries(rest).filter(([key]) => !action.params.includes(key)));
    const withBody = BODY_METHODS.has(action.method) && Object.keys(extra).length > 0;
    if (!BODY_METHODS.has(action.method) && Object.keys(extra).length > 0) {
      return failure(
        meta,
        `${action.method} takes no body: unknown parameter(s) ${Object.keys(extra).join(', ')}; it takes ${action.params.join(', ') || 'none'}`,
        held,
      );
    }
    const url = fillUrl(bound.url, values);
    if (typeof url === 'string') return failure(meta, url, held);
    const headers = new Headers(bound.headers);
    if (withBody) headers.set('content-type', 'application/json');
    if (held.foundIn(url.href) || bound.headers.some(([, value]) => held.foundIn(value))) {
      return failure(
        meta,
        'the request would carry a credential in its URL or headers; refused, nothing was sent',
        held,
      );
    }
    const init = {
      method: action.method,
      headers,
      ...(withBody ? { body: JSON.stringify(extra) } : {}),
    };
    let response: Response;
    try {
      response =
        action.scope === null ? await kf.http(url, init) : await kf.fetch(url, { ...init, ...tokenOptions });
    } catch (error) {
      // The plain fetch of a public action fails as fetch does: said in NetworkError's words.
      const mapped = networkFailure(error, `requesting ${url.origin}`) ?? error;
      const result = errorResult(meta, mapped, await heldAfter(), fallbackLogin, action.scope ?? undefined);
      if (result) return result;
      throw mapped;
    }
    held = await heldAfter();
    return responseResult(meta, response, held);

    /** After a call a 401 may have renewed the token: both the old and the new are redacted. */
    async function heldAfter(): Promise<HeldSecrets> {
      if (!token) return held;
      const now = await kf.getToken(tokenOptions).catch(() => undefined);
      if (!now || now.access_token === token.access_token) return held;
      return heldFor(profile, [token.access_token, now.access_token]);
    }
  }

  return {
    async execute(toolId, params = {}) {
      const entry = typeof toolId === 'string' ? tools.get(toolId) : undefined;
      if (!entry) {
        throw new InvalidInput(`unknown tool; this executor has: ${[...tools.keys()].join(', ') || 'none'}`);
      }
      const started = performance.now();
      const result = await run(entry.tool, entry.actions, params);
      if (log) {
        const ms = Math.round(performance.now() - started);
        const fields = [
          `tool=${result.metadata.tool}`,
          ...(result.metadata.action ? [`action=${result.metadata.action}`] : []),
          `success=${result.success}`,
          `status=${result.status ?? '-'}`,
          ...(result.metadata.auth_required ? ['auth_required=true'] : []),
          ...(result.metadata.required_scope ? [`required_scope=${result.metadata.required_scope}`] : []),
          ...(result.metadata.redacted ? [`redacted=${result.metadata.redacted}`] : []),
          `ms=${ms}`,
          // The error is already printable, bounded and redacted.
          ...(result.error ? [`error=${JSON.stringify(result.error)}`] : []),
        ];
        log(fields.join(' '));
      }
      return result;
    },
    list() {
      return [...tools.values()].map(({ tool }) => ({
        id: tool.id,
        description: tool.description,
        actions: [...tool.actions.values()].map((a) => ({
          name: a.name,
          method: a.method,
          scope: a.scope ?? null,
          authenticated: a.scope !== null,
          params: [...a.params],
        })),
      }));
    },
  };
}

/** Binds an action's variables from the instance's environment, refusing credential variables. */
function bindAction(inside: InstanceInternals, toolId: string, action: ToolAction): BoundAction {
  const where = `tool ${toolId} action ${action.name}`;
  const value = (name: string) => {
    if (isCredentialVariable(inside.ctx.names, name)) {
      throw new InvalidInput(
        `${where}: \${${name}} holds a credential keyfob knows; a template may not read it`,
      );
    }
    const v = inside.ctx.env[name];
    if (v !== undefined && containsJwt(v)) {
      throw new InvalidInput(`${where}: \${${name}} holds a JWT; a template may not read a credential`);
    }
    return v;
  };
  for (const name of varsOf(action.url)) value(name);
  return {
    action,
    url: bindUrl(action.url, `${where} url`, value),
    headers: action.headers.map(([header, parts]) => [
      header,
      bindText(parts, `${where} header ${header}`, value),
    ]),
  };
}

/**
 * The profile a tool's calls use: its own, else for `provider` the selected profile when that
 * uses the provider, else the provider's only profile; `undefined`: the resolved credential.
 * @returns a failure (as its error and metadata) when no single profile fits.
 */
async function profileFor(
  inside: InstanceInternals,
  tool: Tool,
): Promise<string | undefined | { error: string; extra: Partial<ToolResultMetadata> }> {
  if (tool.profile !== undefined || tool.provider === undefined) return tool.profile;
  const { ctx } = inside;
  const [cfg, st] = await Promise.all([ctx.config(), ctx.state()]);
  const selected = ctx.selectedProfile(st, undefined).name;
  if (ctx.binding(cfg, st, selected).provider === tool.provider) return selected;
  const using = (await ctx.knownProfiles(cfg, st)).filter(
    (p) => ctx.binding(cfg, st, p).provider === tool.provider,
  );
  if (using.length === 1) return using[0];
  if (using.length === 0) {
    return {
      error: `no profile is logged in to provider ${tool.provider}`,
      extra: { auth_required: true, command: `${ctx.command('login')} ${tool.provider}` },
    };
  }
  return {
    error: `profiles ${using.join(', ')} all use provider ${tool.provider}; select one (or declare the tool with profile)`,
    extra: {},
  };
}
