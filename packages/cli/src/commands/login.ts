/**
 * `keyfob login [PROVIDER]`: a browser login (PKCE through a loopback redirect), the device
 * flow, or a machine login, into the selected profile.
 */
import { InvalidInput, openInBrowser } from '@keyfob/core';
import { appEnvVar, type Command, noInputFlag, profileFlags } from '../command.js';
import { cliInteraction } from '../interaction.js';
import { askChoice, askHidden, type IO, personIsThere, readStdin, sanitize } from '../io.js';
import { tenantChooser } from '../tenant-choice.js';
import { openKeyfob, optionalString } from './shared.js';

export const login: Command = {
  name: 'login',
  summary: 'log in with a provider and store the session',
  usage: '[PROVIDER] [flags]',
  examples: [
    { what: 'log in through the browser (the device flow on SSH or without a display)', run: 'keyfob login' },
    { what: 'log in with a code confirmed on another device', run: 'keyfob login --device' },
    {
      what: 'store a token you already have (read from stdin, never argv)',
      run: 'printenv MY_TOKEN | keyfob login --with-token',
    },
    {
      what: 'log a machine profile in with a client secret from stdin',
      run: 'printenv ROBOT_SECRET | keyfob login robot --with-secret --profile ci',
    },
    {
      what: 'log in with an email and password from a script (the password on stdin, never argv)',
      run: 'printenv PASSWORD | keyfob login acme --email me@example.com --password-stdin',
    },
    {
      what: 'log in through a control plane, into tenant acme-eu',
      run: 'keyfob login cloud --tenant acme-eu',
    },
  ],
  description: [
    'Without a flow flag, the browser opens (through $BROWSER when set); on a remote session (SSH, or',
    'no display) the device flow is used where the provider has it. The URL is always printed too.',
    'A machine provider (client_credentials) logs in without any prompt.',
    'A password or firebase provider asks for the email, then the password (hidden), at a terminal;',
    'scripts give --email E and pipe the password with --password-stdin.',
    'With nobody at the terminal (a pipe, CI, KEYFOB_NO_PROMPT or --no-input), a login whose flow',
    'nobody chose exits 2 at once: choose --device or --browser, or pipe a credential with',
    '--with-token or --with-secret.',
  ].join('\n'),
  completes: 'providers',
  maxPositionals: 1,
  flags: {
    ...profileFlags,
    browser: { type: 'boolean', description: 'log in through the browser' },
    'no-browser': {
      type: 'boolean',
      description: 'print the URL instead of opening a browser; still wait for the login',
    },
    device: { type: 'boolean', description: 'use the device flow (a code to confirm on another device)' },
    scopes: {
      type: 'string',
      value: 'LIST',
      description: 'scopes to request instead of the configured ones',
    },
    'with-token': { type: 'boolean', description: 'read a token from stdin and store it (never from argv)' },
    'with-secret': {
      type: 'boolean',
      description: "read a machine client's secret from stdin into the store (never from argv)",
    },
    email: {
      type: 'string',
      value: 'E',
      description: 'the email to log in as (password and firebase providers)',
    },
    'password-stdin': {
      type: 'boolean',
      description: 'read the password from stdin (never from argv); needs --email',
    },
    tenant: {
      type: 'string',
      value: 'ID',
      description: 'the tenant to log in to (providers with a control plane)',
    },
    ...noInputFlag,
  },
  async run({ io, app, values, positionals }) {
    const chosen = ['browser', 'no-browser', 'device', 'with-token', 'with-secret', 'password-stdin'].filter(
      (flag) => values[flag],
    );
    if (chosen.length > 1) throw new InvalidInput(`choose one of --${chosen.join(', --')}`);
    const personPresent = personIsThere(io, appEnvVar(app, 'NO_PROMPT'), values['no-input'] === true);
    const email = optionalString(values.email);
    const password = await passwordFromFlags(io, email, values['password-stdin'] === true);
    const fromStdin =
      values['with-token'] || values['with-secret'] ? await readSecretFromStdin(io) : undefined;
    const kf = await openKeyfob(io, app, values);
    const result = await kf.login({
      profile: optionalString(values.profile),
      provider: positionals[0],
      flow: values.device
        ? 'device'
        : values['no-browser']
          ? 'no-browser'
          : values.browser
            ? 'browser'
            : 'auto',
      scopes: optionalString(values.scopes),
      interaction: {
        ...cliInteraction(io, (url) => openInBrowser(url, io.env)),
        chooseTenant: tenantChooser(io),
      },
      ...(typeof values.tenant === 'string' ? { tenant: values.tenant } : {}),
      personPresent,
      ...(email !== undefined ? { email } : {}),
      ...(password !== undefined ? { password } : {}),
      askCredentials: (known) => askCredentials(io, known),
      chooseProvider: (names) => askChoice(io, 'Which provider do you want to log in with?', names),
      persist: true,
      ...(values['with-token'] && fromStdin !== undefined ? { token: fromStdin } : {}),
      ...(values['with-secret'] && fromStdin !== undefined ? { secret: fromStdin } : {}),
    });
    for (const notice of result.notices) io.stderr.write(`${sanitize(notice)}\n`);
    // The subject is the ID token's `sub`: the provider's text.
    const who = result.subject ? ` as ${sanitize(result.subject)}` : '';
    const tenant = result.tenant ? `, tenant ${sanitize(result.tenant.id)}` : '';
    io.stderr.write(
      `Logged in to ${result.provider}${who} (profile ${result.profile}${tenant}, stored in ${result.store}).\n`,
    );
    return 0;
  },
};

