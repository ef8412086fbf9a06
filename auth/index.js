'use strict';

/**
 * aem-upload-rs/auth: Basic, local development token, service credentials,
 * OAuth server-to-server and your own token function, done in the engine
 * (token cache, refresh before expiry, one refresh on a 401). Give a
 * provider to `options.withAuth(provider)`. See the README's
 * "Authentication" section.
 */

const {
  AuthProvider, basic, bearer, serviceCredentials, oauthServerToServer, tokenProvider, fromEnv,
} = require('../lib/auth');

module.exports = {
  AuthProvider, basic, bearer, serviceCredentials, oauthServerToServer, tokenProvider, fromEnv,
};
