/**
 * `login`: pick the profile and provider (DESIGN.md, Profiles), pick the flow (DESIGN.md,
 * login), run it, and store the session in the profile's store under its lock.
 */
import { envVar } from '../config/names.js';
import type { ProviderConfig } from '../config/schema.js';
import { assumeUserCommand } from '../control-plane/commands.js';
import { AuthenticationRequired, InvalidInput } from '../errors.js';
import { chooseLoginFlow } from '../flows/browser.js';
import { bindingOf } from '../lifecycle/binding.js';
import { type CriticalSection, holdSignals } from '../lifecycle/signals.js';
import type { LoginFlow, LoginInteraction } from '../providers/provider.js';
import { describeStaticToken } from '../providers/static-token.js';
import { selectLoginProvider } from '../resolve/select.js';
import { type TenantRequest, tenantRequests, tokenPlace } from '../resolve/tenant.js';
import { accessTokenKey, newSession, parseScopes, type Session } from '../session.js';
import type { InstanceContext } from './context.js';
import { stderrInteraction } from './interactive.js';
import { persistSession } from './persist.js';
import type { LoginOptions, LoginResult } from './types.js';

export const DEFAULT_LOGIN_TIMEOUT_MS = 5 * 60_000;

export async function login(ctx: InstanceContext, given: LoginOptions): Promise<LoginResult> {
  // Without an interaction of the caller's, the person is spoken to on stderr and $BROWSER opens.
  const opts = { ...given, interaction: given.interaction ?? stderrInteraction(ctx) };
  // From the token request until the session and state are stored, signals are held; the
  // section is closed last, after every lock is released, so a re-raised signal leaves none.
  let section: CriticalSection | undefined;
  try {
    return await loginHeld(ctx, opts, (profile) => {
      section ??= holdSignals({
        what: `the login of profile ${profile}`,
        lost: `The login may be lost; run \`${ctx.loginCommand(profile, true)}\` again`,
        prefix: ctx.cliName,
      });
    });
  } finally {
    section?.release();
  }
}

async function loginHeld(
  ctx: InstanceContext,
  opts: LoginOptions & { interaction: LoginInteraction },
  onTokenRequest: (profile: string) => void,
): Promise<LoginResult> {
  const [cfg, st] = await Promise.all([ctx.config(), ctx.state()]);
  const selected = ctx.selectedProfile(st, opts.profile ?? ctx.explicit.profile);
  const binding = ctx.binding(cfg, st, selected.name);
  const providerName = await selectLoginProvider({
    argument: opts.provider,
    profileProvider: binding.provider,
    defaultProvider: cfg.default_provider,
    configured: Object.keys(cfg.providers),
    ...(opts.personPresent && opts.chooseProvider ? { choose: opts.chooseProvider } : {}),
    loginCommand: ctx.command('login'),
  });
  const providerConfig = ctx.providerConfig(cfg, providerName);
  if (providerConfig.type === 'assume_user') {
    throw new InvalidInput(
      `provider ${providerName} is assume_user: it has no login; run \`${assumeUserCommand(ctx.command('assume-user'))}\``,
    );
  }
  const chosen = await ctx.provider(providerName);
  const notices: string[] = [];
  let flow: LoginFlow = 'client_credentials';
  let openBrowser = false;
  if (opts.secret !== undefined && providerConfig.type !== 'client_credentials') {
    throw new InvalidInput(
      `--with-secret is for machine providers (client_credentials); ${providerName} is ${providerConfig.type}`,
    );
  }
  const tenants = loginTenants(ctx, opts, selected, binding, providerConfig);
  if (opts.token !== undefined && providerConfig.type === 'exchange') {
    // Exchanging a token from outside needs its issuer and audience checked first (DESIGN.md).
    throw new InvalidInput(
      `--with-token is not supported for provider ${providerName} (type exchange) yet: log in with its login provider's flow`,
    );
  }
  const credentials = await passwordCredentials(
    ctx,
    opts,
    providerName,
    providerConfig.type,
    chosen.loginFlows,
  );
  if (credentials) {
    flow = 'password';
  } else if (opts.token === undefined && !chosen.loginFlows.includes('client_credentials')) {
    const choice = chooseLoginFlow({
      browserFlag: opts.flow === 'browser',
      noBrowserFlag: opts.flow === 'no-browser',
      deviceFlag: opts.flow === 'device',
      env: ctx.env,
      platform: process.platform,
      deviceAvailable: chosen.loginFlows.includes('device'),
      browserAvailable: chosen.loginFlows.includes('browser'),
    });
    if (!flowChosen(opts.flow, ctx.env) && opts.personPresent === false) {
      // Nobody chose this flow and nobody is there to finish it: waiting would only time out.
      const noPrompt = envVar(ctx.names, 'NO_PROMPT');
      throw new AuthenticationRequired(
        `no person is here to finish a ${choice.flow} login (stdin or stderr is not a terminal, or CI, ${noPrompt} or --no-input is set); choose one: \`${ctx.command('login')} --device\` or \`--browser\` to wait for a person anyway, \`--with-token\` to store a token read from stdin, or \`--with-secret\` for a machine provider's secret`,
      );
    }
    if (choice.reason) opts.interaction.notice(choice.reason);
    flow = choice.flow;
    openBrowser = choice.openBrowser;
  }
  const session =
    opts.token !== undefined
      ? await sessionFromToken(opts.token, providerName, providerConfig.resource ?? null, ctx.now())
      : await chosen.login({
          flow,
          openBrowser,
          scopes: parseScopes(opts.scopes),
          // A tenant is chosen by a person only when one is there.
          interaction: opts.personPresent ? opts.interaction : withoutTenantChoice(opts.interaction),
          ...(tenants.length > 0 ? { tenants } : {}),
          command: ctx.loginCommand(
            selected.name,
            opts.profile !== undefined || ctx.explicit.profile !== undefined,
          ),
          timeoutMs: opts.timeoutMs ?? DEFAULT_LOGIN_TIMEOUT_MS,
          ...(opts.signal ? { signal: opts.signal } : {}),
          ...(opts.secret !== undefined ? { secret: opts.secret } : {}),
          ...(credentials ?? {}),
          onTokenRequest: () => onTokenRequest(selected.name),
        });
  const boundTo = bindingOf(providerConfig, ctx.lookupProvider(cfg));
  if (boundTo) session.bound_to = boundTo;

  // A library login stays in this instance's memory (DESIGN.md, The resolver); the CLI's goes
  // to the profile's store and the state file, and the profile becomes the active one.
  const replacedProvider =
    opts.persist && binding.provider && binding.provider !== providerName ? binding.provider : null;
  const persisted = await persistSession(ctx, cfg, binding, selected.name, providerName, session, {
    persist: opts.persist === true,
    makeActive: true,
    personPresent: Boolean(opts.personPresent),
  });
  notices.push(...persisted.notices);
  if (replacedProvider) {
    notices.push(
      `Profile ${selected.name} was bound to provider ${replacedProvider}; its session was replaced.`,
    );
  }
  return {
    profile: selected.name,
    provider: providerName,
    subject: session.subject,
    tenant: session.tenant,
    store: persisted.store,
    replacedProvider,
    notices,
  };
}

