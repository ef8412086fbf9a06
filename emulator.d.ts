/** Storage modes: whole binaries in memory, files under a folder, digest only, or size only. */
export type StorageMode = 'memory' | 'digest' | 'size' | `dir:${string}` | { dir: string }

/** Seeded fault rates of one route (probabilities in [0, 1]). */
export interface RouteFaults {
  status503?: number
  status429?: number
  /** Retry-After seconds sent with an injected 429 (default 1). */
  retryAfterSeconds?: number
  /** Close the connection as soon as the request arrives. */
  resetBefore?: number
  /** Close it halfway through the request body (or the response body when the request has none). */
  resetMid?: number
  /** Throttle bodies to slowBytesPerSecond (default 1024). */
  slow?: number
  slowBytesPerSecond?: number
  /** Initiate only: issue a file's part URLs already expired. */
  expiredUrls?: number
  latencyMs?: number
  jitterMs?: number
  /** Inject only on attempts 1..maxAttempt of a request, latency included (0: any attempt). */
  maxAttempt?: number
}

export type FaultRoute = 'initiate' | 'part' | 'complete' | 'folder' | 'createasset' | 'ims' | 'author' | '*'

/** The Assets Author API (`/adobe/assets/…`). */
export interface AuthorConfig {
  /** Client ids accepted as `X-Api-Key` (AEM's allow-list); any other key gets 403. Default: none. */
  apiKeys?: string[]
  /** Refuse (400) a delete or job status without `X-Adobe-Accept-Experimental: 1`. Default false. */
  requireExperimental?: boolean
  /** Referenced assets (DAM paths or asset ids): a delete without `force` answers 202 and a job. */
  referenced?: string[]
  /** How long such a job runs, in ms. Default 1000. */
  jobMs?: number
}

/**
 * Asset processing and the asset events the emulator delivers to a webhook as Adobe I/O Events does
 * (docs/assets.md, "The emulator"): CloudEvents bodies with both digital signatures, whose public keys the
 * emulator serves at `/prod/keys/pub-key-<id>.pem` (so a receiver's `keyBaseUrl` is the emulator's `url`).
 */
export interface EventsConfig {
  /** Where events are POSTed (`http://` or `https://`); null (default): no deliveries. Setting it runs the `?challenge=` handshake. */
  webhookUrl?: string | null
  /** The registration's client id, sent as `recipient_client_id` / `recipientclientid`. Default `aem-emulator-events`. */
  clientId?: string
  /** An uploaded asset is `aem:assetState: "processing"` this long, then `processed` and `processing_completed` is emitted. Default 200; 0: at once. */
  processingDelayMs?: number
  /** First retry delay of a failed delivery, doubling after each retry. Default 100. */
  retryBackoffMs?: number
  /** Attempts per event, the first included. Default 5. */
  maxAttempts?: number
  /** Probability (0..1) that a delivery is sent twice (same event id). Default 0. */
  duplicateRate?: number
  /** Probability (0..1) that an event is held back behind the next one(s). Default 0. */
  reorderRate?: number
  /** Seed of the duplicate and reorder draws. Default 0. */
  seed?: number
  /** Sign `x-adobe-digital-signature-1` with a key its path does not serve (a key rotation): receivers must use signature 2. Default false. */
  invalidSignature1?: boolean
  /** One delivery attempt's limit, connecting included. Default 10000 (I/O Events' 10 s). */
  deliveryTimeoutMs?: number
  /** Events waiting for delivery beyond this are dropped and counted. Default 100000. */
  queueLimit?: number
}

