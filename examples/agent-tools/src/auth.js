// The Registry runtime's authentication: every line of integrator code it needs (see README).
import { fileURLToPath } from 'node:url';
import { createAuthCommands } from '@keyfob/cli';
import { createKeyfob, createLogger } from '@keyfob/core';

// Production's addresses unless the environment names others (staging, dev-idp).
const PRODUCTION = {
  REGISTRY_ISSUER: 'https://login.registry.example',
  REGISTRY_LOGIN_CLIENT: 'registry-cli',
  REGISTRY_URL: 'https://registry.example/api',
};

/** The command people run to sign in: what an agent shows when a tool needs a login. */
export const SIGNIN = 'registry auth signin';

/** keyfob as the Registry's: ~/.config/registry, REGISTRY_TOKEN, REGISTRY_PROXY_URL, its provider. */
export const keyfob = () =>
  createKeyfob({
    appName: 'registry',
    cliName: 'registry auth',
    // The Registry's users sign in with `registry auth signin`: every hint keyfob writes says so.
    commandNames: { login: 'signin' },
    configPath: fileURLToPath(new URL('../providers.yaml', import.meta.url)),
    environment: { ...PRODUCTION, ...process.env },
    // REGISTRY_DEBUG=1: keyfob's redacted debug lines on stderr (the agent's log).
    log: createLogger({
      debug: process.env.REGISTRY_DEBUG === '1',
      write: (line) => process.stderr.write(line),
      prefix: 'registry',
    }),
  });

/** `registry auth …`: keyfob's commands under the instance's names (`login` is `signin`). */
export const authCommands = (kf) => createAuthCommands({ commandPrefix: 'registry auth', keyfob: kf });
