/**
 * `keyfob check [TOKEN | -]`: the six-step validation of a token against a provider's issuer
 * (or `--issuer`), each step reported with `--verbose`, the whole proof with `--json`.
 * Exit 0 valid, 1 invalid, 3 when the issuer or its keys could not be reached.
 *
 * `-` reads the token from stdin, so it need never sit in argv or shell history; with no
 * argument the selected profile's own token is checked.
 */
import {
  type CheckOptions,
  type CheckReport,
  checkFailure,
  checkOptionsForProvider,
  checkToken,
  InvalidInput,
  type Keyfob,
  type KeyfobConfig,
  ProviderNotFound,
} from '@keyfob/core';
import { type Command, jsonFlag, profileFlags } from '../command.js';
import { type IO, type Paint, paint, readStdin, sanitize, toJson } from '../io.js';
import { openKeyfob, optionalString, parseSeconds } from './shared.js';

// Above the library's 64 KiB token limit on purpose: a too-long token is refused by the
// structure step, which says why; only input no token could be is refused while reading.
const MAX_STDIN_BYTES = 2 * 1024 * 1024;

export const check: Command = {
  name: 'check',
  summary: 'validate a token step by step',
  usage: '[TOKEN | -] [flags]',
  examples: [
    { what: 'check the token keyfob would use, step by step', run: 'keyfob check' },
    {
      what: "check a token from a pipe against a provider's issuer, every step shown",
      run: 'keyfob token | keyfob check - --provider dev --verbose',
    },
    {
      what: "a script's test: exit 0 valid, 1 invalid, 3 undecided",
      run: 'keyfob check - --issuer https://sso.example.com --audience my-api --json < token.txt',
    },
  ],
  description: [
    "Six steps: structure, algorithm, key (from the issuer's jwks_uri only), signature, issuer and",
    "audience, time claims. An opaque token is checked by the issuer's introspection endpoint with",
    "the provider's client credentials. `-` reads the token from stdin (keeps it out of argv and",
    "shell history); without TOKEN the selected profile's token is checked.",
    '',
    "The issuer is that of --provider, else of the profile's provider, else of default_provider; or",
    "--issuer URL. The expected audience is --audience, else the provider's resource.",
    '',
    'Exit 0 valid, 1 invalid, 3 when it could not decide (issuer or JWKS unreachable).',
  ].join('\n'),
  maxPositionals: 1,
  flags: {
    ...profileFlags,
    ...jsonFlag,
    provider: { type: 'string', value: 'NAME', description: "check against this provider's issuer" },
    issuer: { type: 'string', value: 'URL', description: 'check against this issuer instead of a provider' },
    audience: {
      type: 'string',
      multiple: true,
      value: 'AUD',
      description:
        "the audience the token must name (repeatable: any of them); default: the provider's resource",
    },
    'clock-tolerance': {
      type: 'string',
      value: 'SECONDS',
      description: 'leeway for exp, nbf and iat (default 60, at most 300)',
    },
    verbose: { type: 'boolean', short: 'v', description: 'print every step with its outcome' },
  },
  async run({ io, app, values, positionals }) {
    const providerFlag = optionalString(values.provider);
    const issuerFlag = optionalString(values.issuer);
    if (providerFlag !== undefined && issuerFlag !== undefined) {
      throw new InvalidInput('give --provider or --issuer, not both');
    }
    const clockTolerance = parseSeconds(values['clock-tolerance'], '--clock-tolerance');
    const audiences = Array.isArray(values.audience) ? values.audience.map(String) : [];
    const argument = positionals[0];
    const fromStdin = argument === '-' ? await tokenFromStdin(io) : undefined;
    if (argument !== undefined && argument !== '-' && argument.trim() === '') {
      throw new InvalidInput('the TOKEN argument is empty');
    }

    const kf = await openKeyfob(io, app, values);
    const profileFlag = optionalString(values.profile);
    const own = argument === undefined ? await kf.getToken({ profile: profileFlag }) : undefined;
    const token = fromStdin ?? own?.access_token ?? (argument as string).trim();

    const target = await checkTarget(kf, {
      provider: providerFlag,
      issuer: issuerFlag,
      profile: own?.profile ?? profileFlag,
      command: app.commandPrefix,
      env: io.env,
    });
    const options: CheckOptions = {
      ...target,
      ...(audiences.length > 0 ? { audience: audiences } : {}),
      ...(clockTolerance !== undefined ? { clockTolerance } : {}),
      fetch: kf.http,
    };
    const report = await checkToken(token, options);

    if (values.json) {
      io.stdout.write(toJson(jsonShape(report), 2));
    } else {
      if (values.verbose) io.stdout.write(renderSteps(report, paint(io.stdout, io.env)));
      if (report.valid) io.stdout.write(`${sanitize(summary(report))}\n`);
    }
    const shownAll = values.verbose === true || values.json === true;
    const failure = checkFailure(report, shownAll ? null : `${app.commandPrefix} check`);
    if (failure) throw failure;
    return 0;
  },
};