/**
 * The password of `--password-stdin` (the whole of stdin, one trailing newline stripped), after
 * checking `--password-stdin` comes with `--email`.
 */
async function passwordFromFlags(
  io: IO,
  email: string | undefined,
  passwordStdin: boolean,
): Promise<string | undefined> {
  if (passwordStdin && email === undefined) {
    throw new InvalidInput('--password-stdin needs --email E (stdin holds only the password)');
  }
  // `--email` alone: the password is asked at a terminal; without a person the library refuses
  // (exit 2) naming `--email E --password-stdin`, once it knows the provider takes a password.
  if (!passwordStdin) return undefined;
  if (io.stdin.isTTY) {
    throw new InvalidInput(
      '--password-stdin reads the password from a pipe, e.g. `printenv PASSWORD | keyfob login --email E --password-stdin`; at a terminal leave it out to be asked',
    );
  }
  let text: string;
  try {
    text = await readStdin(io, 64 * 1024);
  } catch {
    throw new InvalidInput('stdin holds more than 64 KiB; a password is far shorter');
  }
  // Spaces may belong to a password: only the line ending is not part of it.
  const value = text.replace(/\r?\n$/, '');
  if (value.length === 0 || /[\r\n]/.test(value)) {
    throw new InvalidInput('stdin must hold the password on one line');
  }
  return value;
}

/**
 * At a terminal: "Email:" (shown, unless given), then "Password:" with echo off. Also the
 * step-up of `refresh --scopes` for a password or firebase provider.
 */
export async function askCredentials(
  io: IO,
  known: { email?: string },
): Promise<{ email: string; password: string }> {
  let email = known.email;
  if (email === undefined) {
    const { createInterface } = await import('node:readline/promises');
    const rl = createInterface({ input: io.stdin, output: io.stderr, terminal: Boolean(io.stdin.isTTY) });
    const closed = new Promise<never>((_, reject) => {
      rl.once('close', () => reject(new InvalidInput('no email was given')));
    });
    closed.catch(() => {});
    try {
      email = (await Promise.race([rl.question('Email: '), closed])).trim();
    } finally {
      rl.close();
    }
    if (email === '') throw new InvalidInput('no email was given');
  }
  let password: string;
  try {
    password = await askHidden(io, 'Password: ', 'password');
  } catch {
    throw new InvalidInput('no password was given');
  }
  return { email, password };
}

/** One secret on stdin: trimmed, non-empty, one line. It is never echoed, even in errors. */
async function readSecretFromStdin(io: IO): Promise<string> {
  if (io.stdin.isTTY) {
    throw new InvalidInput('pipe the value on stdin, e.g. `printenv TOKEN | keyfob login --with-token`');
  }
  let text: string;
  try {
    text = await readStdin(io, 64 * 1024);
  } catch {
    throw new InvalidInput('stdin holds more than 64 KiB; a token or secret is far shorter');
  }
  const value = text.trim();
  if (value.length === 0 || /[\r\n]/.test(value)) {
    throw new InvalidInput('stdin must hold exactly one token or secret on one line');
  }
  return value;
}
