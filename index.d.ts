/// <reference types="node" />
// Environment knob (not an option): AEM_UPLOAD_RS_WORKERS sets the number of
// native worker threads (default: one per core, at most four).
import { EventEmitter } from 'events'
import type { AuthProvider } from './auth'

/** The exported error codes (as in @adobe/aem-upload). */
export declare const DirectBinaryUploadErrorCodes: {
  readonly UNKNOWN: 'EUNKNOWN'
  readonly NOT_FOUND: 'ENOTFOUND'
  readonly NOT_SUPPORTED: 'ENOTSUPPORTED'
  readonly INVALID_OPTIONS: 'EINVALIDOPTIONS'
  readonly NOT_AUTHORIZED: 'ENOTAUTHORIZED'
  /** Never produced; kept for compatibility. */
  readonly UNEXPECTED_API_STATE: 'EUNEXPECTEDAPISTATE'
  readonly ALREADY_EXISTS: 'EALREADYEXISTS'
  readonly FORBIDDEN: 'EFORBIDDEN'
  readonly USER_CANCELLED: 'EUSERCANCELLED'
  readonly TOO_LARGE: 'ETOOLARGE'
}

/**
 * Codes an error may carry: the exported ones, plus `ETOOMANYREQUESTS` (429),
 * `ETIMEDOUT` (idle timeout) and OS/Node codes such as `ENOENT`, `EACCES`,
 * `EISDIR`, `ECONNRESET`, `ERR_INVALID_URL`.
 */
export type UploadErrorCode =
  | (typeof DirectBinaryUploadErrorCodes)[keyof typeof DirectBinaryUploadErrorCodes]
  | 'ETOOMANYREQUESTS'
  | 'ETIMEDOUT'
  | (string & {})

/**
 * Every failure reported by the package (a type only: the class is not a
 * export of the main entry, as in the reference). Messages never contain
 * credentials or URL signatures.
 */
export interface UploadError extends Error {
  readonly code: UploadErrorCode
  /** Diagnostics; may be empty. */
  readonly innerStack: string
  readonly uploadError: true
  getCode(): UploadErrorCode
  /** 400, 401, 403, 404, 409, 413, 429 or 501 for the matching codes; 500 otherwise. */
  getHttpStatusCode(): number
  getMessage(): string
  getInnerStack(): string
  toJSON(): UploadErrorJSON
  toString(): string
}

export interface UploadErrorJSON {
  message: string
  code: UploadErrorCode
  innerStack?: string
}

/** Something whose bytes can be uploaded: read once, in order, for streams. */
export type UploadBlob =
  | Buffer
  | Uint8Array
  | ArrayBuffer
  | Blob
  | NodeJS.ReadableStream
  | ReadableStream<Uint8Array>
  | { slice(start: number, end: number): unknown }

interface UploadFileBase {
  /** Unencoded name; the target is `getUrl() + '/' + encodeURIComponent(fileName)`. */
  fileName?: string
  /** Absolute target URL; wins over the folder URL and `fileName`. */
  fileUrl?: string
  createVersion?: boolean
  versionLabel?: string
  versionComment?: string
  replace?: boolean
  /** Headers added to every part PUT of this file. */
  partHeaders?: Record<string, string>
}

/** A file read from disk or memory. */
export interface LocalUploadFile extends UploadFileBase {
  /** Bytes; must equal the source's real length. */
  fileSize: number
  /** A local file, streamed from disk. */
  filePath?: string
  /** In-memory or streamed bytes; wins over `filePath`. */
  blob?: UploadBlob
  /** Carried along, unused, when `blob` or `filePath` is given (as in Adobe's tutorial). */
  sourceUrl?: string | URL
  sourceHeaders?: Record<string, string>
}

/**
 * A file streamed from an http(s) origin (an addition: `@adobe/aem-upload`
 * has no URL sources). Origins that answer `Accept-Ranges: bytes` are read
 * part by part, several at once, each range tied to the version first seen
 * (`If-Range`); others are read once, in order. Memory stays bounded by the
 * parts in flight, whatever the file's size. Redirects are followed (at most
 * 10). An origin's error, a length other than `fileSize`, or a file that
 * changes while it is read fails this file alone, naming the URL without its
 * query. Origin requests use the call's retries, timeouts, proxy and cancel.
 */
export interface UrlUploadFile extends UploadFileBase {
  /** Absolute http(s) URL of the file. */
  sourceUrl: string | URL
  /** Sent to the origin only; AEM's credentials never go there. */
  sourceHeaders?: Record<string, string>
  /** Optional: when absent, the origin's length (HEAD, else a GET's head); a file whose length nobody knows fails with EINVALIDOPTIONS. */
  fileSize?: number
  filePath?: undefined
  blob?: undefined
}

/** One file of `DirectBinaryUploadOptions.withUploadFiles()`. */
export type UploadFile = LocalUploadFile | UrlUploadFile