export interface EmulatorConfig {
  host?: string
  port?: number
  blobPort?: number
  storage?: StorageMode
  /** 'fail' (default): a violating request is refused; 'record': it proceeds. Both log it. */
  strict?: 'fail' | 'record'
  /** false or 'no-complete-uri' make initiate answer like AEM 6.5 (clients fall back to the create-asset servlet). */
  directBinary?: boolean | 'no-complete-uri'
  preset?: 'historic' | 'v12' | 'v12-fix'
  minPartSize?: number
  maxPartSize?: number
  maxUris?: number
  maxFilesPerInitiate?: number
  existingAsset?: 'conflict' | 'overwrite'
  parentMissingStatus?: 404 | 500
  completeUri?: 'relative' | 'absolute'
  affinityCookie?: boolean
  requireAffinityCookie?: boolean
  urlExpirySeconds?: number
  auth?: { anonymous?: boolean; basic?: Record<string, string>; bearer?: string[] }
  faults?: { seed?: number; routes?: Partial<Record<FaultRoute, RouteFaults>>; folderNotFoundWindowMs?: number }
  /**
   * AEM's throttling: beyond `maxConcurrentAemRequests` initiate, complete, folder and create-asset requests in
   * flight (0, the default: no limit), the next is answered 429 at once with `Retry-After: retryAfterSeconds`
   * (whole seconds, default 1). Part PUTs are not counted.
   */
  throttle?: { maxConcurrentAemRequests?: number; retryAfterSeconds?: number }
  /** Every part PUT's body is read at most `blobBytesPerSecond` fast (0, the default: unlimited): a per-connection cap. */
  link?: { blobBytesPerSecond?: number }
  /**
   * A real link (docs/protocol.md §12): latency with jitter per route (initiate ~150 ms, complete ~250 ms,
   * folder ~100 ms, part PUT ~20 ms) and 25 MB/s per blob connection; `real-link-throttled` adds AEM's 429
   * beyond 16 concurrent requests. Keys given with it win over its values.
   */
  profile?: 'real-link' | 'real-link-throttled'
  /** The emulator's IMS (`/ims/exchange/jwt`, `/ims/token/v3`). */
  ims?: {
    /** Lifetime of the access tokens it issues (default 86400). */
    tokenLifetimeSeconds?: number
    /** Credentials to accept from the start (service credentials or OAuth clients); never echoed back. */
    credentials?: Array<ServiceCredentials | ServiceCredentials['integration'] | OAuthClient>
  }
  /** The emulated environment `author-p<programId>-e<environmentId>` (minted client ids name it). */
  programId?: number
  environmentId?: number
  requestLogLimit?: number
  /** Every Author API delete answers 202 and a job that ends after this many ms (null: only referenced assets). */
  asyncDelete?: number | null
  author?: AuthorConfig
  events?: EventsConfig
  secret?: string
}

export interface EmulatorAsset {
  path: string
  assetId: string
  size: number
  sha256: string | null
  mimeType: string
  etag: string
  versions: Array<{ label: string | null; comment: string | null; size: number; sha256: string | null; created: number }>
  metadata: Record<string, unknown>
  /** `aem:assetState`: `processing` for `events.processingDelayMs` after the binary landed, then `processed`. */
  assetState: 'processing' | 'processed'
  created: number
  modified: number
}

export type ViolationKind =
  | 'credentials-to-blob' | 'bad-signature' | 'expired-url-reused' | 'part-size' | 'missing-parts'
  | 'size-mismatch' | 'missing-field' | 'bad-token' | 'no-content-length' | 'md5-mismatch'

export interface EmulatorState {
  folders: Array<{ path: string; title: string }>
  assets: EmulatorAsset[]
  pendingUploads: Array<{ path: string; fileSize: number; partsReceived: number; bytesReceived: number }>
  counters: Record<string, { requests: number; statuses: Record<string, number> }>
  violations: Array<{ kind: ViolationKind; request: string; detail: string }>
  faults: Array<{ route: string; key: string; attempt: number; kind: string; retryAfterSeconds?: number }>
  /** Author API delete jobs. */
  jobs: Array<{ jobId: string; assetId: string; path: string; state: 'PROCESSING' | 'COMPLETED' }>
  storage: string
  ims: ImsState
  events: EventsState
  /** AEM requests in flight (initiate, complete, folder, create-asset), their peak since the last reset, and what the limits did. */
  limits: {
    aemInFlight: number
    peakAemInFlight: number
    admittedAemRequests: number
    throttledAemRequests: number
    /** Part PUTs read under `link.blobBytesPerSecond`. */
    cappedPuts: number
  }
}

/** Where the webhook registration stands: `pending` while the `?challenge=` handshake runs (events wait). */
export type RegistrationStatus = 'none' | 'pending' | 'active' | 'disabled'

/** One delivery attempt. */
export interface EventDeliveryAttempt {
  eventId: string
  type: 'aem.assets.asset.processing_completed' | 'aem.assets.asset.metadata_updated' | 'aem.assets.asset.deleted'
  assetId: string
  path: string
  /** `x-adobe-retry-count` (0: a first attempt, sent without it). */
  retryCount: number
  /** A second sending of an event already acknowledged (`duplicateRate`). */
  duplicate: boolean
  /** The receiver's status; 0 when there was none (refused, reset, timed out), with `error`. */
  status: number
  error?: string
}

