/**
 * The resolution chain: which credential a call uses, as a pure function of what the caller
 * passed, the environment and the state file, so every precedence pair and conflict rule is a
 * table test. Levels, highest first: explicit > environment > selected profile > `default`.
 * A higher level silently wins (the steps record what it hid); two kinds of credential on one
 * level are `CONFLICTING_CREDENTIALS`, as the AWS SDK, `gh` and `az` do.
 */
import { ConflictingCredentials } from '../errors.js';
import { assertProfileName } from '../profile-name.js';

/** What the caller passed explicitly (library options or CLI flags). */
export interface ExplicitCredentials {
  token?: string;
  clientId?: string;
  clientSecret?: string;
  profile?: string;
  tenant?: string;
}

export type Level = 'explicit' | 'environment' | 'profile' | 'default';

/** The credential the chain picked. */
export type Resolved =
  | { level: 'explicit' | 'environment'; kind: 'token'; token: string; origin: string; tenant: string | null }
  | { level: 'environment'; kind: 'token_file'; path: string; origin: string; tenant: string | null }
  | {
      level: 'explicit' | 'environment';
      kind: 'client_credentials';
      clientId: string;
      clientSecret: string;
      origin: string;
      tenant: string | null;
    }
  | { level: Level; kind: 'profile'; profile: string; origin: string; tenant: string | null };

/** One line of `explain`: a source considered, and what became of it. */
export interface ChainStep {
  level: Level;
  /** What was looked at: `--profile`, `KEYFOB_TOKEN`, `active profile`, … Never a value. */
  source: string;
  outcome: 'taken' | 'hidden' | 'not set';
  /** Why, in words; never a secret. */
  detail: string;
}

export interface ChainInput {
  explicit: ExplicitCredentials;
  env: Readonly<Record<string, string | undefined>>;
  /** `KEYFOB` or an integrator's prefix. */
  envPrefix: string;
  /**
   * The full name of a variable by suffix, when the integrator renamed some
   * (`createKeyfob({ env })`); `<envPrefix>_<suffix>` otherwise.
   */
  envName?: (suffix: string) => string;
  /** The active profile from the state file, if any. */
  active: string | null;
  /** Whether a profile carries its own tenant (then `--tenant` beside it is a conflict). */
  profileTenant(profile: string): string | null;
}

export interface ChainResult {
  resolved: Resolved;
  steps: ChainStep[];
}

/**
 * Resolves the chain.
 * @throws ConflictingCredentials naming both credentials when one level holds two kinds.
 * @throws InvalidInput for a malformed profile name.
 */
export function resolveChain(input: ChainInput): ChainResult {
  const steps: ChainStep[] = [];
  let resolved: Resolved | undefined;
  const levels: Array<[Level, (input: ChainInput) => LevelResult]> = [
    ['explicit', explicitLevel],
    ['environment', environmentLevel],
    ['profile', profileLevel],
    ['default', defaultLevel],
  ];
  for (const [name, level] of levels) {
    if (!resolved) {
      const result = level(input);
      steps.push(...result.steps);
      resolved = result.resolved;
      continue;
    }
    // Below the winner: reported for `explain`, never an error (a higher level silently wins).
    const winner: Resolved = resolved;
    try {
      for (const step of level(input).steps) {
        steps.push(
          step.outcome === 'taken'
            ? { ...step, outcome: 'hidden', detail: `${step.detail}; hidden by ${winner.origin}` }
            : step,
        );
      }
    } catch (error) {
      const why = error instanceof Error ? error.message : 'unreadable';
      steps.push({
        level: name,
        source: `the ${name} level`,
        outcome: 'hidden',
        detail: `${why}; hidden by ${winner.origin}`,
      });
    }
  }
  return { resolved: resolved as Resolved, steps };
}

interface LevelResult {
  steps: ChainStep[];
  resolved: Resolved | undefined;
}

function explicitLevel(input: ChainInput): LevelResult {
  const e = input.explicit;
  const tenant = e.tenant ?? null;
  const kinds: string[] = [];
  if (e.token !== undefined) kinds.push('a token');
  if (e.clientId !== undefined || e.clientSecret !== undefined) kinds.push('client credentials');
  if (e.profile !== undefined) kinds.push(`profile ${safeName(e.profile)}`);
  if (kinds.length > 1) {
    throw new ConflictingCredentials(`both ${kinds.join(' and ')} were given explicitly`, {
      hint: 'give one kind of credential',
    });
  }
  if (e.token !== undefined) {
    return taken('explicit', 'token option', 'a token was given', { kind: 'token', token: e.token, tenant });
  }
  if (e.clientId !== undefined || e.clientSecret !== undefined) {
    if (!e.clientId || !e.clientSecret) {
      throw new ConflictingCredentials('client credentials need both a client id and a client secret');
    }
    return taken('explicit', 'client credentials option', `client ${e.clientId}`, {
      kind: 'client_credentials',
      clientId: e.clientId,
      clientSecret: e.clientSecret,
      tenant,
    });
  }
  if (e.profile !== undefined) {
    assertProfileName(e.profile, '--profile');
    const own = input.profileTenant(e.profile);
    if (tenant !== null && own !== null && own !== tenant) {
      throw new ConflictingCredentials(
        `--tenant ${safeName(tenant)} conflicts with profile ${e.profile}, which carries tenant ${safeName(own)}`,
        {
          hint: `drop --tenant, or use \`switch --tenant\` on that profile`,
        },
      );
    }
    // A profile named explicitly keeps its own tenant over <PREFIX>_TENANT (DESIGN.md).
    const envTenant = envValue(input, 'TENANT') ?? null;
    const result = taken('explicit', '--profile', `profile ${e.profile}`, {
      kind: 'profile',
      profile: e.profile,
      tenant: tenant ?? own ?? envTenant,
    });
    if (envTenant !== null && (tenant ?? own) !== null) {
      result.steps.push({
        level: 'environment',
        source: varName(input, 'TENANT'),
        outcome: 'hidden',
        detail: `tenant ${safeName(envTenant)}; hidden by ${tenant !== null ? 'the tenant given explicitly' : `profile ${e.profile}'s own tenant ${safeName(own ?? '')}`}`,
      });
    }
    return result;
  }
  return {
    steps: [
      { level: 'explicit', source: 'options and flags', outcome: 'not set', detail: 'no credential given' },
    ],
    resolved: undefined,
  };
}

