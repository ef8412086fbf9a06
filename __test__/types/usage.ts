// Compiled (not run) by types.test.js: code a user would write against index.d.ts.
import {
  DirectBinaryUpload,
  DirectBinaryUploadOptions,
  DirectBinaryUploadErrorCodes,
  FileSystemUpload,
  FileSystemUploadOptions,
  UploadResult,
  FileErrorEvent,
} from '../..'
import { startEmulator, EmulatorState, EventsState, ServiceCredentials, OAuthClient } from '../../emulator'
import {
  parseAssetEvent,
  verifyEventSignature,
  EventDeduper,
  EventError,
  createWebhookHandler,
  AssetEvent,
} from '../../events'
import { createServer } from 'http'

async function demo(): Promise<void> {
  const emulator = await startEmulator({ storage: 'digest', faults: { seed: 1, routes: { part: { status503: 0.1 } } } })
  const controller = new AbortController()
  const options = new FileSystemUploadOptions()
    .withUrl(`${emulator.url}/content/dam/x`)
    .withDeepUpload(true)
    .withMaxUploadFiles(5000)
    .withHttpOptions({ headers: { Authorization: 'Basic YWRtaW46YWRtaW4=' }, cloudClient: { eventuallyConsistentCreate: true } })
    .withAssetNodeNameProcessor(async (name) => name.toLowerCase())
    .withAbortSignal(controller.signal)
    .withJournal('upload.journal')
    .withMaxAemRequests(16)
  const aemLimit: number | undefined = options.getMaxAemRequests()
  void aemLimit
  const realLink = await startEmulator({ profile: 'real-link-throttled', throttle: { retryAfterSeconds: 2 }, link: { blobBytesPerSecond: 1e6 } })
  const throttled: number = realLink.state().limits.throttledAemRequests
  void throttled
  const upload = new FileSystemUpload({ log: { info: (m: string) => void m } })
  upload.on('fileerror', (event: FileErrorEvent) => {
    const code: string = event.errors[0].getCode()
    if (code === DirectBinaryUploadErrorCodes.ALREADY_EXISTS) upload.cancelFile(event.targetFile)
  })
  upload.on('fileprogress', (event) => void event.transferred)
  const result: UploadResult = await upload.upload(options, ['./assets'])
  const ok: number = result.totalCompleted + result.detailedResult.length
  void ok
  const direct = new DirectBinaryUpload()
  await direct.uploadFiles(new DirectBinaryUploadOptions()
    .withUrl(`${emulator.url}/content/dam`)
    .withUploadFiles([{ fileName: 'a.txt', fileSize: 3, blob: Buffer.from('abc') }]))
  const state: EmulatorState = emulator.state()
  void state.violations.length
  // The emulator's IMS: minted credentials, token lifetime, revocation.
  emulator.configure({ ims: { tokenLifetimeSeconds: 2 }, faults: { routes: { ims: { status503: 0.2 } } } })
  const credentials: ServiceCredentials = emulator.createServiceCredentials({ privateKeyFormat: 'pkcs8', metascopes: ['ent_aem_cloud_api'] })
  const client: OAuthClient = emulator.createOAuthClient({ scopes: 'openid,aem.assets.author' })
  const revoked: number = emulator.revokeTokens(credentials.integration.technicalAccount.clientId) + emulator.revokeTokens()
  void [client.clientSecret, revoked, state.ims.tokensIssued, emulator.registerCredentials(client)]
  emulator.configure({ author: { apiKeys: ['client-1'], referenced: ['/content/dam/a.txt'], jobMs: 200 }, asyncDelete: null })
  emulator.configure({ faults: { routes: { author: { status503: 0.1 } } } })
  const jobs: string[] = state.jobs.map((job) => `${job.jobId} ${job.state}`)
  void jobs
  // Asset events delivered to a webhook, and a wait for them to settle.
  emulator.configure({ events: { webhookUrl: 'http://127.0.0.1:8080/hook', clientId: 'c', processingDelayMs: 0, duplicateRate: 0.1, invalidSignature1: true } })
  emulator.configure({ events: { webhookUrl: null } })
  const events: EventsState = await emulator.eventsIdle()
  const retried: number[] = events.deliveries.filter((d) => d.retryCount > 0).map((d) => d.status)
  const processing: 'processing' | 'processed' | undefined = state.assets[0]?.assetState
  void [retried, processing, events.registration.status === 'active', events.keys[0], state.events.duplicatesSent]
  await emulator.stop()
}

void demo

// URL sources: fileSize optional, origin-only headers.
export const fromUrl = new DirectBinaryUploadOptions().withUploadFiles([
  { fileName: 'a.jpg', sourceUrl: 'https://cdn.example.com/a.jpg', sourceHeaders: { 'x-api-key': 'k' } },
  { fileName: 'b.jpg', sourceUrl: new URL('https://cdn.example.com/b.jpg'), fileSize: 10 },
  { fileName: 'c.jpg', fileSize: 3, blob: Buffer.from('abc'), sourceUrl: 'https://carried.along/c.jpg' },
])

// aem-upload-rs/auth
import * as auth from '../../auth'

async function withAuthDemo(url: string): Promise<void> {
  const providers: auth.AuthProvider[] = [
    auth.basic('admin', 'admin'),
    auth.bearer({ accessToken: 'x' }),
    auth.serviceCredentials('service.json', { imsEndpoint: 'ims-na1.adobelogin.com' }),
    auth.oauthServerToServer({ clientId: 'id', clientSecret: 's', scopes: ['openid', 'AdobeID'] }),
    auth.tokenProvider(async ({ reason }) => ({ token: reason, expiresAt: Date.now() + 1000 })),
  ]
  const fromEnv = auth.fromEnv(process.env)
  const options = new DirectBinaryUploadOptions().withUrl(url).withAuth(fromEnv || providers[0])
  const headers: { Authorization?: string } = await providers[0].headers()
  console.log(options.getAuth()?.kind, headers.Authorization)
}
void withAuthDemo
// Asset events: a receiver, a check of one delivery, a shared deduper.
export async function assetEvents(rawBody: Buffer, headers: Record<string, string | string[] | undefined>): Promise<void> {
  const deduper = new EventDeduper({ max: 10000, ttlMs: 3600000 })
  const handler = createWebhookHandler({
    clientId: 'my-client-id',
    dedupe: deduper,
    onEvent: async (event: AssetEvent) => {
      if (event.type === 'aem.assets.asset.processing_completed' && event.assetState === 'processed') {
        const size: number | null = event.size
        void [event.assetId, event.path, size, event.data?.repositoryMetadata?.['repo:size']]
      }
    },
    onError: (error, context) => void [error, context.stage, context.status],
  })
  createServer(handler).listen(8080)
  try {
    const ok: true = await verifyEventSignature(rawBody, headers, { clientId: 'my-client-id', keyBaseUrl: 'https://static.adobeioevents.com' })
    const parsed = parseAssetEvent(rawBody)
    const events: AssetEvent[] = Array.isArray(parsed) ? parsed : [parsed]
    void [ok, events.filter((e) => !deduper.seen(e)), deduper.size]
  } catch (err) {
    if (err instanceof EventError && err.code === 'ESIGNATURE') void [err.reason, err.transient]
  }
}