/** `withHttpOptions()`: what the engine reads of it. */
export interface HttpOptions {
  /** Sent to AEM only (initiate, complete, folders, create-asset), never to presigned URLs. */
  headers?: Record<string, string>
  /** Idle timeout in ms; the smaller positive of this and `withHttpRequestTimeout()` applies. */
  timeout?: number
  cloudClient?: {
    /** Retry any non-2xx (404 too) on initiate, parts and complete; folder POSTs also retry 404. */
    eventuallyConsistentCreate?: boolean
    /** Folder POST policy: 3 attempts, 1000 ms × 2^(attempt−1) by default. */
    retry?: { count?: number; delay?: number; delayMultiple?: number }
    /** Folder POST idle timeout in ms (60000). */
    timeout?: number
  }
  /** Only its proxy and TLS options are read: `proxy`, `ca`, `rejectUnauthorized`. */
  agent?: { proxy?: string | URL; ca?: string | Buffer | Array<string | Buffer>; rejectUnauthorized?: boolean; options?: object }
  [key: string]: unknown
}

export declare class DirectBinaryUploadOptions {
  options: Record<string, unknown>
  /** The absolute, URI-encoded URL of the target folder. */
  withUrl(url: string): this
  withUploadFiles(uploadFiles: UploadFile[]): this
  /** true: `withMaxConcurrent(5)`; false: `withMaxConcurrent(1)`. */
  withConcurrent(isConcurrent: boolean): this
  /**
   * Part PUTs in flight per call (default 5; values below 1 act as 1). On a
   * link with latency it sets the pace for small files: at most about
   * `maxConcurrent / latency` files per second (5 at 5 ms: 1,000 files/s).
   */
  withMaxConcurrent(maxConcurrent: number): this
  /** Shallow-merged with earlier calls; `headers` merged key by key. */
  withHttpOptions(options: HttpOptions): this
  /** Retries after the first attempt (default 3; 0: one attempt). */
  withHttpRetryCount(retryCount: number): this
  /** Base delay in ms (default 5000): retry n waits delay · 2ⁿ plus up to 99 ms. */
  withHttpRetryDelay(retryDelay: number): this
  /** Idle timeout in ms (default 60000): an attempt fails (ETIMEDOUT) when no byte moves for this long. */
  withHttpRequestTimeout(timeout: number): this
  /** Cancels calls made with these options when the signal aborts (an addition). */
  withAbortSignal(signal: AbortSignal): this
  /**
   * Resume journal (an addition): files recorded there as completed by an earlier call are skipped
   * (no request, no file event; their result is still reported), and each file that completes is recorded.
   */
  withJournal(journalPath: string): this
  /**
   * Authentication (an addition): a provider from `require('aem-upload-rs/auth')` authorises every AEM
   * request of calls made with these options (initiate, complete, folders, create-asset), never presigned
   * blob URLs; tokens are cached, refreshed before they expire and once on a 401. A call that also has an
   * `Authorization` header in `httpOptions.headers` fails with EINVALIDOPTIONS. Not part of `toJSON()`.
   */
  withAuth(provider: AuthProvider): this
  /**
   * AEM requests in flight (an addition): at most `n` (a whole number ≥ 1, else EINVALIDOPTIONS) initiates,
   * completes, folder and create-asset requests of a call at once. By default the limit adapts: it grows
   * while AEM keeps up and backs off when AEM answers 429 (pausing for its `Retry-After`), so no tuning is
   * needed; a fixed limit is for benchmarks and instances with a known limit. Part PUTs keep
   * `withMaxConcurrent`. Not part of `toJSON()`.
   */
  withMaxAemRequests(n: number): this
  /** The URL without trailing slashes, or '/'. */
  getUrl(): string
  /** The decoded path of the URL. */
  getTargetFolderPath(): string
  /** `protocol//host[:port]`, or '' for a relative URL. */
  getUrlPrefix(): string
  getUploadFiles(): UploadFile[]
  isConcurrent(): boolean
  getMaxConcurrent(): number
  getHttpOptions(): HttpOptions
  getHttpRetryCount(): number
  getHttpRetryDelay(): number
  getHttpRequestTimeout(): number
  getAbortSignal(): AbortSignal | undefined
  getJournal(): string | undefined
  getAuth(): AuthProvider | undefined
  getMaxAemRequests(): number | undefined
  toJSON(): Record<string, unknown>
}

/** `async (name) => string`: the result still passes the mandatory replacement of `/ : [ ] | * \`. */
export type NodeNameProcessor = (name: string) => Promise<string> | string

