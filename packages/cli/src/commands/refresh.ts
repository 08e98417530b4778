/**
 * `keyfob refresh`: renews the access token now, through the same lock and single-flight as
 * every other renewal, so a rotating refresh token is never spent twice. `--scopes` is a
 * step-up: a refresh cannot add scopes (RFC 6749 §6), so it is a new login into the same
 * profile, with the scopes it had plus the new ones; that needs a person.
 */
import { AuthenticationRequired, InvalidInput, openInBrowser, parseScopes } from '@keyfob/core';
import { appEnvVar, type Command, jsonFlag, noInputFlag, profileFlags } from '../command.js';
import { cliInteraction } from '../interaction.js';
import { personIsThere, sanitize, toJson } from '../io.js';
import { askCredentials } from './login.js';
import {
  envCredentialNotRefreshable,
  envCredentialWhat,
  environmentCredential,
  openKeyfob,
  optionalString,
} from './shared.js';

export const refresh: Command = {
  name: 'refresh',
  summary: 'refresh the access token now; --scopes adds scopes (a new login)',
  usage: '[--scopes LIST] [flags]',
  examples: [
    { what: 'renew the access token now', run: 'keyfob refresh' },
    {
      what: 'step up: log in again asking for more scopes',
      run: 'keyfob refresh --scopes api:read,api:write',
    },
  ],
  maxPositionals: 0,
  flags: {
    ...profileFlags,
    ...jsonFlag,
    resource: {
      type: 'string',
      value: 'URL',
      description: "refresh the token for this resource instead of the provider's default",
    },
    scopes: {
      type: 'string',
      value: 'LIST',
      description: 'add these scopes: a new authorization in the browser',
    },
    ...noInputFlag,
  },
  async run({ io, app, values }) {
    const profile = optionalString(values.profile);
    const fromEnv = profile === undefined ? environmentCredential(io, app) : null;
    if (fromEnv) {
      // A credential from the environment wins over every profile and is not keyfob's to renew:
      // "refreshed" would be a claim about something that did not happen.
      throw new InvalidInput(
        `nothing was refreshed: ${fromEnv} is set, and commands use ${envCredentialWhat(fromEnv)} instead of any stored profile; ${envCredentialNotRefreshable(fromEnv)}`,
        { hint: `unset ${fromEnv}, or pass --profile NAME to refresh a stored profile` },
      );
    }
    const kf = await openKeyfob(io, app, values);
    const added = parseScopes(optionalString(values.scopes));
    if (added.length > 0) {
      const command = `${app.commandPrefix} refresh --scopes ${added.join(',')}${profile ? ` --profile ${profile}` : ''}`;
      if (!personIsThere(io, appEnvVar(app, 'NO_PROMPT'), values['no-input'] === true)) {
        throw new AuthenticationRequired(`adding scopes (${added.join(' ')}) needs a new login by a person`, {
          hint: `run \`${command}\` at a terminal`,
        });
      }
      const status = await kf.status();
      const current = status.profiles.find((p) => p.name === (profile ?? status.active_profile));
      const result = await kf.login({
        ...(profile ? { profile } : {}),
        ...(current?.provider ? { provider: current.provider } : {}),
        scopes: [...(current?.scopes ?? []), ...added],
        interaction: cliInteraction(io, (url) => openInBrowser(url, io.env)),
        // A password or firebase provider: the step-up asks the email and password instead.
        askCredentials: (known) => askCredentials(io, known),
        personPresent: true,
        persist: true,
      });
      io.stderr.write(
        `Profile ${result.profile} now has: ${sanitize([...new Set([...(current?.scopes ?? []), ...added])].join(' '))}.\n`,
      );
      return 0;
    }
    const result = await kf.getToken({
      ...(profile ? { profile } : {}),
      ...(typeof values.resource === 'string' ? { resource: values.resource } : {}),
      forceRefresh: true,
    });
    if (values.json) {
      io.stdout.write(
        toJson({ profile: result.profile, expires_at: result.expires_at, scopes: result.scopes }),
      );
    } else {
      io.stderr.write(
        `Refreshed profile ${result.profile}; the new token expires at ${result.expires_at ?? 'an unknown time'}.\n`,
      );
    }
    return 0;
  },
};
