/** The agent-tools tests' shared tool declaration. */
import { defineTool, type Tool } from '@keyfob/core/tools';

/**
 * The registry tool of the agent-tools contract, on `${REGISTRY_URL}` (dev-idp's registry API, or
 * a test's counting server): a public search, a listing and an upload behind scopes, and the echo.
 */
export function registryTool(): Tool {
  return defineTool({
    id: 'registry',
    description: 'search and publish packages',
    actions: {
      search: { method: 'GET', url: '${REGISTRY_URL}/registry/search?q={query}' },
      list: { method: 'GET', url: '${REGISTRY_URL}/registry/packages' },
      upload: { method: 'PUT', url: '${REGISTRY_URL}/registry/packages/{name}' },
      echo: { method: 'GET', url: '${REGISTRY_URL}/registry/echo?chunk=7' },
      publicEcho: { method: 'GET', url: '${REGISTRY_URL}/registry/echo' },
    },
    scopes: {
      search: null,
      list: 'registry:read',
      upload: 'registry:write',
      echo: 'registry:read',
      publicEcho: null,
    },
  });
}
