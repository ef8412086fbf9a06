'use strict';

// The emulator's IMS through the JS handle: credentials it mints, checked and
// signed with Node's own crypto (not the emulator's code), exchanged for
// tokens that upload through the public API, then expired and revoked.

const crypto = require('crypto');
const util = require('util');
const { useEmulator } = require('./helpers/emulator');
const { request, FORM, form, Aem } = require('./helpers/http');
const { DirectBinaryUpload, DirectBinaryUploadOptions } = require('..');

const env = useEmulator({});

const b64url = (value) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

/** An RS256 JWT with exactly the claims protocol.md lists, signed by node:crypto. */
function serviceJwt(integration, overrides = {}) {
  const endpoint = integration.imsEndpoint;
  const claims = {
    iss: integration.org,
    sub: integration.id,
    aud: `${endpoint}/c/${integration.technicalAccount.clientId}`,
    exp: Math.floor(Date.now() / 1000) + 8 * 3600,
  };
  for (const metascope of integration.metascopes.split(',')) claims[`${endpoint}/s/${metascope}`] = true;
  Object.assign(claims, overrides);
  const input = `${b64url({ alg: 'RS256', typ: 'JWT' })}.${b64url(claims)}`;
  const signature = crypto.createSign('RSA-SHA256').update(input).sign(integration.privateKey);
  return `${input}.${signature.toString('base64url')}`;
}

function exchange(integration, jwt) {
  return request('POST', `${integration.imsEndpoint}/ims/exchange/jwt`, {
    headers: FORM,
    body: form([
      ['client_id', integration.technicalAccount.clientId],
      ['client_secret', integration.technicalAccount.clientSecret],
      ['jwt_token', jwt],
    ]),
  });
}

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

  const answer = await exchange(integration, serviceJwt(integration));
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
  const forged = await exchange(integration, serviceJwt({ ...integration, privateKey: other.privateKey }));
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
  const grant = (secret = client.clientSecret) => request('POST', `${emulator.url}/ims/token/v3`, {
    headers: FORM,
    body: form([['grant_type', 'client_credentials'], ['client_id', client.clientId], ['client_secret', secret], ['scope', 'openid,AdobeID']]),
  });

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