async function tokenFromStdin(io: IO): Promise<string> {
  let text: string;
  try {
    text = await readStdin(io, MAX_STDIN_BYTES);
  } catch (error) {
    if (error instanceof RangeError) {
      throw new InvalidInput('standard input holds more than 2 MiB, which no token is');
    }
    throw error;
  }
  // A token copied from an Authorization header keeps its scheme; a pipe adds a newline.
  const token = text.trim().replace(/^Bearer\s+/i, '');
  if (token === '') throw new InvalidInput('no token on standard input');
  return token;
}

/** Which issuer (and audience, introspection client) the token is checked against. */
async function checkTarget(
  kf: Keyfob,
  choice: {
    provider?: string;
    issuer?: string;
    profile?: string;
    command: string;
    env: Readonly<Record<string, string | undefined>>;
  },
): Promise<Pick<CheckOptions, 'issuer' | 'audience' | 'introspection' | 'offline'>> {
  if (choice.issuer !== undefined) return { issuer: choice.issuer };
  const config = await kf.config();
  const name = choice.provider ?? (await profileProvider(kf, config, choice.profile));
  if (!name) {
    throw new InvalidInput('no provider to check against', {
      hint: `name one with \`${choice.command} check --provider NAME\` or give \`--issuer URL\``,
    });
  }
  const provider = Object.hasOwn(config.providers, name) ? config.providers[name] : undefined;
  if (!provider) {
    const known = Object.keys(config.providers);
    throw new ProviderNotFound(`provider ${name} is not configured`, {
      hint: known.length > 0 ? `configured: ${known.join(', ')}` : 'add it to config.yaml',
    });
  }
  return checkOptionsForProvider(provider, choice.command, choice.env);
}

/** The selected profile's provider, else `default_provider`, else the only provider. */
async function profileProvider(kf: Keyfob, config: KeyfobConfig, explicit: string | undefined) {
  const status = await kf.status();
  const name = explicit ?? status.active_profile;
  const bound =
    status.profiles.find((p) => p.name === name)?.provider ??
    (Object.hasOwn(config.profiles, name) ? config.profiles[name]?.provider : null);
  if (bound) return bound;
  if (config.default_provider) return config.default_provider;
  const all = Object.keys(config.providers);
  return all.length === 1 ? all[0] : undefined;
}

/** DESIGN.md's `check --json` shape, plus `undecided`, `format` and `issuer`. */
function jsonShape(report: CheckReport) {
  return {
    valid: report.valid,
    undecided: report.undecided,
    format: report.format,
    issuer: report.issuer,
    steps: report.steps.map(({ name, ok, status, detail }) => ({ name, ok, status, detail })),
    header: report.header,
    claims: report.claims,
  };
}

const MARKS = { passed: '✓', failed: '✗', undecided: '?', skipped: '-' } as const;

function renderSteps(report: CheckReport, colors: Paint): string {
  const width = Math.max(...report.steps.map((s) => s.name.length));
  const tint = { passed: colors.green, failed: colors.red, undecided: colors.yellow, skipped: colors.dim };
  return report.steps
    .map((s) => `${tint[s.status](MARKS[s.status])} ${s.name.padEnd(width)}  ${sanitize(s.detail)}\n`)
    .join('');
}

function summary(report: CheckReport): string {
  const exp = report.claims?.exp;
  const expiry =
    typeof exp === 'number' ? `, expires ${new Date(exp * 1000).toISOString().replace('.000Z', 'Z')}` : '';
  const how = report.format === 'opaque' ? 'active at' : 'signed by';
  return `valid: ${how} ${report.issuer}${expiry}`;
}
