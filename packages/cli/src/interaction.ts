/**
 * How the CLI talks to the person during a login and where the library's log lines go: all of
 * it on stderr, so stdout stays clean for data.
 */
import { createLogger, type Logger, type LoginInteraction } from '@keyfob/core';
import { type AppIdentity, appEnvVar } from './command.js';
import { type IO, isTruthy, paint, sanitize, startSpinner } from './io.js';

/** The redacting logger on stderr; debug lines only with `<PREFIX>_DEBUG=1`. */
export function cliLogger(io: IO, app: AppIdentity): Logger {
  return createLogger({
    debug: isTruthy(io.env[appEnvVar(app, 'DEBUG')]),
    // Library lines carry server words (error descriptions, names): one line each, sanitized.
    write: (line) => io.stderr.write(`${sanitize(line.replace(/\n$/, ''))}\n`),
    prefix: app.name,
  });
}

/** The login conversation on stderr. */
export function cliInteraction(io: IO, openBrowser: (url: string) => Promise<boolean>): LoginInteraction {
  const colors = paint(io.stderr, io.env);
  return {
    showAuthorizationUrl(url, { opened, tried }) {
      const lead = opened
        ? 'Opened your browser to log in. If it did not open, open this link (it works once):'
        : tried
          ? 'Could not open the browser. Open this link in a browser to log in (it works once):'
          : 'Open this link in a browser to log in (it works once):';
      io.stderr.write(`${lead}\n  ${colors.bold(sanitize(url))}\n`);
    },
    showDeviceCode(prompt) {
      // Both come from the provider's device authorization response.
      const url = sanitize(prompt.verificationUriComplete ?? prompt.verificationUri);
      io.stderr.write(
        `To log in, open ${colors.bold(url)}\nand confirm the code: ${colors.bold(sanitize(prompt.userCode))}\n(the code expires in ${Math.round(prompt.expiresInSeconds / 60)} min)\n`,
      );
    },
    openBrowser,
    waiting(message) {
      return startSpinner(io.stderr, sanitize(message));
    },
    notice(message) {
      io.stderr.write(`${sanitize(message)}\n`);
    },
  };
}
