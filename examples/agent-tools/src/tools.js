// The Registry's tools for agents: what each calls and the scope each action needs. The agent
// gets their names, descriptions and parameters (executor.list()), never a credential or URL.
import { defineTool } from '@keyfob/core/tools';

/** Public: no credential is sent at all. */
export const search = defineTool({
  id: 'search',
  description: 'search the registry for packages by name or description',
  request: { method: 'GET', url: '${REGISTRY_URL}/registry/search?q={query}' },
  requiredScope: null,
});

/** The signed-in user's packages: reading and uploading need their own scopes. */
export const packages = defineTool({
  id: 'packages',
  description: 'list your packages, or upload one (its name, and its content as the body)',
  actions: {
    list: { method: 'GET', url: '${REGISTRY_URL}/registry/packages' },
    upload: { method: 'PUT', url: '${REGISTRY_URL}/registry/packages/{name}' },
  },
  scopes: { list: 'registry:read', upload: 'registry:write' },
});

/** What the registry received: its diagnostics endpoint echoes the request, credential too. */
export const diagnose = defineTool({
  id: 'diagnose',
  description: 'show the request the registry received (a support tool)',
  request: { method: 'GET', url: '${REGISTRY_URL}/registry/echo?chunk={chunk}' },
  requiredScope: 'registry:read',
});

export const tools = [search, packages, diagnose];
