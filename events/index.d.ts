/// <reference types="node" />
// aem-upload-rs/events: AEM asset events delivered by Adobe I/O Events webhooks.

import type { IncomingMessage, ServerResponse } from 'http'

/** The asset event types AEM documents. */
export type KnownAssetEventType =
  | 'aem.assets.asset.processing_completed'
  | 'aem.assets.asset.metadata_updated'
  | 'aem.assets.asset.deleted'
  | 'aem.assets.asset.published'
  | 'aem.assets.asset.unpublished'
  | 'aem.assets.asset.downloaded'

/** A known type, or any other `aem.assets.` type (passed through as sent). */
export type AssetEventType = KnownAssetEventType | (string & {})

/** `data.repositoryMetadata` as AEM sends it (values as sent: `repo:size` is a string). */
export interface RepositoryMetadata {
  'repo:repositoryId'?: string
  'repo:assetId'?: string
  'repo:path'?: string
  'repo:name'?: string
  'repo:size'?: string | number
  'dc:format'?: string
  'aem:assetState'?: string
  [name: string]: unknown
}

/** An asset event's `data`, as sent. */
export interface AssetEventData {
  assetId?: string
  user?: { imsUserId?: string; principalId?: string; displayName?: string; [name: string]: unknown }
  repositoryMetadata?: RepositoryMetadata
  assetMetadata?: Record<string, unknown>
  [name: string]: unknown
}

/** One parsed asset event. */
export interface AssetEvent {
  /** The CloudEvents `id`, unique per `source`. */
  id: string
  /** The Adobe I/O Events id (`event_id`, header `x-adobe-event-id`), when known. */
  eventId: string | null
  /** `acct:aem-p<programId>-e<environmentId>@adobe.com` (or `acct:aem-cmstg-…`). */
  source: string
  type: AssetEventType
  /** RFC 3339, as sent. */
  time: string | null
  programId: string
  environmentId: string
  /** `data.assetId` (`urn:aaid:aem:…`); required for processing_completed, metadata_updated and deleted. */
  assetId: string | null
  /** `data.repositoryMetadata["repo:path"]`. */
  path: string | null
  /** `repo:size` as a number (AEM sends a string). */
  size: number | null
  /** `aem:assetState` in lower case (`processed`, `failed`, …). */
  assetState: string | null
  /** `data` as sent (`null` when absent; anything for an unknown type). */
  data: AssetEventData | null
}

export type EventErrorCode = 'EINVALIDEVENT' | 'ESIGNATURE'

/** Which check refused: `invalid` for every EINVALIDEVENT; the others are ESIGNATURE's. */
export type EventErrorReason = 'invalid' | 'headers' | 'recipient' | 'key-path' | 'key' | 'key-unavailable' | 'mismatch'

/** A refused event or delivery. */
export class EventError extends Error {
  readonly name: 'EventError'
  readonly code: EventErrorCode
  readonly reason: EventErrorReason
  /** Whether the same delivery may verify later (a key could not be fetched now). */
  readonly transient: boolean
}

/**
 * Parses a CloudEvents 1.0 AEM asset event (a string, Buffer or object); a
 * JSON array (a batch) gives an array. Throws an EventError `EINVALIDEVENT`
 * with the reason.
 */
export function parseAssetEvent(body: string | Buffer | Uint8Array | object): AssetEvent | AssetEvent[]

/** Request headers in any of the usual shapes; names in any case. */
export type EventHeaders =
  | Record<string, string | string[] | undefined>
  | Headers
  | Map<string, string>
  | Array<[string, string]>

/** A public key: PEM (SPKI or PKCS#1), its bytes, or a `crypto.KeyObject`; null when there is no such key. */
export type PublicKeyLike = string | Buffer | Uint8Array | import('crypto').KeyObject | null | undefined

export interface VerifyOptions {
  /** Where the key paths are fetched from (default `https://static.adobeioevents.com`). */
  keyBaseUrl?: string
  /** Your Adobe Developer Console client id: each event's `recipient_client_id` must equal it. */
  clientId?: string
  /**
   * Supplies the key at a (checked) key path instead of fetching it. Resolve
   * null for "no such key" (refused); reject for "not now" (reason
   * `key-unavailable`). Asked on every call of verifyEventSignature; a
   * webhook handler caches its keys (up to 24 h).
   */
  fetchKey?: (path: string) => PublicKeyLike | Promise<PublicKeyLike>
}

/**
 * Verifies an Adobe I/O Events delivery: either signature
 * (`x-adobe-digital-signature-1`/`-2`, RSA-SHA256 over the raw body) with its
 * public key (`x-adobe-public-key1-path`/`-2-path`), and the recipient client
 * id when `clientId` is given. Keys are cached for up to 24 hours. Resolves
 * `true`, or rejects with an EventError `ESIGNATURE`.
 */
export function verifyEventSignature(
  rawBody: string | Buffer | Uint8Array,
  headers: EventHeaders,
  options?: VerifyOptions,
): Promise<true>

/** Anything with an I/O Events id, or a `source` and `id`: a parsed or a delivered event. */
export type DedupableEvent =
  | { eventId?: string | null; source?: string; id?: string }
  | { event_id?: string; eventid?: string; source?: string; id?: string }

export interface EventDeduperOptions {
  /** Events remembered at most (default 100000); the oldest are forgotten first. */
  max?: number
  /** How long each is remembered, in ms (default 86400000: I/O Events retries for 24 h). */
  ttlMs?: number
}

/**
 * Remembers which events were handled: keyed on the I/O Events id
 * (`x-adobe-event-id` / `event_id`) when present, else (`source`, `id`).
 */
export class EventDeduper {
  constructor(options?: EventDeduperOptions)
  readonly max: number
  readonly ttlMs: number
  /** Events remembered now (never more than `max`). */
  readonly size: number
  /** `true` if seen within ttlMs; otherwise `false`, and remembered from now. */
  seen(event: DedupableEvent): boolean
  /** Forgets the event, so that its redelivery is handled again. */
  forget(event: DedupableEvent): boolean
}

export interface WebhookHandlerOptions extends VerifyOptions {
  /** Called once per new, verified event; a throw answers 500 so that I/O Events retries. */
  onEvent: (event: AssetEvent) => unknown | Promise<unknown>
  /** true (default: a new EventDeduper), false, an EventDeduper to share, or its options. */
  dedupe?: boolean | EventDeduper | EventDeduperOptions
  /**
   * Told about refused deliveries, invalid events and onEvent failures
   * (default: one line on stderr with the message; never the body or headers).
   */
  onError?: (error: unknown, context: { stage: string; status?: number; event?: AssetEvent }) => void
  /** Largest body read (default 8 MiB; I/O Events batches are at most 2 MB). */
  maxBodyBytes?: number
}

/**
 * A webhook for `http.createServer` or Express. Mount it with no body parser
 * before it, or with `express.raw({ type: '*\/*' })`: signatures cover the raw
 * bytes (after `express.json()` they are gone, and it answers 500 saying so,
 * unless a `verify` hook kept them in `req.rawBody`). Answers the
 * `?challenge=` handshake, then 200 (also for duplicates), 401 bad signature,
 * 400 not an asset event, 503 key not fetchable now, 500 onEvent threw.
 */
export function createWebhookHandler(
  options: WebhookHandlerOptions,
): (req: IncomingMessage, res: ServerResponse) => Promise<void>
