// Compiled (not run) by types.test.js: code a user would write against assets/index.d.ts.
import { AssetsClient, AssetsError, AssetMetadataDocument, JobStatus, PatchOperation } from '../../assets'

async function demo(): Promise<void> {
  const controller = new AbortController()
  const client = new AssetsClient({
    url: 'https://author-p1-e2.adobeaemcloud.com',
    auth: { headers: async () => ({ Authorization: 'Bearer token' }) },
    apiKey: 'my-client-id',
    retryCount: 5,
    retryDelay: 500,
    timeout: 30000,
    signal: controller.signal,
    log: console,
  })
  const assetId: string = await client.assetIdForPath('/content/dam/shop/shoe.jpg')
  const read = await client.getMetadata(assetId)
  if ('notModified' in read) throw new Error('unexpected')
  const title: unknown = read.assetMetadata['dc:title']
  const again = await client.getMetadata(assetId, { ifNoneMatch: read.etag ?? undefined })
  if ('notModified' in again && again.notModified) console.log(again.etag, title)
  const ops: PatchOperation[] = [{ op: 'add', path: '/dc:title', value: 'Shoe' }]
  const patched: AssetMetadataDocument = await client.patchMetadata(assetId, ops, { ifMatch: read.etag ?? '*' })
  const updated = await client.updateMetadata(assetId, { 'pim:sku': 'S-1', obsolete: null }, { retries: 5 })
  const { etag } = await client.headMetadata(assetId)
  console.log(patched.etag, updated.repositoryMetadata['repo:path'], etag)
  const deleted = await client.deleteAsset(assetId, { force: false, wait: false })
  if (deleted.status === 'accepted') {
    const status: JobStatus = await client.getJobStatus(deleted.jobId)
    const final: JobStatus = await client.waitForJob(deleted.location, { timeout: 60000, signal: controller.signal })
    console.log(status.state, final.done, final.location)
  }
  try {
    await client.deleteAsset(assetId, { wait: true })
  } catch (err) {
    if (err instanceof AssetsError && err.code === 'EPRECONDITIONFAILED') console.log(err.currentEtag, err.status, err.problem?.detail)
    if (err instanceof AssetsError && err.code === 'EJOBFAILED') console.log(err.job?.state)
  }
}

void demo
