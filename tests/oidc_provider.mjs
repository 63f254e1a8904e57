// A real OpenID Connect provider on 127.0.0.1 for the company sign-in's browser tests
// (tests/test_browser_sso.py): node's oidc-provider, pinned in package.json.
//
//   node tests/oidc_provider.mjs CONFIG.json
//
// CONFIG.json: {"issuer": "http://127.0.0.1:PORT", "port": PORT, "client_id": "...",
// "client_secret": "...", "redirect_uri": "...", "post_logout_redirect_uri": "...",
// "accounts": "ACCOUNTS.json"}.
// ACCOUNTS.json maps each login to its claims (email, email_verified, name, groups...). It is
// read again at every sign-in, so a test changes someone's groups by rewriting it.
//
// Sign-in uses oidc-provider's development pages: any password is accepted for a login the
// accounts file lists, then a consent page asks to continue. Prints "ready" once listening.

import { readFileSync } from 'node:fs';

import Provider from 'oidc-provider';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));

function accounts() {
  return JSON.parse(readFileSync(config.accounts, 'utf8'));
}

const provider = new Provider(config.issuer, {
  clients: [
    {
      client_id: config.client_id,
      client_secret: config.client_secret,
      redirect_uris: [config.redirect_uri],
      post_logout_redirect_uris: [config.post_logout_redirect_uri],
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    },
  ],
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'preferred_username'],
    groups: ['groups'],
  },
  scopes: ['openid', 'email', 'profile', 'groups'],
  features: { devInteractions: { enabled: true } },
  pkce: { required: () => true },
  cookies: { keys: ['throughline-tests-only'] },
  async findAccount(ctx, id) {
    const claims = accounts()[id];
    if (!claims) {
      return undefined;
    }
    return {
      accountId: id,
      async claims() {
        return { ...claims, sub: id };
      },
    };
  },
});

const server = provider.listen(config.port, '127.0.0.1', () => {
  process.stdout.write('ready\n');
});

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
