/**
 * aem-upload-rs/assets: a client for the AEM Assets Author API.
 *
 * Every request carries `Authorization` (from `auth`), `X-Api-Key` (`apiKey`)
 * and `X-Adobe-Accept-Experimental: 1`; 5xx, 429 (honouring `Retry-After`),
 * connection resets and idle timeouts are retried; a 401 makes the provider
 * refresh once and the request is resent once. Asset ids are checked before
 * any request. Failures are {@link AssetsError}s.
 */

/** Anything that can authorise a request: the providers of `aem-upload-rs/auth`, or your own. */
export interface AuthProvider {
  /**
   * The headers for the next request. Called before each request, and again
   * with `{reason: 'unauthorized'}` after a 401 (a different answer is
   * resent once).
   */
  headers(context?: { reason: 'request' | 'unauthorized' }): Promise<{ Authorization?: string }> | { Authorization?: string };
  /** Used as the default `apiKey` when present. */
  clientId?: string;
}

export interface Logger {
  debug?(message: string): void;
  info?(message: string): void;
  warn?(message: string): void;
  error?(message: string): void;
}

export interface AssetsClientOptions {
  /** The author origin, e.g. `https://author-p12345-e67890.adobeaemcloud.com`. */
  url: string;
  /** What authorises requests; none sends no `Authorization`. */
  auth?: AuthProvider;
  /** The Developer Console client id, sent as `X-Api-Key` (default: the provider's `clientId`). */
  apiKey?: string;
  /** Retries of a request after a 5xx, a 429, a reset or an idle timeout. Default 3. */
  retryCount?: number;
  /** Milliseconds before the first retry, doubled for each next one, unless the server sent `Retry-After`. Default 1000. */
  retryDelay?: number;
  /** Milliseconds without a byte moving before an attempt fails (and is retried). Default 60000; 0: none. */
  timeout?: number;
  /** Cancels every call of this client (they reject with `EUSERCANCELLED`). */
  signal?: AbortSignal;
  /** Receives one debug line per request, warnings for retries. Never a header value. */
  log?: Logger;
}

/** Options every call takes. */
export interface CallOptions {
  /** Cancels this call (it rejects with `EUSERCANCELLED`). */
  signal?: AbortSignal;
}

/** An asset's metadata document. */
export interface AssetMetadataDocument {
  assetId: string;
  /** Property name → plain JSON value (`dc:title`, `dc:subject`, your own namespaces). */
  assetMetadata: Record<string, unknown>;
  /** Computed by AEM, read-only: `repo:path`, `repo:name`, `repo:size`, `dc:format`, … */
  repositoryMetadata: Record<string, unknown>;
  /** The tag to send back as `ifMatch` / `ifNoneMatch` (the `ETag` header, else `repo:etag`). */
  etag: string | null;
}

/** `getMetadata` with an `ifNoneMatch` that is still current (304). */
export interface NotModified {
  notModified: true;
  etag: string | null;
}

/** One JSON Patch operation. `path` may be `/assetMetadata/<name>` or the short `/<name>`. */
export interface PatchOperation {
  /** `add`, `remove`, `replace`, `move`, `copy`, `test`, or AEM's `set`, `removeIfExists`, `addUnique`, `removeFirst`, `removeAll`. */
  op: string;
  path: string;
  value?: unknown;
  from?: string;
}

export interface JobStatus {
  jobId: string;
  /** As AEM names it: `PROCESSING`, `COMPLETED`, `FAILED`, … */
  state: string;
  /** Finished, successfully or not. */
  done: boolean;
  /** Finished in failure. */
  failed: boolean;
  /** When finished (303): where the result is (not fetched). */
  location?: string;
  /** Why it failed, when the server said. */
  error?: string;
}

export type DeleteResult =
  | { status: 'deleted'; jobId?: string; location?: string }
  | { status: 'accepted'; jobId: string; location: string };

/** RFC 7807 problem details as the server sent them; every field optional. */
export interface Problem {
  type?: string;
  title?: string;
  status?: number;
  detail?: string;
  instance?: string;
  [extension: string]: unknown;
}

