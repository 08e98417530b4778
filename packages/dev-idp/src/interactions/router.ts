/**
 * The interaction routes: `/interaction/:uid` shows the login or consent page,
 * `/interaction/:uid/login`, `/consent` and `/abort` take their forms and hand the result back
 * to oidc-provider, which resumes the authorization (or device) request.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { InteractionDetails, Provider } from 'oidc-provider';
import { checkPassword, userBySub } from '../accounts.js';
import { BadRequestBody, readForm, sendHtml } from '../http.js';
import { consentPage, errorPage, loginPage } from './pages.js';

const ROUTE = /^\/interaction\/([A-Za-z0-9_-]+)(?:\/(login|consent|abort))?$/;

/** True when `pathname` belongs to the interaction routes. */
export function isInteractionPath(pathname: string): boolean {
  return pathname === '/interaction' || pathname.startsWith('/interaction/');
}

/** Serves one interaction request with the current provider. */
export async function handleInteraction(
  provider: Provider,
  req: IncomingMessage,
  res: ServerResponse,
  pathname: string,
  log: (line: string) => void,
): Promise<void> {
  const match = ROUTE.exec(pathname);
  const uid = match?.[1];
  const action = match?.[2];
  if (!uid || (action === undefined ? req.method !== 'GET' : req.method !== 'POST')) {
    sendHtml(res, 404, errorPage('Not found', 'There is no such page.'));
    return;
  }
  try {
    const details = await provider.interactionDetails(req, res);
    if (details.uid !== uid) {
      sendHtml(
        res,
        400,
        errorPage('Sign-in expired', 'This page belongs to another sign-in request. Start again.'),
      );
      return;
    }
    switch (action) {
      case undefined:
        return await show(provider, details, res);
      case 'login':
        return await login(provider, details, req, res);
      case 'consent':
        return await consent(provider, details, req, res);
      default:
        return await provider.interactionFinished(
          req,
          res,
          { error: 'access_denied', error_description: 'End-User cancelled the sign-in' },
          { mergeWithLastSubmission: false },
        );
    }
  } catch (error) {
    // oidc-provider's own class name; the module itself is loaded lazily (see provider.ts).
    if ((error as Error).name === 'SessionNotFound') {
      sendHtml(
        res,
        400,
        errorPage('Sign-in expired', 'This sign-in request has expired or is already complete. Start again.'),
      );
    } else if (error instanceof BadRequestBody) {
      sendHtml(res, 400, errorPage('Bad request', error.message));
    } else {
      log(`interaction error: ${(error as Error).message}`);
      sendHtml(res, 500, errorPage('Something went wrong', 'The sign-in could not continue. Start again.'));
    }
  }
}

async function clientName(provider: Provider, details: InteractionDetails): Promise<string> {
  const clientId = typeof details.params.client_id === 'string' ? details.params.client_id : '';
  const client = await provider.Client.find(clientId);
  return client?.clientName ?? clientId;
}

async function show(provider: Provider, details: InteractionDetails, res: ServerResponse): Promise<void> {
  const name = await clientName(provider, details);
  if (details.prompt.name === 'login') {
    const hint = details.params.login_hint;
    const email = typeof hint === 'string' ? hint : undefined;
    sendHtml(res, 200, loginPage({ uid: details.uid, clientName: name, email }));
    return;
  }
  if (details.prompt.name === 'consent') {
    const { missingOIDCScope = [], missingResourceScopes = {} } = details.prompt.details;
    const accountId = details.session?.accountId ?? '';
    sendHtml(
      res,
      200,
      consentPage({
        uid: details.uid,
        clientName: name,
        userEmail: userBySub(accountId)?.email ?? accountId,
        scopes: missingOIDCScope,
        resourceScopes: missingResourceScopes,
      }),
    );
    return;
  }
  sendHtml(
    res,
    400,
    errorPage('Unsupported step', `dev-idp has no page for the "${details.prompt.name}" step.`),
  );
}

async function login(
  provider: Provider,
  details: InteractionDetails,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  if (details.prompt.name !== 'login') {
    sendHtml(res, 400, errorPage('Sign-in expired', 'This sign-in step is already complete. Start again.'));
    return;
  }
  const form = await readForm(req);
  const email = form.get('email') ?? '';
  const user = checkPassword(email, form.get('password') ?? '');
  if (!user) {
    // 200, not 401: this is a page for a person, and browsers render it either way.
    const name = await clientName(provider, details);
    sendHtml(res, 200, loginPage({ uid: details.uid, clientName: name, email, failed: true }));
    return;
  }
  await provider.interactionFinished(
    req,
    res,
    { login: { accountId: user.sub } },
    { mergeWithLastSubmission: false },
  );
}

async function consent(
  provider: Provider,
  details: InteractionDetails,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  if (details.prompt.name !== 'consent') {
    sendHtml(res, 400, errorPage('Sign-in expired', 'This consent step is already complete. Start again.'));
    return;
  }
  const form = await readForm(req);
  if (form.get('decision') !== 'approve') {
    await provider.interactionFinished(
      req,
      res,
      { error: 'access_denied', error_description: 'End-User denied the authorization request' },
      { mergeWithLastSubmission: false },
    );
    return;
  }
  const accountId = details.session?.accountId;
  const clientId = details.params.client_id;
  if (!accountId || typeof clientId !== 'string') {
    sendHtml(res, 400, errorPage('Sign-in expired', 'This sign-in request lost its session. Start again.'));
    return;
  }
  const existing = details.grantId ? await provider.Grant.find(details.grantId) : undefined;
  const grant = existing ?? new provider.Grant({ accountId, clientId });
  const { missingOIDCScope, missingOIDCClaims, missingResourceScopes } = details.prompt.details;
  if (missingOIDCScope?.length) grant.addOIDCScope(missingOIDCScope.join(' '));
  if (missingOIDCClaims?.length) grant.addOIDCClaims(missingOIDCClaims);
  // Granting the API's scopes here is what lets a later refresh_token grant with
  // resource=<api> mint a JWT for the API from a login that asked for no resource.
  for (const [resource, scopes] of Object.entries(missingResourceScopes ?? {})) {
    grant.addResourceScope(resource, scopes.join(' '));
  }
  const grantId = await grant.save();
  await provider.interactionFinished(
    req,
    res,
    { consent: existing ? {} : { grantId } },
    { mergeWithLastSubmission: true },
  );
}
