/**
 * The part of oidc-provider 9 that dev-idp uses, typed by hand.
 *
 * oidc-provider ships no types and `@types/oidc-provider` would pull `@types/koa` into the
 * workspace; these few declarations are checked against the installed source
 * (node_modules/oidc-provider/lib) instead. Add to them only what the code really calls.
 */
declare module 'oidc-provider' {
  import type { IncomingMessage, ServerResponse } from 'node:http';

  /** A registered client as the provider sees it (camelCased metadata). */
  export interface ProviderClient {
    readonly clientId: string;
    readonly clientName?: string;
    readonly clientAuthMethod: string;
    readonly applicationType: string;
    grantTypeAllowed(grantType: string): boolean;
  }

  /** Any stored artifact (token, code, grant, session, interaction). */
  export interface ProviderArtifact {
    readonly jti: string;
    readonly kind: string;
    readonly clientId?: string;
    readonly scopes: Set<string>;
  }

  /** The request parameters oidc-provider assembled for the current endpoint. */
  export type ProviderParams = Record<string, unknown>;

  export interface OIDCContext {
    readonly route?: string;
    readonly params?: ProviderParams;
    readonly body?: Record<string, unknown>;
    readonly client?: ProviderClient;
    readonly session?: { state?: { secret?: string } };
    urlFor(name: string, options?: Record<string, string>): string;
    /** Records a model the request used (for events and later hooks). */
    entity(name: string, value: unknown): void;
  }

  /** The Koa context, narrowed to what dev-idp touches. */
  export interface ProviderContext {
    readonly method: string;
    readonly path: string;
    readonly query: Record<string, string | string[] | undefined>;
    readonly oidc: OIDCContext;
    status: number;
    type: string;
    body: unknown;
    /** Koa's request headers (lower-case names). */
    readonly headers: Record<string, string | string[] | undefined>;
    /** Koa: sets a response header. */
    set(field: string, value: string): void;
  }

  export type ProviderMiddleware = (ctx: ProviderContext, next: () => Promise<void>) => Promise<void>;

  export interface InteractionPrompt {
    readonly name: string;
    readonly reasons: string[];
    readonly details: {
      missingOIDCScope?: string[];
      missingOIDCClaims?: string[];
      missingResourceScopes?: Record<string, string[]>;
    };
  }

  export interface InteractionDetails {
    readonly uid: string;
    readonly prompt: InteractionPrompt;
    readonly params: ProviderParams;
    readonly session?: { readonly accountId?: string; readonly uid?: string };
    readonly grantId?: string;
  }

  export type InteractionResults =
    | { login: { accountId: string; remember?: boolean } }
    | { consent: { grantId?: string } }
    | { error: string; error_description?: string };

  export interface GrantInstance {
    addOIDCScope(scope: string): void;
    addOIDCClaims(claims: string[]): void;
    addResourceScope(resource: string, scope: string): void;
    save(): Promise<string>;
  }

  export interface GrantClass {
    new (properties: { accountId: string; clientId: string }): GrantInstance;
    find(id: string): Promise<GrantInstance | undefined>;
  }

  /** A token model instance: saving it returns the token's value. */
  export interface TokenInstance {
    /** Seconds until it expires (an access token's `expires_in`). */
    readonly expiration: number;
    save(): Promise<string>;
  }

  export interface TokenClass {
    new (properties: Record<string, unknown>): TokenInstance;
  }

  export interface IdTokenInstance {
    scope: string;
    issue(options: { use: 'idtoken' }): Promise<string>;
  }

  /** A grant type handler (`registerGrantType`): it sets `ctx.body` to the token response. */
  export type GrantTypeHandler = (ctx: ProviderContext) => Promise<void>;

  export class Provider {
    constructor(issuer: string, configuration: object);
    readonly issuer: string;
    readonly Grant: GrantClass;
    readonly AccessToken: TokenClass;
    readonly RefreshToken: TokenClass;
    readonly IdToken: new (
      claims: Record<string, unknown>,
      options: { ctx: ProviderContext },
    ) => IdTokenInstance;
    registerGrantType(name: string, handler: GrantTypeHandler, parameters?: string[]): void;
    readonly Client: { find(id: string): Promise<ProviderClient | undefined> };
    /** The Koa context of the request being served (oidc-provider's own AsyncLocalStorage). */
    static readonly ctx: ProviderContext | undefined;
    use(middleware: ProviderMiddleware): this;
    callback(): (req: IncomingMessage, res: ServerResponse) => Promise<void>;
    on(event: string, listener: (...args: unknown[]) => void): this;
    interactionDetails(req: IncomingMessage, res: ServerResponse): Promise<InteractionDetails>;
    interactionFinished(
      req: IncomingMessage,
      res: ServerResponse,
      result: InteractionResults,
      options?: { mergeWithLastSubmission?: boolean },
    ): Promise<void>;
  }

  export interface PolicyCheck {
    readonly reason: string;
  }

  export interface PolicyPrompt {
    readonly name: string;
  }

  export interface Policy extends Array<PolicyPrompt> {
    add(prompt: PolicyPrompt, index?: number): void;
  }

  export const interactionPolicy: {
    base(): Policy;
    Prompt: new (options: { name: string; requestable: boolean }, ...checks: PolicyCheck[]) => PolicyPrompt;
    Check: (new (
      reason: string,
      description: string,
      check: (ctx: ProviderContext) => boolean | Promise<boolean>,
    ) => PolicyCheck) & { readonly REQUEST_PROMPT: true; readonly NO_NEED_TO_PROMPT: false };
  };

  export const errors: {
    InvalidTarget: new (description?: string) => Error;
    InvalidClient: new (description?: string) => Error;
    InvalidRequest: new (description?: string) => Error;
    InvalidGrant: new (description?: string) => Error;
    InvalidScope: new (description?: string, scope?: string) => Error;
    /** An error with the given `error` code and `error_description`, status 400. */
    CustomOIDCProviderError: new (
      error: string,
      description: string,
    ) => Error;
  };
}