/**
 * The tenants asked for at login, highest first (`--tenant`, `<PREFIX>_TENANT`, the profile's
 * tenant); the provider adds its own setting. A tenant for a provider without a control plane
 * is an error, never ignored.
 */
function loginTenants(
  ctx: InstanceContext,
  opts: LoginOptions,
  selected: { name: string; source: string },
  binding: { tenant: { id: string } | null },
  providerConfig: ProviderConfig,
): TenantRequest[] {
  const envName = envVar(ctx.names, 'TENANT');
  const option = opts.tenant ?? ctx.explicit.tenant ?? null;
  const requests = tenantRequests({
    option,
    env: { name: envName, value: ctx.env[envName] || undefined },
    profile: {
      name: selected.name,
      tenant: binding.tenant?.id ?? null,
      explicit: opts.profile !== undefined || ctx.explicit.profile !== undefined,
    },
  });
  if (providerConfig.type === 'exchange') return requests;
  const given = requests.find((r) => r.source === '--tenant' || r.source === envName);
  if (given) tokenPlace(providerConfig, given.id, given.source === '--tenant' ? '--tenant' : envName);
  return [];
}

function withoutTenantChoice(interaction: LoginInteraction): LoginInteraction {
  const { chooseTenant: _dropped, ...rest } = interaction;
  return rest;
}

/**
 * The email and password of a provider that logs in with them (`loginFlows` has `password`):
 * given, else asked of the person, else `AuthenticationRequired` naming the scripted form.
 * `null` for any other provider, which must not be given them.
 */
async function passwordCredentials(
  ctx: InstanceContext,
  opts: LoginOptions,
  providerName: string,
  providerType: string,
  flows: readonly LoginFlow[],
): Promise<{ email: string; password: string } | null> {
  const given = opts.email !== undefined || opts.password !== undefined;
  if (!flows.includes('password')) {
    if (given) {
      throw new InvalidInput(
        `--email and --password-stdin are for providers that log in with an email and password (password, firebase); ${providerName} is ${providerType}`,
      );
    }
    return null;
  }
  if (opts.token !== undefined || opts.secret !== undefined) {
    throw new InvalidInput(
      `provider ${providerName} logs in with an email and password: use \`${ctx.command('login')} ${providerName} --email E --password-stdin\` instead of --with-token or --with-secret`,
    );
  }
  if (opts.flow !== undefined && opts.flow !== 'auto') {
    throw new InvalidInput(
      `provider ${providerName} logs in with an email and password, not through a browser or device; drop --${opts.flow}`,
    );
  }
  let { email, password } = opts;
  if ((email === undefined || password === undefined) && opts.personPresent && opts.askCredentials) {
    ({ email, password } = await opts.askCredentials(email === undefined ? {} : { email }));
  }
  if (email === undefined || password === undefined || email.trim() === '' || password === '') {
    throw new AuthenticationRequired(
      `provider ${providerName} logs in with an email and password, and no person is here to type them`,
      {
        hint: `pipe the password on stdin: \`printenv PASSWORD | ${ctx.command('login')} ${providerName} --email E --password-stdin\``,
      },
    );
  }
  return { email: email.trim(), password };
}

/**
 * Whether someone chose the browser or device flow: a flag, or `$BROWSER` (DESIGN.md, login:
 * the flow is "not chosen" when none of them is given).
 */
function flowChosen(flow: LoginOptions['flow'], env: Readonly<Record<string, string | undefined>>): boolean {
  return (flow !== undefined && flow !== 'auto') || Boolean(env.BROWSER);
}

/** A session holding a token given from outside: served until it expires, never refreshed. */
async function sessionFromToken(
  token: string,
  provider: string,
  resource: string | null,
  now: Date,
): Promise<Session> {
  const described = await describeStaticToken(token, 'the token given', now);
  const session = newSession(provider, 'token', now);
  session.scopes = described.scopes;
  session.access_tokens[accessTokenKey(resource, [])] = {
    token: described.access_token,
    token_type: described.token_type,
    expires_at: described.expires_at,
    obtained_at: now.toISOString(),
    scopes: described.scopes,
    resource,
  };
  return session;
}
