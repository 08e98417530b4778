/**
 * `createKeyfob()`: the instance. It wires the operations in `instance/` to one shared context;
 * everything heavy (openid-client, undici, the loopback server, the YAML parser) is loaded on
 * first use, so a cached token costs a few small file reads.
 */
import type { KeyfobRequestInit } from './http/authenticated-fetch.js';
import { createContext } from './instance/context.js';
import { explain } from './instance/explain.js';
import { authenticatedFetch } from './instance/fetch.js';
import { login } from './instance/login.js';
import { logout } from './instance/logout.js';
import { status } from './instance/status.js';
import { switchProfile } from './instance/switch.js';
import { getToken, TokenMemo } from './instance/token.js';
import type { Keyfob, KeyfobOptions } from './instance/types.js';
import { whoami } from './instance/whoami.js';

export type {
  ExplainReport,
  GetTokenOptions,
  Keyfob,
  KeyfobOptions,
  LoginOptions,
  LoginResult,
  LogoutResult,
  ProfileStatus,
  StatusReport,
  TokenResult,
} from './instance/types.js';

/** Creates a keyfob instance. Nothing is read until a method needs it. */
export function createKeyfob(options: KeyfobOptions = {}): Keyfob {
  const ctx = createContext(options);
  const memo = new TokenMemo();
  return {
    names: ctx.names,
    home: ctx.home,
    config: () => ctx.config(),
    http: (input, init) => ctx.runtime().fetch(input, init),
    login(opts) {
      memo.clear();
      return login(ctx, opts);
    },
    getToken: (opts = {}) => getToken(ctx, memo, opts),
    logout(opts = {}) {
      memo.clear();
      return logout(ctx, opts);
    },
    status: () => status(ctx),
    whoami: (opts = {}) => whoami(ctx, memo, opts),
    fetch: (input: string | URL, init?: KeyfobRequestInit) => authenticatedFetch(ctx, memo, input, init),
    explain: (opts = {}) => explain(ctx, opts),
    switchProfile(profile) {
      memo.clear();
      return switchProfile(ctx, profile);
    },
  };
}
