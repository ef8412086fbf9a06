'use strict';

// Who the command is (docs/cli.md §1): flags first (--user, --token,
// --service-credentials), then the environment and .env with the tutorial's
// names (auth's fromEnv: service credentials, OAuth server-to-server, a
// bearer token, Basic). One provider serves the upload (withAuth) and the
// Assets client alike, so a token is fetched once per run.

const fs = require('fs');
const auth = require('../auth');
const { UsageError } = require('./config');

/** IMS connection options from the command's TLS flags and proxy variables. */
function imsOptions(opts, env) {
  const out = {};
  const pick = (name) => env[name] || env[name.toLowerCase()];
  const proxy = pick('HTTPS_PROXY') || pick('HTTP_PROXY');
  if (proxy) out.proxy = proxy;
  if (opts.ca) out.ca = fs.readFileSync(opts.ca, 'utf8');
  if (opts.insecure) out.rejectUnauthorized = false;
  return out;
}

/**
 * A provider for `withAuth` and `AssetsClient`, or null when nothing is
 * configured. Its inspection shows its kind and public ids, never a secret.
 */
function authProvider(opts, env) {
  if (opts.user) {
    const at = opts.user.indexOf(':');
    if (at < 1) throw new UsageError('--user must be USER:PASSWORD');
    return auth.basic(opts.user.slice(0, at), opts.user.slice(at + 1));
  }
  if (opts.token) return auth.bearer(opts.token);
  const file = opts.serviceCredentials || env.AEM_SERVICE_CREDENTIALS_FILE;
  if (file && !fs.existsSync(file)) throw new UsageError(`service credentials ${file}: no such file`);
  if (opts.serviceCredentials) return auth.serviceCredentials(file, imsOptions(opts, env));
  return auth.fromEnv(env, imsOptions(opts, env));
}

module.exports = { authProvider };