export declare class FileSystemUploadOptions extends DirectBinaryUploadOptions {
  /** Copies any options object (a plain DirectBinaryUploadOptions too). */
  static fromOptions(options: DirectBinaryUploadOptions): FileSystemUploadOptions
  /** Default 1000: more files, or more paths in one walked directory, reject with ETOOLARGE. */
  withMaxUploadFiles(maxFileCount: number): this
  /** Mirror directories as folders (default false: only the top files of each directory). */
  withDeepUpload(deepUpload: boolean): this
  withFolderNodeNameProcessor(processor: NodeNameProcessor): this
  withAssetNodeNameProcessor(processor: NodeNameProcessor): this
  /** Default '-'; throws UploadError EINVALIDOPTIONS if it contains one of `/ : [ ] | * \`. */
  withInvalidCharacterReplaceValue(replaceValue: string): this
  /** Spread into each generated upload file (its blob, fileName, fileUrl, filePath, fileSize are ignored). */
  withUploadFileOptions(options: Partial<UploadFile>): this
  getMaxUploadFiles(): number
  getDeepUpload(): boolean
  getFolderNodeNameProcessor(): NodeNameProcessor
  getAssetNodeNameProcessor(): NodeNameProcessor
  getInvalidCharacterReplaceValue(): string
  getUploadFileOptions(): Partial<UploadFile>
}

export interface UploadStartEvent {
  uploadId: string
  fileCount: number
  totalSize: number
  /** Mirrored directories (FileSystemUpload in deep mode). */
  directoryCount: number
}

export interface FileEvent {
  /** Decoded name of the target. */
  fileName: string
  fileSize: number
  /** Decoded URL paths. */
  targetFolder: string
  targetFile: string
  /** Absolute local path; '.' and '' for blobs. */
  sourceFolder: string
  sourceFile: string
  /** Once known (not on filestart). */
  mimeType?: string
}

export interface FileProgressEvent extends FileEvent {
  /** Bytes sent so far; never decreases. */
  transferred: number
}

export interface FileErrorEvent extends FileEvent {
  errors: UploadError[]
}

export interface FolderCreatedEvent {
  /** The folder's title. */
  folderName: string
  targetParent: string
  targetFolder: string
}

export interface CreatedFolder {
  elapsedTime: number
  folderPath: string
  folderTitle: string
  retryErrors: UploadErrorJSON[]
  /** Present for 409 (already exists). */
  error?: UploadErrorJSON
}

export interface DetailedResult {
  fileUrl: string
  fileSize: number
  createVersion?: true
  versionComment?: string
  versionLabel?: string
  replace?: true
  filePath?: string
  multipartHeaders?: Record<string, string>
  blob?: '<provided>'
  /** The payload of the file's last terminal event; absent if it had none. */
  result?: FileEvent | FileErrorEvent
}

export interface UploadResult {
  host: string
  /** Distinct target paths. */
  totalFiles: number
  /** ms of the transfer step. */
  totalTime: number
  totalCompleted: number
  totalFileSize: number
  folderCreateSpent: number
  createdFolders: CreatedFolder[]
  detailedResult: DetailedResult[]
  /** High-level errors (validation, invalid URL, cancel before transfer). */
  errors: UploadErrorJSON[]
  /** Errors of attempts that were retried (at most 1000). */
  retryErrors: UploadErrorJSON[]
}

export interface UploadEvents {
  fileuploadstart: [UploadStartEvent]
  filestart: [FileEvent]
  fileprogress: [FileProgressEvent]
  fileend: [FileEvent]
  fileerror: [FileErrorEvent]
  filecancelled: [FileErrorEvent]
  foldercreated: [FolderCreatedEvent]
  fileuploadend: [UploadStartEvent & { result: UploadResult }]
}

export interface Logger {
  debug?(message: string): void
  info?(message: string): void
  warn?(message: string): void
  error?(message: string): void
}

export interface UploadClassOptions {
  /** Per-instance logger; without one nothing is logged. */
  log?: Logger
  /** Cancels every call of the instance when it aborts. */
  signal?: AbortSignal
  [key: string]: unknown
}

export declare class DirectBinaryUpload extends EventEmitter {
  constructor(options?: UploadClassOptions)
  getOptions(): UploadClassOptions
  uploadFiles(options: DirectBinaryUploadOptions): Promise<UploadResult>
  /** Cancels every running call: unfinished files emit filecancelled; the calls resolve. */
  cancel(): void
  /** Cancels one file by its decoded target path; whether an unfinished file matched. */
  cancelFile(targetPath: string): boolean
  on<E extends keyof UploadEvents>(event: E, listener: (...args: UploadEvents[E]) => void): this
  once<E extends keyof UploadEvents>(event: E, listener: (...args: UploadEvents[E]) => void): this
  off<E extends keyof UploadEvents>(event: E, listener: (...args: UploadEvents[E]) => void): this
  on(event: string | symbol, listener: (...args: any[]) => void): this
  once(event: string | symbol, listener: (...args: any[]) => void): this
  off(event: string | symbol, listener: (...args: any[]) => void): this
}

export declare class FileSystemUpload extends DirectBinaryUpload {
  /** Creates the target folder chain, walks `localPaths` in order, creates mirrored folders, uploads. */
  upload(options: DirectBinaryUploadOptions, localPaths: string[]): Promise<UploadResult>
}
