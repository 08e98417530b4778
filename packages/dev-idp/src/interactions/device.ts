/**
 * The device flow's pages, as oidc-provider's `features.deviceFlow` hooks.
 *
 * oidc-provider hands each hook a ready `<form>` holding its CSRF token; the pages keep its
 * action and hidden inputs but draw their own form, so that the ids are ours:
 * code entry `#user_code` + `#confirm`, confirmation `#confirm` (and `#abort`), success text
 * "You can close this window", failures `#error`, a cancelled request `#aborted`.
 */
import type { ProviderClient, ProviderContext } from 'oidc-provider';
import { escapeHtml, renderPage } from './html.js';

/** The action and hidden inputs of a form oidc-provider rendered. */
interface ProviderForm {
  action: string;
  hidden: Array<[string, string]>;
}

function parseProviderForm(form: string): ProviderForm {
  const action = /\baction="([^"]*)"/.exec(form)?.[1];
  if (action === undefined) throw new Error('dev-idp: oidc-provider device form without an action');
  const hidden: Array<[string, string]> = [];
  for (const match of form.matchAll(/<input\s+type="hidden"\s+name="([^"]*)"\s+value="([^"]*)"\s*\/?>/g)) {
    // Values arrive escaped already; keep them as they are.
    hidden.push([match[1] ?? '', match[2] ?? '']);
  }
  return { action, hidden };
}

function hiddenInputs(form: ProviderForm): string {
  return form.hidden
    .map(([name, value]) => `<input type="hidden" name="${name}" value="${value}">`)
    .join('\n');
}

function respond(ctx: ProviderContext, title: string, body: string): void {
  ctx.type = 'html';
  ctx.body = renderPage(title, body);
}

/** The error a device page re-renders with, as oidc-provider passes it. */
interface DeviceFlowError {
  name?: string;
  userCode?: string;
}

function errorLine(err: DeviceFlowError | undefined, out: Record<string, unknown> | undefined): string {
  if (!err) return '<p>Enter the code shown by your device.</p>';
  switch (err.name) {
    case 'AbortedError':
      return '<p id="aborted" class="error" role="alert">Sign-in cancelled. Nothing was shared with the device.</p>';
    case 'ExpiredError':
      return '<p id="error" class="error" role="alert">That code has expired. Start again on your device.</p>';
    case 'AlreadyUsedError':
      return '<p id="error" class="error" role="alert">That code has already been used.</p>';
    case 'NoCodeError':
    case 'NotFoundError':
      return '<p id="error" class="error" role="alert">The code you entered is incorrect. Try again.</p>';
    default: {
      const detail =
        typeof out?.error_description === 'string' ? ` (${escapeHtml(out.error_description)})` : '';
      return `<p id="error" class="error" role="alert">There was an error processing your request${detail}.</p>`;
    }
  }
}

/** `userCodeInputSource`: the page at the verification URI where the user types the code. */
export async function userCodeInputSource(
  ctx: ProviderContext,
  form: string,
  out?: Record<string, unknown>,
  err?: DeviceFlowError,
): Promise<void> {
  const parsed = parseProviderForm(form);
  const typed = err?.userCode ? escapeHtml(err.userCode) : '';
  respond(
    ctx,
    'Connect a device',
    `<h1>Connect a device</h1>
${errorLine(err, out)}
<form method="post" action="${parsed.action}">
${hiddenInputs(parsed)}
<label for="user_code">Code</label>
<input id="user_code" name="user_code" type="text" value="${typed}" autocomplete="off" autocapitalize="characters" required autofocus>
<button id="confirm" type="submit">Continue</button>
</form>`,
  );
}

/** `userCodeConfirmSource`: asks the user to check that the code matches the device. */
export async function userCodeConfirmSource(
  ctx: ProviderContext,
  form: string,
  client: ProviderClient,
  _deviceInfo: unknown,
  userCode: string,
): Promise<void> {
  const parsed = parseProviderForm(form);
  const name = escapeHtml(client.clientName ?? client.clientId);
  respond(
    ctx,
    'Confirm the device',
    `<h1>Confirm the device</h1>
<p><strong>${name}</strong> is asking to sign in. Check that your device shows this code:</p>
<p><code id="user-code" class="user-code">${escapeHtml(userCode)}</code></p>
<form method="post" action="${parsed.action}">
${hiddenInputs(parsed)}
<button id="confirm" type="submit">Continue</button>
<button id="abort" name="abort" value="yes" type="submit">Cancel</button>
</form>`,
  );
}

/** `successSource`: the last page of an approved device login. */
export async function successSource(ctx: ProviderContext): Promise<void> {
  respond(
    ctx,
    'Device connected',
    `<h1>Device connected</h1>
<p id="success">You are signed in on your device. You can close this window.</p>`,
  );
}
