/**
 * The HTTP "person": completes a device or browser login on dev-idp's pages without a browser,
 * so that `npm start` and tests can run a login end to end. It reads pages by their stable
 * element ids and throws, naming the page, when one is not what it expects.
 */
import {
  type FormControl,
  hasId,
  parseForms,
  RobotBrowser,
  type RobotForm,
  type RobotPage,
  textOfId,
  titleOf,
} from './robot-browser.js';

/** Upper bound on pages in one login; a real one takes five or six. */
const MAX_STEPS = 15;

/** What the robot should do on the consent page. */
export type ConsentChoice = 'approve' | 'deny';

/** Options of `approveDeviceLogin`. */
export interface DeviceLoginOptions {
  verificationUri: string;
  verificationUriComplete?: string;
  userCode: string;
  email: string;
  password: string;
  /** Default `approve`; `deny` presses "Cancel" on the consent page and expects the cancelled page. */
  consent?: ConsentChoice;
}

/** Options of `completeBrowserLogin`. */
export interface BrowserLoginOptions {
  authorizationUrl: string;
  email: string;
  password: string;
  consent?: ConsentChoice;
}

function describe(page: RobotPage): string {
  const title = titleOf(page.html);
  const path = new URL(page.url).pathname;
  return `HTTP ${page.status} at ${path}${title ? ` ("${title}")` : ''}`;
}

function formWith(page: RobotPage, id: string): { form: RobotForm; control: FormControl } {
  for (const form of parseForms(page.html, page.url)) {
    const control = form.controls.find((candidate) => candidate.id === id);
    if (control) return { form, control };
  }
  throw new Error(`dev-idp robot: no form with #${id} on the page (${describe(page)})`);
}

function failIfError(page: RobotPage): void {
  const message = textOfId(page.html, 'error');
  if (message !== undefined) throw new Error(`dev-idp robot: ${message} (${describe(page)})`);
}

/** Fills and submits the login page; a wrong password comes back as a page with `#error`. */
async function logIn(browser: RobotBrowser, page: RobotPage, email: string, password: string) {
  const { form, control } = formWith(page, 'login');
  return browser.submit(form, { email, password }, control);
}

async function decide(browser: RobotBrowser, page: RobotPage, choice: ConsentChoice) {
  const { form, control } = formWith(page, choice);
  return browser.submit(form, {}, control);
}

/** oidc-provider's script-submitted form (e.g. after `verification_uri_complete`). */
function isAutoSubmit(page: RobotPage): RobotForm | undefined {
  const forms = parseForms(page.html, page.url);
  const [form] = forms;
  if (forms.length !== 1 || !form) return undefined;
  const onlyHidden = form.controls.every((control) => control.type === 'hidden' || control.tag === 'button');
  return onlyHidden && /document\.forms\[0\]\.submit\(\)/.test(page.html) ? form : undefined;
}

/**
 * Approves a device login like a person would: opens `verificationUriComplete` (or
 * `verificationUri` and types the code), confirms the code, logs in, answers the consent page.
 * Resolves when dev-idp shows its success page (or, with `consent: 'deny'`, its cancelled page).
 */
export async function approveDeviceLogin(options: DeviceLoginOptions): Promise<void> {
  const choice = options.consent ?? 'approve';
  const start = options.verificationUriComplete ?? options.verificationUri;
  const browser = new RobotBrowser(new URL(start).origin);
  let page = await browser.follow(await browser.request(start));
  for (let step = 0; step < MAX_STEPS; step += 1) {
    if (page.location && !browser.isHome(page.location)) {
      throw new Error(`dev-idp robot: the device flow redirected away to ${new URL(page.location).origin}`);
    }
    if (hasId(page.html, 'aborted')) {
      if (choice === 'deny') return;
      throw new Error(`dev-idp robot: the device login was cancelled (${describe(page)})`);
    }
    failIfError(page);
    if (hasId(page.html, 'success')) {
      if (choice === 'deny')
        throw new Error('dev-idp robot: the device login succeeded although consent was denied');
      return;
    }
    if (hasId(page.html, 'login')) {
      page = await logIn(browser, page, options.email, options.password);
    } else if (hasId(page.html, 'approve')) {
      page = await decide(browser, page, choice);
    } else if (hasId(page.html, 'user_code')) {
      const { form, control } = formWith(page, 'confirm');
      page = await browser.submit(form, { user_code: options.userCode }, control);
    } else if (hasId(page.html, 'confirm')) {
      const { form, control } = formWith(page, 'confirm');
      page = await browser.submit(form, {}, control);
    } else {
      const autoSubmit = isAutoSubmit(page);
      if (!autoSubmit)
        throw new Error(`dev-idp robot: unexpected page in the device flow (${describe(page)})`);
      page = await browser.submit(autoSubmit);
    }
  }
  throw new Error(`dev-idp robot: the device login did not finish within ${MAX_STEPS} pages`);
}

/**
 * Completes a browser (authorization code) login: opens `authorizationUrl`, logs in, answers the
 * consent page, then delivers the final redirect to the client's loopback `redirect_uri` with a
 * plain GET, as the browser would, so that a waiting CLI receives its callback (with `code`, or
 * with `error=access_denied` after a denial).
 */
export async function completeBrowserLogin(options: BrowserLoginOptions): Promise<void> {
  const choice = options.consent ?? 'approve';
  const browser = new RobotBrowser(new URL(options.authorizationUrl).origin);
  let page = await browser.follow(await browser.request(options.authorizationUrl));
  for (let step = 0; step < MAX_STEPS; step += 1) {
    if (page.location && !browser.isHome(page.location)) {
      await deliverCallback(page.location);
      return;
    }
    failIfError(page);
    if (hasId(page.html, 'login')) {
      page = await logIn(browser, page, options.email, options.password);
    } else if (hasId(page.html, 'approve')) {
      page = await decide(browser, page, choice);
    } else {
      throw new Error(`dev-idp robot: unexpected page in the browser login (${describe(page)})`);
    }
  }
  throw new Error(`dev-idp robot: the browser login did not finish within ${MAX_STEPS} pages`);
}

/** GETs the loopback callback without the provider's cookies; never prints its query (the code). */
async function deliverCallback(location: string): Promise<void> {
  const url = new URL(location);
  let response: Response;
  try {
    response = await fetch(url, { redirect: 'manual' });
  } catch (error) {
    throw new Error(
      `dev-idp robot: could not deliver the callback to ${url.origin}${url.pathname}: ${(error as Error).message}`,
    );
  }
  await response.arrayBuffer();
}