export type AssetsErrorCode =
  | 'EINVALIDOPTIONS'
  | 'ENOTAUTHORIZED'
  | 'EFORBIDDEN'
  | 'ENOTFOUND'
  | 'ENOTSUPPORTED'
  | 'EALREADYEXISTS'
  | 'EPRECONDITIONFAILED'
  | 'EPRECONDITIONREQUIRED'
  | 'ETOOMANYREQUESTS'
  | 'EJOBFAILED'
  | 'ETIMEDOUT'
  | 'EUSERCANCELLED'
  | 'EUNKNOWN'
  | 'ECONNRESET'
  | 'ECONNREFUSED'
  | string;

/**
 * A failed call. `code` by HTTP status: 400 EINVALIDOPTIONS (also for input
 * refused before any request), 401 ENOTAUTHORIZED, 403 EFORBIDDEN,
 * 404 ENOTFOUND, 406 ENOTSUPPORTED, 409 EALREADYEXISTS, 412 EPRECONDITIONFAILED,
 * 428 EPRECONDITIONREQUIRED, 429 ETOOMANYREQUESTS, others EUNKNOWN; a failed
 * job EJOBFAILED; a wait or idle timeout ETIMEDOUT; a cancelled call
 * EUSERCANCELLED; a network failure its OS code (ECONNRESET, …).
 */
export declare class AssetsError extends Error {
  name: 'AssetsError';
  code: AssetsErrorCode;
  /** The HTTP status of the answer that failed the call, when one came. */
  status: number | undefined;
  /** The server's problem details, when it sent a JSON body. */
  problem: Problem | undefined;
  /** On 412: the asset's current tag, when the server sent one. */
  currentEtag?: string;
  /** On EJOBFAILED (and a wait's ETIMEDOUT): the job's last status. */
  job?: JobStatus;
  toJSON(): object;
}

export declare class AssetsClient {
  constructor(options: AssetsClientOptions);
  readonly url: string;

  /** GET the metadata; with `ifNoneMatch`, `{notModified: true, etag}` if it is still current. */
  getMetadata(assetId: string, options?: CallOptions & { ifNoneMatch?: string }): Promise<AssetMetadataDocument | NotModified>;

  /** HEAD: the metadata's current tag. */
  headMetadata(assetId: string, options?: CallOptions): Promise<{ etag: string | null }>;

  /**
   * PATCH with your JSON Patch ops, atomically, under `If-Match: ifMatch` (an etag, or `'*'` to
   * write unconditionally; without it AEM answers 428 EPRECONDITIONREQUIRED). A stale tag
   * rejects with EPRECONDITIONFAILED (and `currentEtag`). `repositoryMetadata` paths are
   * refused before the request (EINVALIDOPTIONS): AEM computes them.
   */
  patchMetadata(assetId: string, ops: PatchOperation[], options: CallOptions & { ifMatch: string }): Promise<AssetMetadataDocument>;

  /**
   * Sets `values` (`{name: value}`; `null` removes the property) by read-modify-write:
   * reads the tag, patches the differences under `If-Match`, and on 412 (another writer came
   * between) reads again and retries, at most `retries` times (default 3). Nothing already in
   * place is written.
   */
  updateMetadata(assetId: string, values: Record<string, unknown>, options?: CallOptions & { retries?: number }): Promise<AssetMetadataDocument>;

  /**
   * DELETE (`force`: even if referenced). With `wait`, a delete AEM finishes in a job is followed
   * to its end (`timeout` ms at most); a failed job rejects with EJOBFAILED.
   */
  deleteAsset(assetId: string, options?: CallOptions & { force?: boolean; wait?: boolean; timeout?: number }): Promise<DeleteResult>;

  /** One poll of a job, by id or by the location a delete gave; a finished job's 303 is read, not followed. */
  getJobStatus(job: string, options?: CallOptions): Promise<JobStatus>;

  /**
   * Polls a job until it finishes, honouring `Retry-After` (default 1 s, at most 30 s apart).
   * Resolves to the final status; a failed job rejects with EJOBFAILED, `timeout` ms with ETIMEDOUT.
   */
  waitForJob(job: string, options?: CallOptions & { timeout?: number }): Promise<JobStatus>;

  /** The id (`urn:aaid:aem:<uuid>`) of the asset at a DAM path, from `GET <path>.json` (`jcr:uuid`). */
  assetIdForPath(damPath: string, options?: CallOptions): Promise<string>;

  toJSON(): { url: string };
}
