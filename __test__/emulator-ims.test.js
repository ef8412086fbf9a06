'use strict';

// The emulator's IMS through the JS handle: credentials it mints, checked and
// signed with Node's own crypto (not the emulator's code), exchanged for
// tokens that upload through the public API, then expired and revoked.

const crypto = require('crypto');
const util = require('util');
const { useEmulator } = require('./helpers/emulator');
const { Aem } = require('./helpers/http');
const { serviceJwt, exchangeJwt, clientCredentials } = require('./helpers/ims');
const { DirectBinaryUpload, DirectBinaryUploadOptions } = require('..');

const env = useEmulator({});

test('minted service credentials: a real key and certificate, a JWT exchange, a token that uploads', async () => {
  const { emulator } = env;
  const credentials = emulator.createServiceCredentials();
  const { integration } = credentials;
  expect(credentials).toMatchObject({ ok: true, statusCode: 200 });
  expect(integration).toMatchObject({ imsEndpoint: emulator.url, metascopes: 'ent_aem_cloud_api' });
  expect(integration.org).toMatch(/@AdobeOrg$/);
  expect(integration.id).toMatch(/@techacct\.adobe\.com$/);
  // A standard X.509 certificate of the private key's public half, as the Developer Console issues.
  const certificate = new crypto.X509Certificate(integration.publicKey);
  expect(certificate.checkPrivateKey(crypto.createPrivateKey(integration.privateKey))).toBe(true);
  expect(certificate.publicKey.asymmetricKeyType).toBe('rsa');

  const answer = await exchangeJwt(integration);
  expect(answer.status).toBe(200);
  const token = answer.json();
  expect(token).toEqual({ token_type: 'bearer', access_token: expect.any(String), expires_in: 86400000 });

  // The tutorial's way: the token in httpOptions.headers.
  const options = new DirectBinaryUploadOptions()
    .withUrl(`${emulator.url}/content/dam`)
    .withUploadFiles([{ fileName: 'a.txt', fileSize: 3, blob: Buffer.from('abc') }])
    .withHttpOptions({ headers: { Authorization: `Bearer ${token.access_token}` } });
  const result = await new DirectBinaryUpload().uploadFiles(options);
  expect(result.totalCompleted).toBe(1);
  expect(emulator.state().assets.map((a) => a.path)).toEqual(['/content/dam/a.txt']);

  // A key that does not match the registered certificate.
  const other = emulator.createServiceCredentials({ privateKeyFormat: 'pkcs8', lineEndings: 'lf' }).integration;
  const forged = await exchangeJwt(integration, serviceJwt({ ...integration, privateKey: other.privateKey }));
  expect(forged.status).toBe(400);
  expect(forged.json()).toEqual({ error: 'invalid_signature', error_description: expect.any(String) });

  const ims = emulator.state().ims;
  expect(ims.tokensIssued).toBe(1);
  const shown = JSON.stringify(ims) + util.inspect(emulator, { depth: 5, showHidden: true });
  for (const secret of [integration.technicalAccount.clientSecret, integration.privateKey, token.access_token]) {
    expect(shown).not.toContain(secret);
  }
});

test('OAuth server-to-server client, token lifetime, revocation and bad options', async () => {
  const { emulator } = env;
  const client = emulator.createOAuthClient({ scopes: 'openid,AdobeID,aem.assets.author' });
  expect(client).toEqual({
    clientId: expect.any(String),
    clientSecret: expect.stringMatching(/^p8e-/),
    scopes: ['openid', 'AdobeID', 'aem.assets.author'],
    imsEndpoint: emulator.url,
  });
  const grant = (secret) => clientCredentials(client, { secret, scope: 'openid,AdobeID' });

  emulator.configure({ ims: { tokenLifetimeSeconds: 600 } });
  const answer = await grant();
  expect(answer.status).toBe(200);
  expect(answer.json().expires_in).toBe(600);
  const aem = new Aem(emulator, `Bearer ${answer.json().access_token}`);
  expect((await aem.initiate('/content/dam', [{ name: 'b.txt', size: 1 }])).status).toBe(201);

  expect(emulator.revokeTokens(client.clientId)).toBe(1);
  const refused = await aem.initiate('/content/dam', [{ name: 'b.txt', size: 1 }]);
  expect(refused.status).toBe(401);
  expect(refused.headers['www-authenticate']).toMatch(/^Bearer .*error="invalid_token"/);
  expect(emulator.state().ims.tokensRevoked).toBe(1);

  const wrong = await grant('p8e-wrong');
  expect(wrong.status).toBe(401);
  expect(wrong.json()).toEqual({ error: 'invalid_client', error_description: expect.any(String) });

  expect(() => emulator.createServiceCredentials({ keyBits: 512 })).toThrow(expect.objectContaining({ code: 'EINVALIDOPTIONS' }));
  expect(() => emulator.createOAuthClient('x')).toThrow(expect.objectContaining({ code: 'EINVALIDOPTIONS' }));
  expect(() => emulator.configure({ ims: { tokenLifetimeSeconds: 0 } })).toThrow(/tokenLifetimeSeconds/);
  expect(emulator.registerCredentials({ clientId: 'mine', clientSecret: 's', scopes: ['openid'] })).toBe('mine');
});
