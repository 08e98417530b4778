/**
 * `keyfob fetch URL`: an authenticated HTTP request. The credential goes only to the
 * provider's own origins unless `--allow-origin` names another; the body is printed as it
 * comes, the status goes to stderr when it is not a success.
 */
import { readFile } from 'node:fs/promises';
import { InvalidInput } from '@keyfob/core';
import { type Command, jsonFlag, profileFlags, tenantFlag } from '../command.js';
import { forTerminal, readStdin, sanitize, toJson } from '../io.js';
import { openKeyfob, optionalString } from './shared.js';

const MAX_BODY_BYTES = 16 * 1024 * 1024;

export const fetch: Command = {
  name: 'fetch',
  summary: 'make an authenticated HTTP request',
  usage: 'URL [-X METHOD] [-H "Name: value"]... [-d DATA | -d @FILE | -d @-] [flags]',
  examples: [
    { what: "GET an API with the active profile's token", run: 'keyfob fetch https://api.example.com/v1/me' },
    {
      what: 'POST JSON with a machine profile',
      run: 'keyfob fetch -X POST -H \'Content-Type: application/json\' -d \'{"name":"x"}\' --profile ci https://api.example.com/v1/items',
    },
    {
      what: "call the tenant's regional server: a relative URL is appended to its server_url",
      run: 'keyfob fetch /v1/hello --tenant acme-eu',
    },
    {
      what: 'send a file as the body',
      run: 'keyfob fetch -X PUT -d @item.json https://api.example.com/v1/items/1',
    },
  ],
  description:
    'Exit 0 on a 2xx answer, 2 when the credential is refused (401 after one refresh), 1 otherwise (403 names the missing scope).',
  maxPositionals: 1,
  flags: {
    ...profileFlags,
    ...tenantFlag,
    ...jsonFlag,
    request: {
      type: 'string',
      short: 'X',
      value: 'METHOD',
      description: 'HTTP method (default GET, or POST with -d)',
    },
    header: {
      type: 'string',
      short: 'H',
      multiple: true,
      value: 'HEADER',
      description: 'a request header, "Name: value"',
    },
    data: {
      type: 'string',
      short: 'd',
      value: 'DATA',
      description: 'request body; @FILE reads a file, @- reads stdin',
    },
    'allow-origin': {
      type: 'string',
      multiple: true,
      value: 'ORIGIN',
      description: "also send the credential to this origin (outside the provider's own)",
    },
  },
  async run({ io, app, values, positionals }) {
    const url = positionals[0];
    if (!url) throw new InvalidInput(`a URL is required; run \`${app.commandPrefix} fetch --help\``);
    const headers = parseHeaders(values.header);
    const body = await readBody(optionalString(values.data), io);
    if (values.json) {
      headers.set('accept', 'application/json');
      if (body !== undefined && !headers.has('content-type')) headers.set('content-type', 'application/json');
    }
    const method = optionalString(values.request)?.toUpperCase() ?? (body === undefined ? 'GET' : 'POST');
    if (!/^[A-Z]{1,16}$/.test(method)) throw new InvalidInput('-X takes an HTTP method such as GET or POST');
    const kf = await openKeyfob(io, app, values);
    const allowOrigins = Array.isArray(values['allow-origin']) ? values['allow-origin'].map(String) : [];
    const response = await kf.fetch(url, {
      method,
      headers,
      ...(body !== undefined ? { body } : {}),
      ...(typeof values.profile === 'string' ? { profile: values.profile } : {}),
      ...(typeof values.tenant === 'string' ? { tenant: values.tenant } : {}),
      allowOrigins,
    });
    const text = await response.text();
    const shown = values.json ? prettyJson(text) : text;
    // Piped, the body is passed on byte for byte; at a terminal it ends with a newline (a body
    // without one was erased by the line-clear of npm's spinner under `npx`) and carries no
    // control characters of the server's.
    io.stdout.write(io.stdout.isTTY ? forTerminal(shown) : shown);
    if (!response.ok) {
      io.stderr.write(
        `${app.name}: HTTP ${response.status} ${sanitize(response.statusText)} from ${answeredBy(response, url)}${notFollowed(response, response.url || url)}\n`,
      );
      return 1;
    }
    return 0;
  },
};

/** The origin that answered (a relative URL went to the tenant's server). */
function answeredBy(response: Response, url: string): string {
  const parsed = URL.parse(response.url) ?? URL.parse(url);
  return parsed ? parsed.origin : 'the server';
}

function parseHeaders(values: unknown): Headers {
  const headers = new Headers();
  for (const raw of Array.isArray(values) ? values : []) {
    const text = String(raw);
    const colon = text.indexOf(':');
    const name = colon > 0 ? text.slice(0, colon).trim() : '';
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) {
      throw new InvalidInput('-H takes "Name: value" with a valid header name');
    }
    // The credential is keyfob's to set: a header given here would bypass the origin check.
    if (name.toLowerCase() === 'authorization') {
      throw new InvalidInput('-H Authorization is not allowed: keyfob adds the credential itself');
    }
    headers.append(name, text.slice(colon + 1).trim());
  }
  return headers;
}

async function readBody(
  data: string | undefined,
  io: Parameters<typeof readStdin>[0],
): Promise<string | undefined> {
  if (data === undefined) return undefined;
  if (data === '@-') return readStdin(io, MAX_BODY_BYTES);
  if (data.startsWith('@')) {
    try {
      return await readFile(data.slice(1), 'utf8');
    } catch {
      throw new InvalidInput(`-d ${data}: the file cannot be read`);
    }
  }
  return data;
}

function prettyJson(text: string): string {
  try {
    return toJson(JSON.parse(text), 2);
  } catch {
    return text;
  }
}

/**
 * Why a redirect came back instead of being followed: kf.fetch follows every redirect except
 * one that leaves the credential's origin and would resend the request body. Only the target's
 * origin is printed: the rest of a server-sent URL may carry anything.
 */
function notFollowed(response: Response, url: string): string {
  const location = response.status >= 300 && response.status < 400 ? response.headers.get('location') : null;
  if (location === null) return '';
  const target = URL.parse(location, url);
  if (!target) return '';
  return `; the redirect to ${target.origin} was not followed: it leaves the origin the credential was sent to and would resend the request body`;
}
