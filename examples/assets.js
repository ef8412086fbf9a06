#!/usr/bin/env node
'use strict';

// After an upload: find the asset's id, set metadata (from a PIM, say)
// without overwriting anyone else's change, read it back cheaply with its
// ETag, patch it, then delete the asset and wait for AEM to finish.
//
//   node examples/assets.js
//
// With AEM_URL set (and AEM_BEARER_TOKEN, AEM_API_KEY = your Developer Console
// client id, optionally TARGET_FOLDER) it runs against that AEM as a Cloud
// Service author. Without it, it starts the embedded emulator, with the
// client id AEM_API_KEY or `aem-upload-rs-example` registered as an API key.

const path = require('path');
const { FileSystemUpload, FileSystemUploadOptions } = require('..');
const { AssetsClient, AssetsError } = require('../assets');
const { startEmulator, DEFAULT_AUTHORIZATION } = require('../emulator');

const FILE = path.join(__dirname, '..', 'sample-assets', 'img', 'logo.svg');

async function target() {
  const { AEM_URL, AEM_BEARER_TOKEN, AEM_API_KEY, TARGET_FOLDER } = process.env;
  if (AEM_URL) {
    const authorization = `Bearer ${AEM_BEARER_TOKEN || ''}`;
    return { url: AEM_URL.replace(/\/$/, ''), authorization, apiKey: AEM_API_KEY, folder: TARGET_FOLDER || '/content/dam/aem-upload-rs-demo', stop: async () => {} };
  }
  const apiKey = AEM_API_KEY || 'aem-upload-rs-example';
  const emulator = await startEmulator({ author: { apiKeys: [apiKey] } });
  return { url: emulator.url, authorization: DEFAULT_AUTHORIZATION, apiKey, folder: '/content/dam/assets-example', stop: () => emulator.stop() };
}

async function main() {
  const aem = await target();
  try {
    // 1. Upload one file, as any aem-upload user does.
    const upload = await new FileSystemUpload().upload(
      new FileSystemUploadOptions()
        .withUrl(`${aem.url}${aem.folder}`)
        .withHttpOptions({ headers: { Authorization: aem.authorization } }),
      [FILE],
    );
    if (upload.errors.length || upload.totalCompleted !== 1) throw new Error(`upload failed: ${JSON.stringify(upload.errors)}`);
    const damPath = `${aem.folder}/${path.basename(FILE)}`;
    console.log(`uploaded ${damPath}`);

    // 2. The Author API client. `auth` is any provider with headers(): see aem-upload-rs/auth.
    const assets = new AssetsClient({
      url: aem.url,
      auth: { headers: async () => ({ Authorization: aem.authorization }) },
      apiKey: aem.apiKey,
    });
    const assetId = await assets.assetIdForPath(damPath);
    console.log(`asset id ${assetId}`);

    // 3. Set values: reads the ETag, patches under If-Match, re-reads on 412.
    const updated = await assets.updateMetadata(assetId, { 'dc:title': 'Company logo', 'pim:sku': 'LOGO-001', 'dc:subject': ['brand'] });
    console.log(`metadata set: ${JSON.stringify(updated.assetMetadata)} (etag ${updated.etag})`);

    // 4. Read again only if it changed.
    const again = await assets.getMetadata(assetId, { ifNoneMatch: updated.etag });
    console.log(again.notModified ? 'unchanged since (304)' : `changed since: ${JSON.stringify(again.assetMetadata)}`);

    // 5. Your own JSON Patch, conditional on the tag you read.
    const patched = await assets.patchMetadata(assetId, [{ op: 'add', path: '/dc:subject/-', value: 'svg' }], { ifMatch: updated.etag });
    console.log(`subjects now ${JSON.stringify(patched.assetMetadata['dc:subject'])}`);

    // 6. Delete, and wait for the reference updates AEM may run in a job.
    const deleted = await assets.deleteAsset(assetId, { wait: true, timeout: 120000 });
    console.log(`deleted${deleted.jobId ? ` after job ${deleted.jobId}` : ''}`);
  } catch (err) {
    if (err instanceof AssetsError) {
      console.error(`${err.code}${err.status ? ` (HTTP ${err.status})` : ''}: ${err.message}`);
    } else {
      console.error(err);
    }
    process.exitCode = 1;
  } finally {
    await aem.stop();
  }
}

main();
