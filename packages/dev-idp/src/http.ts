/**
 * Small helpers for the routes dev-idp serves itself (interaction pages, API): bounded body
 * reading and uniform responses.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

/** Largest form body the pages accept; a login form is a few hundred bytes. */
const FORM_LIMIT_BYTES = 16 * 1024;

/** The body was too large or not a form. */
export class BadRequestBody extends Error {
  override name = 'BadRequestBody';
}

/** Reads an `application/x-www-form-urlencoded` body. */
export async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
  if (type !== 'application/x-www-form-urlencoded') {
    throw new BadRequestBody('expected an application/x-www-form-urlencoded body');
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > FORM_LIMIT_BYTES) throw new BadRequestBody('request body too large');
    chunks.push(buffer);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

/** Sends an HTML page that no cache keeps. */
export function sendHtml(res: ServerResponse, status: number, html: string): void {
  res.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    'cache-control': 'no-store',
    'content-length': Buffer.byteLength(html),
  });
  res.end(html);
}

/** Sends a JSON body. */
export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

/** Largest JSON body the control plane accepts; its requests are a few hundred bytes. */
const JSON_LIMIT_BYTES = 16 * 1024;

/** Reads an `application/json` body that must be one JSON object. */
export async function readJsonObject(req: IncomingMessage): Promise<Record<string, unknown>> {
  const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
  if (type !== 'application/json') throw new BadRequestBody('expected an application/json body');
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > JSON_LIMIT_BYTES) throw new BadRequestBody('request body too large');
    chunks.push(buffer);
  }
  let value: unknown;
  try {
    value = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new BadRequestBody('the body is not valid JSON');
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new BadRequestBody('the body must be a JSON object');
  }
  return value as Record<string, unknown>;
}

/**
 * Answers a body that could not be read: 413 when too large, else 400, as OAuth JSON. The
 * connection is closed after the answer, so an unread rest of a huge body is never read.
 */
export function sendBadBody(res: ServerResponse, error: BadRequestBody): void {
  const tooLarge = error.message === 'request body too large';
  sendJson(
    res,
    tooLarge ? 413 : 400,
    { error: 'invalid_request', error_description: error.message },
    { connection: 'close' },
  );
}
