/**
 * `createKeyfob({ interactive })`: when a call finds no session and a person is there, it starts
 * the login itself (DESIGN.md, The resolver, level 5), the browser, or the device flow when
 * remote; the session stays in this instance's memory unless `persist: true`.
 */
import { envVar } from '../config/names.js';
import { openInBrowser } from '../flows/browser.js';
import type { LoginInteraction } from '../providers/provider.js';
import { safeText } from '../text.js';
import type { InstanceContext } from './context.js';

/**
 * DESIGN.md: a person is there when stdin and stderr are terminals, `CI` is unset and
 * `<PREFIX>_NO_PROMPT` is not given.
 */
export function personIsThere(ctx: InstanceContext): boolean {
  if (ctx.env.CI) return false;
  const noPrompt = ctx.env[envVar(ctx.names, 'NO_PROMPT')];
  if (noPrompt && !/^(0|false|no|off)$/i.test(noPrompt)) return false;
  return Boolean(process.stdin.isTTY && process.stderr.isTTY);
}

/** The conversation of a login an SDK call started: stderr (the person's channel), `$BROWSER`. */
export function stderrInteraction(ctx: InstanceContext): LoginInteraction {
  const write = (text: string) => process.stderr.write(`${text}\n`);
  return {
    showAuthorizationUrl(url, { opened }) {
      write(
        `${opened ? 'Opened your browser to log in. If it did not open, open this link' : 'Open this link in a browser to log in'} (it works once):\n  ${safeText(url, 2000)}`,
      );
    },
    showDeviceCode(prompt) {
      write(
        `To log in, open ${safeText(prompt.verificationUriComplete ?? prompt.verificationUri, 2000)}\nand confirm the code: ${safeText(prompt.userCode, 64)}`,
      );
    },
    openBrowser: (url) => openInBrowser(url, ctx.env),
    waiting(message) {
      write(safeText(message, 500));
      return () => {};
    },
    notice: (message) => write(safeText(message, 500)),
  };
}

const pending = new WeakMap<InstanceContext, Map<string, Promise<unknown>>>();

/** Logs `profile` in for a call, once for all the calls waiting on it at the same time. */
export function loginForCall(ctx: InstanceContext, profile: string): Promise<unknown> {
  const interactive = ctx.interactive;
  if (!interactive) return Promise.reject(new Error('interactive login is off'));
  let byProfile = pending.get(ctx);
  if (!byProfile) {
    byProfile = new Map();
    pending.set(ctx, byProfile);
  }
  const running = byProfile.get(profile);
  if (running) return running;
  const started = (async () => {
    const { login } = await import('./login.js');
    return login(ctx, {
      profile,
      flow: 'auto',
      interaction: interactive.interaction ?? stderrInteraction(ctx),
      personPresent: true,
      persist: interactive.persist === true,
    });
  })().finally(() => byProfile.delete(profile));
  byProfile.set(profile, started);
  return started;
}
