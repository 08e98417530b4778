/**
 * `@keyfob/core/tools`: tools an AI agent calls with credentials it never sees (DESIGN.md,
 * Agent tools). Declare a tool and the scope of each action with {@link defineTool}; run it with
 * an executor from {@link createToolExecutor}, whose results carry `auth_required` and
 * `required_scope` instead of throwing.
 *
 * ```ts
 * const registry = defineTool({
 *   id: 'registry',
 *   description: 'search and publish packages',
 *   actions: {
 *     search: { method: 'GET', url: '${REGISTRY_URL}/registry/search?q={query}' },
 *     upload: { method: 'PUT', url: '${REGISTRY_URL}/registry/packages/{name}' },
 *   },
 *   scopes: { search: null, upload: 'registry:write' },
 * });
 * const executor = createToolExecutor({ keyfob: kf, tools: [registry] });
 * await executor.execute('registry', { action: 'search', query: 'pad' });
 * ```
 *
 * Light to import: nothing here loads openid-client or undici until a call is made.
 */
export type { Tool, ToolAction, ToolDeclaration, ToolMethod, ToolRequest } from './declare.js';
export { defineTool, SINGLE_ACTION } from './declare.js';
export type { ToolExecutor, ToolExecutorOptions, ToolListing } from './executor.js';
export { createToolExecutor } from './executor.js';
export { containsJwt, MIN_SECRET_LENGTH, REDACTED } from './redact.js';
export type { ToolResult, ToolResultMetadata } from './result.js';
export { MAX_DATA_BYTES } from './result.js';
