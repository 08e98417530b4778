/**
 * Handing a browser login's one-time start link to the browser without putting it in any
 * process's argv (which every local user can read in `/proc/*\/cmdline`).
 *
 * By default (`browser_handoff: file`) the browser receives the `file://` URL of a 0600 page in a
 * private 0700 directory; the page forwards to the start link. `browser_handoff: url` gives the
 * start link itself, for browsers that cannot read a local file (WSL, snap or flatpak browsers,
 * remote editors' `$BROWSER` forwarders), and says what that exposes.
 */
import { rmSync } from 'node:fs';
import { lstat, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { BrowserHandoff } from '../config/schema.js';
import { LoginFailed } from '../errors.js';
import type { LoginInteraction } from '../providers/provider.js';

/** A forwarding page on disk. */
export interface HandoffPage {
  /** The `file://` URL the browser is given. */
  url: string;
  /** Removes the page and its directory; safe to call twice. */
  remove(): Promise<void>;
}

/** What the person is told when `browser_handoff: url` puts the start link in argv. */
export const URL_HANDOFF_NOTICE =
  'browser_handoff: url — the login link is passed to the browser command as an argument, where other ' +
  'local users can read it while that command runs; whoever opens it first could complete this login ' +
  'with their own account (keyfob aborts if it is opened twice).';

/** Writes a 0600 page in a fresh 0700 directory under the temp directory that forwards to `startUrl`. */
export async function writeHandoffPage(startUrl: string, appName: string): Promise<HandoffPage> {
  const dir = await mkdtemp(join(tmpdir(), 'keyfob-login-'));
  const detach = removeOnExit(dir);
  const remove = async () => {
    detach();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    // mkdtemp makes it 0700 and ours; check anyway, since the page is what guards the link.
    const info = await lstat(dir);
    const uid = process.getuid?.();
    if (!info.isDirectory() || (info.mode & 0o077) !== 0 || (uid !== undefined && info.uid !== uid)) {
      throw new LoginFailed(`the private directory ${dir} for the login page is not private`, {
        hint: 'check the permissions of the temporary directory ($TMPDIR)',
      });
    }
    const file = join(dir, 'login.html');
    await writeFile(file, forwardingPage(startUrl, appName), { mode: 0o600, flag: 'wx' });
    return { url: pathToFileURL(file).href, remove };
  } catch (error) {
    await remove();
    throw error;
  }
}

const EXIT_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/**
 * Removes `dir` if the process exits or is stopped by a signal before the login ends (Ctrl-C
 * while waiting for the browser): the page must not outlive the login. Returns the detacher.
 */
function removeOnExit(dir: string): () => void {
  const removeNow = () => {
    try {
      rmSync(dir, { recursive: true, force: true });
    } catch {
      // Best effort: the process is going away.
    }
  };
  const onSignal = (signal: NodeJS.Signals) => {
    removeNow();
    detach();
    // Re-raise only when nobody else handles it, so the default (ending by that signal) stays.
    if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
  };
  function detach() {
    process.off('exit', removeNow);
    for (const signal of EXIT_SIGNALS) process.off(signal, onSignal);
  }
  process.on('exit', removeNow);
  for (const signal of EXIT_SIGNALS) process.on(signal, onSignal);
  return detach;
}

/** One meta refresh (no script as well: two navigations would open the one-time link twice). */
function forwardingPage(startUrl: string, appName: string): string {
  const href = escapeHtml(startUrl);
  const name = escapeHtml(appName);
  return `<!doctype html><html><head><meta charset="utf-8"><meta name="referrer" content="no-referrer"><meta http-equiv="refresh" content="0;url=${href}"><title>${name} login</title></head><body style="font-family:system-ui,sans-serif;max-width:36rem;margin:4rem auto"><p>Continuing to the ${name} login…</p></body></html>\n`;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export interface HandOverOptions {
  startUrl: string;
  /** False for `--no-browser`: only show the link. */
  openBrowser: boolean;
  handoff: BrowserHandoff;
  appName: string;
  interaction: LoginInteraction;
}

/**
 * Opens the browser on the start link (through a page by default) and always shows the link on
 * the person's own channel. Resolves with the cleanup to run once the login has ended.
 */
export async function handOverStartLink(options: HandOverOptions): Promise<() => Promise<void>> {
  const { interaction, startUrl } = options;
  if (!options.openBrowser) {
    interaction.showAuthorizationUrl(startUrl, { opened: false, tried: false });
    return async () => {};
  }
  let cleanup = async () => {};
  let target = startUrl;
  if (options.handoff === 'url') {
    interaction.notice(URL_HANDOFF_NOTICE);
  } else {
    const page = await writeHandoffPage(startUrl, options.appName);
    cleanup = page.remove;
    target = page.url;
  }
  const opened = await interaction.openBrowser(target);
  interaction.showAuthorizationUrl(startUrl, { opened, tried: true });
  return cleanup;
}
