/**
 * Opening the authorization URL in a browser, and deciding whether a browser is there at all.
 *
 * `$BROWSER` wins when set (what to open is its last argument, as `gh` and Python's `webbrowser`
 * do); otherwise the platform's opener. What it is given holds no secret of the flow (see
 * handoff.ts). Openers often succeed without a browser appearing, so the caller always prints
 * the start link as well.
 */
/** Which login flow to use when the user did not choose one. */
export interface FlowChoiceInput {
  browserFlag: boolean;
  noBrowserFlag: boolean;
  deviceFlag: boolean;
  env: Readonly<Record<string, string | undefined>>;
  platform: NodeJS.Platform;
  /** Whether the provider offers the device flow. */
  deviceAvailable: boolean;
  browserAvailable: boolean;
}

export interface FlowChoice {
  flow: 'browser' | 'device';
  openBrowser: boolean;
  /** Set when keyfob chose the device flow by itself, to tell the person why. */
  reason: string | null;
}

/** True when the session looks remote: SSH, or Linux without a display. */
export function isRemoteSession(
  env: Readonly<Record<string, string | undefined>>,
  platform: NodeJS.Platform,
): boolean {
  if (env.SSH_CONNECTION || env.SSH_CLIENT || env.SSH_TTY) return true;
  return platform === 'linux' && !env.DISPLAY && !env.WAYLAND_DISPLAY;
}

/** DESIGN.md's login paragraph, as a function. */
export function chooseLoginFlow(input: FlowChoiceInput): FlowChoice {
  if (input.deviceFlag) return { flow: 'device', openBrowser: false, reason: null };
  if (input.noBrowserFlag) return { flow: 'browser', openBrowser: false, reason: null };
  if (input.browserFlag || input.env.BROWSER) return { flow: 'browser', openBrowser: true, reason: null };
  if (!input.browserAvailable)
    return { flow: 'device', openBrowser: false, reason: 'the provider has no browser login' };
  if (input.deviceAvailable && isRemoteSession(input.env, input.platform)) {
    const why = input.env.SSH_CONNECTION ? 'this is an SSH session' : 'no display was found';
    return {
      flow: 'device',
      openBrowser: false,
      reason: `using the device flow because ${why}; pass --browser to open a browser instead`,
    };
  }
  return { flow: 'browser', openBrowser: true, reason: null };
}

/** The command that opens a URL: `$BROWSER` split on spaces, else the platform's opener. */
export function browserCommand(
  env: Readonly<Record<string, string | undefined>>,
  platform: NodeJS.Platform,
): { command: string; args: string[] } {
  const fromEnv = env.BROWSER?.split(':')[0]?.trim();
  if (fromEnv) {
    const [command, ...args] = fromEnv.split(/\s+/);
    return { command: command as string, args };
  }
  if (platform === 'darwin') return { command: 'open', args: [] };
  if (platform === 'win32') return { command: 'rundll32', args: ['url.dll,FileProtocolHandler'] };
  return { command: 'xdg-open', args: [] };
}

/**
 * How long an opener may run before it counts as a browser that stays open: openers (xdg-open,
 * `open`, editors' forwarders) exit within this, and a non-zero exit means nothing opened.
 */
export const OPENER_GRACE_MS = 1500;

/**
 * Starts the browser on `url` and resolves `true` once the opener exited with status 0 or is
 * still running after {@link OPENER_GRACE_MS}; `false` when it could not be spawned or exited
 * non-zero (or by a signal) before that. The opener is detached: a browser left running does not
 * keep keyfob alive.
 */
export async function openInBrowser(
  url: string,
  env: Readonly<Record<string, string | undefined>> = process.env,
  platform: NodeJS.Platform = process.platform,
): Promise<boolean> {
  const { command, args } = browserCommand(env, platform);
  // Loaded here: the token-reading commands never open a browser.
  const { spawn } = await import('node:child_process');
  return new Promise((settle) => {
    // The grace timer stays referenced until the promise settles. With the opener unref'd, it is
    // what keeps keyfob alive while the login awaits this: if the loopback server closes in the
    // meantime (the start link opened twice while a slow opener still runs), nothing else holds
    // the event loop, and Node would end the process with status 0 and no output, mid-login.
    let grace: NodeJS.Timeout | undefined;
    const resolve = (opened: boolean) => {
      clearTimeout(grace);
      settle(opened);
    };
    try {
      const child = spawn(command, [...args, url], { stdio: 'ignore', detached: true, env: { ...env } });
      child.once('error', () => resolve(false));
      child.once('exit', (code) => resolve(code === 0));
      child.once('spawn', () => {
        child.unref();
        grace = setTimeout(() => resolve(true), OPENER_GRACE_MS);
      });
    } catch {
      resolve(false);
    }
  });
}
