/**
 * How the CLI talks to the person during a login and where the library's log lines go: all of
 * it on stderr, so stdout stays clean for data.
 */
import { createLogger, type Logger, type LoginInteraction } from 'keyfob';
import type { AppIdentity } from './command.js';
import { type IO, isTruthy, paint, startSpinner } from './io.js';

/** The redacting logger on stderr; debug lines only with `<PREFIX>_DEBUG=1`. */
export function cliLogger(io: IO, app: AppIdentity): Logger {
  return createLogger({
    debug: isTruthy(io.env[`${app.envPrefix}_DEBUG`]),
    write: (line) => io.stderr.write(line),
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
      io.stderr.write(`${lead}\n  ${colors.bold(url)}\n`);
    },
    showDeviceCode(prompt) {
      const url = prompt.verificationUriComplete ?? prompt.verificationUri;
      io.stderr.write(
        `To log in, open ${colors.bold(url)}\nand confirm the code: ${colors.bold(prompt.userCode)}\n(the code expires in ${Math.round(prompt.expiresInSeconds / 60)} min)\n`,
      );
    },
    openBrowser,
    waiting(message) {
      return startSpinner(io.stderr, message);
    },
    notice(message) {
      io.stderr.write(`${message}\n`);
    },
  };
}