function environmentLevel(input: ChainInput): LevelResult {
  const name = (suffix: string) => varName(input, suffix);
  const token = envValue(input, 'TOKEN');
  const file = envValue(input, 'TOKEN_FILE');
  const clientId = envValue(input, 'CLIENT_ID');
  const clientSecret = envValue(input, 'CLIENT_SECRET');
  const tenant = input.explicit.tenant ?? envValue(input, 'TENANT') ?? null;
  const set = [
    token !== undefined ? name('TOKEN') : null,
    file !== undefined ? name('TOKEN_FILE') : null,
    clientId !== undefined || clientSecret !== undefined
      ? `${name('CLIENT_ID')}/${name('CLIENT_SECRET')}`
      : null,
  ].filter((v): v is string => v !== null);
  if (set.length > 1) {
    throw new ConflictingCredentials(`both ${set.join(' and ')} are set`, { hint: 'unset all but one' });
  }
  if (token !== undefined) {
    return taken('environment', name('TOKEN'), 'a token from the environment', {
      kind: 'token',
      token,
      tenant,
    });
  }
  if (file !== undefined) {
    return taken('environment', name('TOKEN_FILE'), `a token read from ${file}`, {
      kind: 'token_file',
      path: file,
      tenant,
    });
  }
  if (clientId !== undefined || clientSecret !== undefined) {
    if (!clientId || !clientSecret) {
      throw new ConflictingCredentials(
        `${name('CLIENT_ID')} and ${name('CLIENT_SECRET')} go together; only one is set`,
      );
    }
    return taken('environment', `${name('CLIENT_ID')}/${name('CLIENT_SECRET')}`, `client ${clientId}`, {
      kind: 'client_credentials',
      clientId,
      clientSecret,
      tenant,
    });
  }
  return {
    steps: [
      {
        level: 'environment',
        source: `${name('TOKEN')}, ${name('TOKEN_FILE')}, ${name('CLIENT_ID')}`,
        outcome: 'not set',
        detail: 'none set',
      },
    ],
    resolved: undefined,
  };
}

function profileLevel(input: ChainInput): LevelResult {
  const variable = varName(input, 'PROFILE');
  const fromEnv = envValue(input, 'PROFILE');
  const profile = fromEnv ?? input.active;
  if (profile === null || profile === undefined) {
    return {
      steps: [
        {
          level: 'profile',
          source: `${variable} or the active profile`,
          outcome: 'not set',
          detail: 'no profile selected',
        },
      ],
      resolved: undefined,
    };
  }
  assertProfileName(profile, fromEnv ? variable : 'active profile');
  const source = fromEnv ? variable : 'active profile';
  // On the selected (not explicitly named) profile another tenant is a one-call exchange, not a
  // conflict (DESIGN.md, Control planes).
  const explicitTenant = input.explicit.tenant ?? envValue(input, 'TENANT') ?? null;
  const own = input.profileTenant(profile);
  return taken('profile', source, `profile ${profile}`, {
    kind: 'profile',
    profile,
    tenant: explicitTenant ?? own,
  });
}

function defaultLevel(input: ChainInput): LevelResult {
  const tenant = input.explicit.tenant ?? envValue(input, 'TENANT') ?? input.profileTenant('default');
  return taken('default', 'default profile', 'profile default', {
    kind: 'profile',
    profile: 'default',
    tenant,
  });
}

function taken<R extends Omit<Resolved, 'level' | 'origin'>>(
  level: Level,
  source: string,
  detail: string,
  resolved: R,
): LevelResult {
  return {
    steps: [{ level, source, outcome: 'taken', detail }],
    resolved: { ...resolved, level, origin: source } as unknown as Resolved,
  };
}

function varName(input: ChainInput, suffix: string): string {
  return input.envName ? input.envName(suffix) : `${input.envPrefix}_${suffix}`;
}

function envValue(input: ChainInput, suffix: string): string | undefined {
  const value = input.env[varName(input, suffix)];
  return value === undefined || value === '' ? undefined : value;
}

/** Names are echoed only when they look like names: a mistaken argument may be a secret. */
function safeName(value: string): string {
  return /^[A-Za-z0-9._-]{1,64}$/.test(value) ? value : '(not shown)';
}