/** The emulator's asset events (`state().events`, `GET /_emulator/events`). */
export interface EventsState {
  registration: {
    webhookUrl: string | null
    status: RegistrationStatus
    /** Challenge requests sent for this registration. */
    challenges: number
    /** Why the last handshake attempt failed. */
    error: string | null
  }
  /** The two key paths deliveries name (`/prod/keys/pub-key-<id>.pem`), served on `url`. */
  keys: [string, string]
  /** Events made for a registered webhook. */
  published: number
  /** Events a receiver acknowledged with a 2xx. */
  delivered: number
  /** POSTs sent: first attempts, retries and duplicates. */
  attempts: number
  /** Attempts that carried `x-adobe-retry-count`. */
  retries: number
  /** Events given up: `maxAttempts` exhausted, or a status that is not retried (not 429 or 5xx but 505). */
  failed: number
  /** Events never sent: no active registration, or more than `queueLimit` outstanding. */
  dropped: number
  duplicatesSent: number
  /** Events held back behind later ones. */
  reordered: number
  /** Work not settled: assets processing, events queued or being delivered, a handshake. */
  pending: number
  /** Assets still processing (with a webhook registered). */
  processing: number
  idle: boolean
  /** The last 10,000 attempts. */
  deliveries: EventDeliveryAttempt[]
}

/** Registered IMS clients and token counters: never a secret, key or token. */
export interface ImsState {
  clients: Array<{
    clientId: string
    kind: 'service' | 'oauth' | 'service+oauth'
    /** Tokens issued to it. */
    exchanges: number
    /** Grant requests refused. */
    refused: number
    activeTokens: number
    org?: string
    technicalAccountId?: string
    metascopes?: string[]
    certificates?: number
    scopes?: string[]
  }>
  tokensIssued: number
  tokensActive: number
  tokensRevoked: number
}

/** Service credentials as the AEM Developer Console downloads them. */
export interface ServiceCredentials {
  ok: boolean
  statusCode: number
  integration: {
    imsEndpoint: string
    /** Comma list, e.g. `ent_aem_cloud_api`. */
    metascopes: string
    technicalAccount: { clientId: string; clientSecret: string }
    email: string
    /** `…@techacct.adobe.com` */
    id: string
    /** `…@AdobeOrg` */
    org: string
    /** PEM RSA private key. */
    privateKey: string
    /** PEM X.509 certificate of the key. */
    publicKey: string
    certificateExpirationDate?: string
  }
}

export interface ServiceCredentialsOptions {
  clientId?: string
  clientSecret?: string
  org?: string
  technicalAccountId?: string
  email?: string
  /** Default `ent_aem_cloud_api`. */
  metascopes?: string | string[]
  /** 'pkcs1' (default, `BEGIN RSA PRIVATE KEY`, as the Developer Console) or 'pkcs8'. */
  privateKeyFormat?: 'pkcs1' | 'pkcs8'
  /** 'crlf' (default, as the Developer Console's JSON) or 'lf'. */
  lineEndings?: 'crlf' | 'lf'
  /** 2048 (default) to 4096. */
  keyBits?: number
  /** Written into the document instead of the emulator's URL (registration is unaffected). */
  imsEndpoint?: string
}

/** An OAuth server-to-server client. */
export interface OAuthClient {
  clientId: string
  clientSecret: string
  scopes: string[]
  imsEndpoint: string
}

export interface OAuthClientOptions {
  clientId?: string
  clientSecret?: string
  /** Default `openid, AdobeID, aem.assets.author, aem.folders`. */
  scopes?: string | string[]
  imsEndpoint?: string
}

export interface LoggedRequest {
  method: string
  path: string
  route: string
  headers: string[]
  /** 0 when the connection was dropped unanswered. */
  status: number
  /** When it arrived, in ms since the Unix epoch. */
  at: number
  ms: number
}

export declare class Emulator {
  readonly url: string
  readonly blobUrl: string
  state(): EmulatorState
  requests(): LoggedRequest[]
  reset(): void
  config(): EmulatorConfig
  configure(patch: EmulatorConfig): EmulatorConfig
  /** Mints service credentials registered with this emulator's IMS (`imsEndpoint` points here). */
  createServiceCredentials(options?: ServiceCredentialsOptions): ServiceCredentials
  /** Mints an OAuth server-to-server client registered with this emulator's IMS. */
  createOAuthClient(options?: OAuthClientOptions): OAuthClient
  /** Registers credentials made elsewhere; returns the client id. */
  registerCredentials(document: ServiceCredentials | ServiceCredentials['integration'] | OAuthClient): string
  /** Revokes the access tokens of one client (or all): AEM answers 401 to them. Returns how many were live. */
  revokeTokens(clientId?: string): number
  /**
   * Resolves once no asset event is pending (every uploaded asset processed, every event delivered, given up or
   * dropped, the handshake done), with `state().events` at that moment.
   */
  eventsIdle(): Promise<EventsState>
  stop(): Promise<void>
}

export declare function startEmulator(config?: EmulatorConfig): Promise<Emulator>

/** `Basic` header value for the default user admin:admin. */
export declare const DEFAULT_AUTHORIZATION: string
