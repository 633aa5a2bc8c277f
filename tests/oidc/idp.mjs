// A real OpenID Connect provider for the team hub's SSO tests: node-oidc-provider
// (authorization code + PKCE, client_secret_basic, signed ID tokens, discovery,
// JWKS) on 127.0.0.1.
//
//   node idp.mjs PORT REDIRECT_URI ACCOUNTS_FILE
//
// ACCOUNTS_FILE is JSON: {"next": "ada", "accounts": {"ada": {"email": …,
// "email_verified": true, "name": …, "groups": […]}}}. Who signs in is `next`,
// read at each sign-in (the test writes it first): the interaction is finished
// at once, with no form — the browser part of the flow (redirects, cookies,
// state, PKCE, the code) is all real.
import fs from 'node:fs';
import http from 'node:http';
import Provider from 'oidc-provider';

const [port, redirectUri, accountsFile] = process.argv.slice(2);
const issuer = `http://127.0.0.1:${port}`;
const accounts = () => JSON.parse(fs.readFileSync(accountsFile, 'utf8'));

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: 'paired-hub',
      client_secret: 'hub-client-secret-0123456789',
      redirect_uris: [redirectUri],
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    },
  ],
  pkce: { required: () => true },
  scopes: ['openid', 'email', 'profile', 'groups'],
  claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'], groups: ['groups'] },
  // Every claim in the ID token (the hub reads the ID token, not userinfo).
  conformIdTokenClaims: false,
  findAccount: async (_ctx, id) => {
    const account = accounts().accounts[id];
    return account && { accountId: id, claims: async () => ({ sub: id, ...account }) };
  },
  interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
  features: { devInteractions: { enabled: false } },
  cookies: { keys: ['paired-test-cookie-key'] },
});

const callback = provider.callback();
http
  .createServer(async (req, res) => {
    if (!req.url.startsWith('/interaction/')) return callback(req, res);
    try {
      const details = await provider.interactionDetails(req, res);
      const accountId = accounts().next;
      if (details.prompt.name === 'login') {
        return await provider.interactionFinished(req, res, { login: { accountId } }, { mergeWithLastSubmission: false });
      }
      const grant = details.grantId
        ? await provider.Grant.find(details.grantId)
        : new provider.Grant({ accountId, clientId: details.params.client_id });
      grant.addOIDCScope(details.params.scope);
      const grantId = await grant.save();
      return await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
    } catch (err) {
      res.statusCode = 500;
      res.end(String(err));
    }
  })
  .listen(Number(port), '127.0.0.1', () => console.log(`idp listening on ${issuer}`));
