'use strict';

// A client of IMS written from protocol.md with node:crypto only (not the
// emulator's or the engine's code): signs the service-credentials JWT and
// calls both grants.

const crypto = require('crypto');
const { request, FORM, form } = require('./http');

const b64url = (value) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

/** An RS256 JWT with exactly the claims protocol.md lists, signed with the integration's private key. */
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

/** `POST <imsEndpoint>/ims/exchange/jwt` with a JWT (by default a valid one). */
function exchangeJwt(integration, jwt = serviceJwt(integration)) {
  return request('POST', `${integration.imsEndpoint}/ims/exchange/jwt`, {
    headers: FORM,
    body: form([
      ['client_id', integration.technicalAccount.clientId],
      ['client_secret', integration.technicalAccount.clientSecret],
      ['jwt_token', jwt],
    ]),
  });
}

/** `POST <imsEndpoint>/ims/token/v3`, grant_type=client_credentials. */
function clientCredentials(client, { secret = client.clientSecret, scope = client.scopes.join(',') } = {}) {
  return request('POST', `${client.imsEndpoint}/ims/token/v3`, {
    headers: FORM,
    body: form([['grant_type', 'client_credentials'], ['client_id', client.clientId], ['client_secret', secret], ['scope', scope]]),
  });
}

module.exports = { serviceJwt, exchangeJwt, clientCredentials };
