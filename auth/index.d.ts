// Types of `require('aem-upload-rs/auth')`: authentication done in the engine.

/** Why a token function is called. */
export type TokenReason = 'initial' | 'expiring' | 'unauthorized'

/** What a token function gives: the token, or the token and when it expires (ms since the epoch, or a Date). */
export type TokenAnswer = string | { token: string; expiresAt?: number | Date }

/** How a provider reaches IMS. */
export interface ImsOptions {
  /**
   * The IMS host (`ims-na1.adobelogin.com`, reached over https), or an origin with a scheme used as given
   * (`http://127.0.0.1:4502` for the emulator). Overrides the service credentials' `imsEndpoint`.
   */
  imsEndpoint?: string
  /** Retries of an IMS request that failed with 5xx, 429 or a network error (default 3). */
  retryCount?: number
  /** Base delay in ms: retry n waits retryDelay · 2ⁿ, or what Retry-After says (default 5000). */
  retryDelay?: number
  /** Idle timeout of one IMS request in ms (default 60000). */
  timeout?: number
  /** An HTTP(S) proxy for IMS requests (uploads take theirs from `httpOptions.agent`). */
  proxy?: string | URL
  /** Extra root certificates (PEM) for IMS. */
  ca?: string | Buffer | Array<string | Buffer>
  /** `false` accepts invalid TLS certificates from IMS (default true). */
  rejectUnauthorized?: boolean
}

/** The Developer Console's service credentials: the download, or its `integration` object. */
export interface ServiceCredentialsIntegration {
  imsEndpoint: string
  /** A comma list, e.g. `ent_aem_cloud_api`. */
  metascopes: string
  technicalAccount: { clientId: string; clientSecret: string }
  email?: string
  /** The technical account id, `…@techacct.adobe.com`. */
  id: string
  /** The IMS organisation, `…@AdobeOrg`. */
  org: string
  /** PEM, PKCS#1 or PKCS#8. */
  privateKey: string
  publicKey?: string
}

export type ServiceCredentialsJSON =
  | { ok?: boolean; statusCode?: number; integration: ServiceCredentialsIntegration }
  | ServiceCredentialsIntegration

export interface OAuthServerToServerOptions extends ImsOptions {
  clientId: string
  clientSecret: string
  /** An array or a comma list, e.g. `openid,AdobeID,aem.assets.author`. */
  scopes: string[] | string
}

/**
 * Credentials for AEM requests. Give one to `options.withAuth(provider)`; one provider holds one token,
 * shared by every call that uses it. `util.inspect` and `toJSON()` show its kind and public identifiers
 * only, never a password, secret, private key or token.
 */
export declare class AuthProvider {
  private constructor()
  readonly kind: 'basic' | 'bearer' | 'serviceCredentials' | 'oauthServerToServer' | 'tokenProvider'
  /**
   * `{Authorization}` for your own requests (fetching or refreshing a token as needed). Rejects with an
   * UploadError: ENOTAUTHORIZED when IMS refuses (its `error` in the message), EINVALIDOPTIONS for bad
   * credentials material.
   */
  headers(): Promise<{ Authorization?: string }>
  toJSON(): { kind: string; username?: string; clientId?: string; technicalAccountId?: string; scopes?: string }
}

/** `Authorization: Basic base64(username:password)`: local development (AEM SDK, the emulator). */
export declare function basic(username: string, password: string): AuthProvider

/**
 * A local development token (24 h, not refreshed): the token, or the Developer Console's download
 * (`{accessToken}`) as an object, JSON text or a file path.
 */
export declare function bearer(token: string | { accessToken: string }): AuthProvider

/**
 * Service credentials: a file path, JSON text or the parsed object. A JWT signed with the private key is
 * exchanged at IMS for a token, refreshed at 90 % of its lifetime. Bad material fails at the first use
 * with EINVALIDOPTIONS naming the field.
 */
export declare function serviceCredentials(source: string | ServiceCredentialsJSON, opts?: ImsOptions): AuthProvider

/** OAuth server-to-server (`client_credentials` at `<imsEndpoint>/ims/token/v3`, default `ims-na1.adobelogin.com`). */
export declare function oauthServerToServer(opts: OAuthServerToServerOptions): AuthProvider

/** Tokens from your function; it is called again at 90 % of `expiresAt`, and once after a 401. */
export declare function tokenProvider(fn: (context: { reason: TokenReason }) => TokenAnswer | Promise<TokenAnswer>): AuthProvider

/**
 * The first provider the environment configures, or null: `AEM_SERVICE_CREDENTIALS_FILE`;
 * `AEM_IMS_CLIENT_ID` + `AEM_IMS_CLIENT_SECRET` (+ `AEM_IMS_SCOPES`, `AEM_IMS_ENDPOINT`);
 * `AEM_BEARER_TOKEN`; `AEM_USERNAME` + `AEM_PASSWORD`. `ims` goes to the IMS providers (a proxy, a CA, retries).
 */
export declare function fromEnv(env?: Record<string, string | undefined>, ims?: ImsOptions): AuthProvider | null
