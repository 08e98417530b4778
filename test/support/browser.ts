/**
 * A real headless Chromium (Debian's `chromium` through playwright-core) that logs in like a
 * person: keyfob opens URLs through `$BROWSER`, which the bridge hands to this browser.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BrowserContext, chromium, type Page } from 'playwright-core';

export const CHROMIUM_PATH = '/usr/bin/chromium';

const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export interface TestBrowser {
  context: BrowserContext;
  /** Environment that makes keyfob open URLs in this browser (`BROWSER` + the bridge). */
  env: Record<string, string>;
  /** Resolves with the next URL keyfob asked the browser to open. */
  nextUrl(): Promise<string>;
  /** Opens a page at `url` with fresh cookies. */
  open(url: string): Promise<Page>;
  close(): Promise<void>;
}

/** Launches Chromium; fails loudly when it is not installed (the suite needs it). */
export async function launchBrowser(): Promise<TestBrowser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `${CHROMIUM_PATH} is missing: install Debian's chromium (apt-get install -y chromium); .ci/run does`,
    );
  }
  const profileDir = mkdtempSync(join(tmpdir(), 'keyfob-chromium-'));
  const context = await chromium.launchPersistentContext(profileDir, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: CHROMIUM_ARGS,
  });
  const waiting: Array<(url: string) => void> = [];
  const queued: string[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => {
      body += chunk;
    });
    req.on('end', () => {
      const resolve = waiting.shift();
      if (resolve) resolve(body);
      else queued.push(body);
      res.end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const bridge = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  const opener = fileURLToPath(new URL('./open-url.mjs', import.meta.url));
  return {
    context,
    env: { BROWSER: `${process.execPath} ${opener}`, KEYFOB_TEST_BROWSER_BRIDGE: bridge },
    nextUrl() {
      const url = queued.shift();
      if (url) return Promise.resolve(url);
      return new Promise((resolve) => waiting.push(resolve));
    },
    async open(url) {
      await context.clearCookies();
      const page = await context.newPage();
      await page.goto(url, { waitUntil: 'domcontentloaded' });
      return page;
    },
    async close() {
      server.close();
      await context.close();
      rmSync(profileDir, { recursive: true, force: true });
    },
  };
}

/** Logs in on dev-idp's login page and answers its consent page. */
export async function signIn(
  page: Page,
  user: { email: string; password: string },
  consent: 'approve' | 'deny' = 'approve',
): Promise<void> {
  await page.fill('#email', user.email);
  await page.fill('#password', user.password);
  await Promise.all([page.waitForLoadState('domcontentloaded'), page.click('#login')]);
  await page.waitForSelector(`#${consent}, #result`, { timeout: 15_000 });
  if (await page.$(`#${consent}`)) {
    await Promise.all([page.waitForLoadState('domcontentloaded'), page.click(`#${consent}`)]);
  }
}

/** Waits for keyfob's loopback page and returns whether it reported success. */
export async function loopbackResult(page: Page): Promise<{ ok: boolean; text: string }> {
  const heading = await page.waitForSelector('#result', { timeout: 15_000 });
  return {
    ok: (await heading.getAttribute('data-ok')) === 'true',
    text: (await page.textContent('body')) ?? '',
  };
}
