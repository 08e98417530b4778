/**
 * The login, consent and error pages of the authorization flow.
 *
 * Element ids and names are a contract with the browser tests and the HTTP robot:
 * login `#email` `#password` `#login` (`#cancel`), consent `#approve` `#deny`, failures
 * `#error`.
 */
import { escapeHtml, renderPage } from './html.js';

/** What the login page shows. */
export interface LoginPageInput {
  uid: string;
  clientName: string;
  /** The email typed before, kept after a failed attempt. */
  email?: string;
  /** True after a wrong email or password. */
  failed?: boolean;
}

/** The sign-in form; after a failure it says "Wrong email or password" in `#error`. */
export function loginPage(input: LoginPageInput): string {
  const action = `/interaction/${encodeURIComponent(input.uid)}`;
  const error = input.failed ? '<p id="error" class="error" role="alert">Wrong email or password.</p>\n' : '';
  return renderPage(
    'Sign in',
    `<h1>Sign in</h1>
<p>to continue to <strong>${escapeHtml(input.clientName)}</strong></p>
${error}<form method="post" action="${action}/login">
<label for="email">Email</label>
<input id="email" name="email" type="email" autocomplete="username" value="${escapeHtml(input.email ?? '')}" required autofocus>
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<button id="login" type="submit">Sign in</button>
</form>
<form method="post" action="${action}/abort">
<button id="cancel" type="submit">Cancel</button>
</form>
<p class="hint">Seeded users: alice@example.com / alice-password-1, bob@example.com / bob-password-2.</p>`,
  );
}

/** What the consent page shows. */
export interface ConsentPageInput {
  uid: string;
  clientName: string;
  userEmail: string;
  /** OpenID scopes not granted yet. */
  scopes: string[];
  /** API scopes not granted yet, by resource indicator. */
  resourceScopes: Record<string, string[]>;
}

/** Approve or deny; "Deny" ends the request with `access_denied`. */
export function consentPage(input: ConsentPageInput): string {
  const action = `/interaction/${encodeURIComponent(input.uid)}/consent`;
  const items = input.scopes.map((scope) => `<li>${escapeHtml(scope)}</li>`);
  for (const [resource, scopes] of Object.entries(input.resourceScopes)) {
    for (const scope of scopes) items.push(`<li>${escapeHtml(scope)} at ${escapeHtml(resource)}</li>`);
  }
  const list = items.length
    ? `<p>It asks for:</p>\n<ul id="scopes">\n${items.join('\n')}\n</ul>`
    : '<p>It asks to sign you in.</p>';
  return renderPage(
    'Authorize',
    `<h1>Authorize ${escapeHtml(input.clientName)}</h1>
<p>Signed in as <strong id="account">${escapeHtml(input.userEmail)}</strong>.</p>
${list}
<form method="post" action="${action}">
<button id="approve" name="decision" value="approve" type="submit">Approve</button>
<button id="deny" name="decision" value="deny" type="submit">Deny</button>
</form>`,
  );
}

/** A failure page: the message goes in `#error`. */
export function errorPage(title: string, message: string, detail?: string): string {
  const extra = detail ? `\n<p id="error-detail">${escapeHtml(detail)}</p>` : '';
  return renderPage(
    title,
    `<h1>${escapeHtml(title)}</h1>
<p id="error" class="error" role="alert">${escapeHtml(message)}</p>${extra}`,
  );
}
