// An OpenID4VCI 1.0 wallet made of Animo's @openid4vc/openid4vci and @openid4vc/oauth2 (the libraries
// Credo's wallets use), with keys and signatures from jose: it resolves an offer, reads the issuer's
// metadata, redeems the offer (pre-authorized code + PIN, or the authorization code grant: it follows the
// authorization redirect and signs the learner in on the issuer's page with plain HTTP, PKCE S256), gets a
// nonce, proves possession of its key (ES256 or EdDSA; named by jwk, did:key or did:jwk) and fetches each
// credential configuration asked for. Then it checks what it got with libraries of its own:
//   jwt_vc_json: the issuer's did:web resolved by web-did-resolver, the signature and claims by jose.
// (The SD-JWT VC and the ldp_vc credential are handed to sd_jwt_vc.mjs and check_data_integrity.mjs.)
// The attacks a wallet-side test needs are made here too (wrong PIN, replayed code, stale nonce, a proof
// signed by another key than it names, a proof for another audience), recording the issuer's error bodies.
//
// stdin:  {"offer", "txCode", "grant": "pre-authorized"|"authorization_code", "login"?: {"redirectUri",
//          "email", "password"} (the wallet registers itself, RFC 7591), "wrongTxCode"?, "replay"?: bool, "replayLast"?: bool (after the credentials),
//          "requests": [{"configurationId", "keyAlg": "ES256"|"EdDSA", "binding": "jwk"|"did:key"|"did:jwk"}],
//          "attacks"?: ["stale_nonce", "other_key", "wrong_aud"]}
// stdout: {"credentialIssuer", "configurations", "token", "wrongTxCode"?, "replay"?, "credentials": [...],
//          "attacks": {...}}
import crypto from 'node:crypto';
import { Openid4vciClient } from '@openid4vc/openid4vci';
import { clientAuthenticationAnonymous, clientAuthenticationNone } from '@openid4vc/oauth2';
import { SignJWT, decodeProtectedHeader, exportJWK, generateKeyPair, importJWK, jwtVerify } from 'jose';
import { Resolver } from 'did-resolver';
import { getResolver } from 'web-did-resolver';
import * as Ed25519Multikey from '@digitalbazaar/ed25519-multikey';
import * as EcdsaMultikey from '@digitalbazaar/ecdsa-multikey';

const input = JSON.parse(await new Promise(resolve => {
  let text = '';
  process.stdin.on('data', chunk => { text += chunk; });
  process.stdin.on('end', () => resolve(text));
}));

const failure = error => ({
  ok: false,
  message: String(error.message ?? error),
  errorResponse: error.errorResponse ?? error.response?.credentialErrorResponseResult?.data ?? null,
  status: error.response?.response?.status ?? error.response?.status ?? null,
});

// --- keys and DIDs -----------------------------------------------------------------------------------

const B58 = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';
function base58btc(bytes) {
  let number = BigInt('0x' + (Buffer.from(bytes).toString('hex') || '0'));
  let out = '';
  while (number > 0n) { out = B58[Number(number % 58n)] + out; number /= 58n; }
  for (const byte of bytes) { if (byte !== 0) break; out = '1' + out; }
  return out;
}

async function newKey(alg, binding) {
  const { publicKey, privateKey } = await generateKeyPair(alg, { crv: alg === 'EdDSA' ? 'Ed25519' : undefined, extractable: true });
  const jwk = await exportJWK(publicKey);
  const publicJwk = alg === 'EdDSA' ? { kty: 'OKP', crv: 'Ed25519', x: jwk.x } : { kty: 'EC', crv: 'P-256', x: jwk.x, y: jwk.y };
  let did, didUrl;
  if (binding === 'did:key') {
    let raw;
    if (alg === 'EdDSA') {
      raw = Buffer.concat([Buffer.from([0xed, 0x01]), Buffer.from(jwk.x, 'base64url')]);
    } else {
      const y = Buffer.from(jwk.y, 'base64url');
      raw = Buffer.concat([Buffer.from([0x80, 0x24, (y[y.length - 1] & 1) ? 3 : 2]), Buffer.from(jwk.x, 'base64url')]);
    }
    const id = 'z' + base58btc(raw);
    did = `did:key:${id}`; didUrl = `${did}#${id}`;
  } else {
    did = 'did:jwk:' + Buffer.from(JSON.stringify(publicJwk)).toString('base64url');
    didUrl = `${did}#0`;
  }
  const signer = binding === 'jwk' ? { method: 'jwk', alg, publicJwk } : { method: 'did', alg, didUrl };
  return { alg, binding, publicJwk, privateKey, privateJwk: await exportJWK(privateKey), did, didUrl, signer };
}

let signingKey = null; // the key signJwt signs with, set before each proof
let walletClientId = null; // set by dynamic client registration (RFC 7591) for the authorization code grant
const callbacks = {
  fetch,
  hash: (data, alg) => new Uint8Array(crypto.createHash(alg.replace('-', '')).update(data).digest()),
  generateRandom: n => new Uint8Array(crypto.randomBytes(n)),
  signJwt: async (signer, { header, payload }) => ({
    jwt: await new SignJWT(payload).setProtectedHeader(header).sign(signingKey.privateKey),
    signerJwk: signingKey.publicJwk,
  }),
  // A public client once registered (authorization code grant), anonymous otherwise (pre-authorized code).
  clientAuthentication: options => (walletClientId
    ? clientAuthenticationNone({ clientId: walletClientId })
    : clientAuthenticationAnonymous())(options),
};
const client = new Openid4vciClient({ callbacks });

// --- the issuer's side, read --------------------------------------------------------------------------

const output = { attacks: {}, credentials: [] };
const credentialOffer = await client.resolveCredentialOffer(input.offer);
const issuerMetadata = await client.resolveIssuerMetadata(credentialOffer.credential_issuer);
output.credentialIssuer = issuerMetadata.credentialIssuer.credential_issuer;
output.configurations = Object.fromEntries(Object.entries(issuerMetadata.credentialIssuer.credential_configurations_supported)
  .map(([id, c]) => [id, c.format]));
output.offeredConfigurations = credentialOffer.credential_configuration_ids;
output.offerGrants = Object.keys(credentialOffer.grants ?? {});
output.offerCarriesTxCode = JSON.stringify(credentialOffer).includes(input.txCode ?? '\u0000never');

// --- the grant --------------------------------------------------------------------------------------

async function preAuthorizedToken(txCode) {
  return client.retrievePreAuthorizedCodeAccessTokenFromOffer({ credentialOffer, issuerMetadata, txCode });
}

function hiddenFields(html) {
  const fields = {};
  for (const match of html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) {
    fields[match[1]] = match[2].replaceAll('&amp;', '&').replaceAll('&quot;', '"').replaceAll('&#x27;', "'")
      .replaceAll('&lt;', '<').replaceAll('&gt;', '>');
  }
  return fields;
}

// The wallet registers itself as a public client (RFC 7591) at the authorization server's registration endpoint,
// for the scopes of the configurations it was offered.
async function register() {
  const server = credentialOffer.grants.authorization_code.authorization_server ?? output.credentialIssuer;
  const metadata = await (await fetch(new URL('/.well-known/oauth-authorization-server', server))).json();
  const scopes = credentialOffer.credential_configuration_ids
    .map(id => issuerMetadata.credentialIssuer.credential_configurations_supported[id].scope);
  const response = await fetch(metadata.registration_endpoint, {
    method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({
      client_name: 'Test wallet', client_uri: 'https://wallet.example', logo_uri: 'https://wallet.example/logo.png',
      tos_uri: 'https://wallet.example/tos', policy_uri: 'https://wallet.example/privacy',
      software_id: 'guildhall-test-wallet', software_version: '1', redirect_uris: [input.login.redirectUri],
      scope: scopes.join(' '), token_endpoint_auth_method: 'none', grant_types: ['authorization_code'],
    }),
  });
  const registered = await response.json();
  if (response.status !== 201) throw new Error(`registration answered ${response.status}: ${JSON.stringify(registered)}`);
  walletClientId = registered.client_id;
  output.registeredScopes = registered.scope;
}

let lastAuthorization = null; // {code, verifier}: to replay the code
async function authorizationCodeToken(reuse = null) {
  const { login } = input;
  if (reuse) {
    return client.retrieveAuthorizationCodeAccessTokenFromOffer({
      issuerMetadata, credentialOffer, authorizationCode: reuse.code, pkceCodeVerifier: reuse.verifier,
      redirectUri: login.redirectUri,
    });
  }
  if (!walletClientId) await register();
  const started = await client.initiateAuthorization({
    clientId: walletClientId, issuerMetadata, credentialOffer, redirectUri: login.redirectUri,
  });
  output.authorizationRequestUrl = started.authorizationRequestUrl;
  const page = await fetch(started.authorizationRequestUrl, { redirect: 'manual' });
  const html = await page.text();
  if (page.status !== 200) throw new Error(`the authorization page answered ${page.status}: ${html.slice(0, 500)}`);
  const form = new URLSearchParams({ ...hiddenFields(html), email: login.email, password: login.password, decision: 'allow' });
  const action = new URL('/oauth/authorize', started.authorizationServer);
  const decided = await fetch(action, { method: 'POST', body: form, redirect: 'manual' });
  const location = decided.headers.get('location');
  if (decided.status !== 302 || !location) throw new Error(`signing in answered ${decided.status}: ${(await decided.text()).slice(0, 500)}`);
  const redirect = new URL(location);
  output.redirectedTo = location.split('?')[0];
  if (redirect.searchParams.get('error')) {
    throw Object.assign(new Error(`the authorization was refused: ${redirect.searchParams.get('error')}`), {
      errorResponse: Object.fromEntries(redirect.searchParams), response: { status: decided.status },
    });
  }
  const code = redirect.searchParams.get('code');
  lastAuthorization = { code, verifier: started.pkce?.codeVerifier };
  output.authorizationRequest = Object.fromEntries(new URL(started.authorizationRequestUrl).searchParams);
  return client.retrieveAuthorizationCodeAccessTokenFromOffer({
    issuerMetadata, credentialOffer, authorizationCode: code, pkceCodeVerifier: started.pkce?.codeVerifier,
    redirectUri: login.redirectUri,
  });
}

if (input.wrongTxCode) {
  try {
    await preAuthorizedToken(input.wrongTxCode);
    output.wrongTxCode = { ok: true };
  } catch (error) {
    output.wrongTxCode = failure(error);
  }
}
const { accessTokenResponse } = input.grant === 'authorization_code' ? await authorizationCodeToken() : await preAuthorizedToken(input.txCode);
output.token = { token_type: accessTokenResponse.token_type, authorization_details: accessTokenResponse.authorization_details ?? null,
  scope: accessTokenResponse.scope ?? null };
const accessToken = accessTokenResponse.access_token;
async function replay() {
  // The offer again: the same pre-authorized code, or (authorization code grant) a new authorization naming the
  // same issuer_state; and for that grant, the same authorization code again.
  try {
    await (input.grant === 'authorization_code' ? authorizationCodeToken() : preAuthorizedToken(input.txCode));
    output.replay = { ok: true };
  } catch (error) {
    output.replay = failure(error);
  }
  // The token the first redemption got is revoked by the replay: a credential request with it fails.
  const target = input.requests[0]?.configurationId;
  if (target) {
    try {
      const key = await newKey('ES256', 'jwk');
      const { c_nonce: nonce } = await client.requestNonce({ issuerMetadata });
      await fetchCredential(target, (await proofFor(key, target, nonce)).jwt);
      output.afterReplay = { ok: true };
    } catch (error) {
      output.afterReplay = failure(error);
    }
  }
  if (input.grant === 'authorization_code') {
    try {
      await authorizationCodeToken(lastAuthorization);
      output.replayCode = { ok: true };
    } catch (error) {
      output.replayCode = failure(error);
    }
  }
}

if (input.replay && !input.replayLast) await replay();

// --- the credentials --------------------------------------------------------------------------------

async function proofFor(key, configurationId, nonce) {
  signingKey = key;
  return client.createCredentialRequestJwtProof({ issuerMetadata, credentialConfigurationId: configurationId, signer: key.signer, nonce });
}

async function fetchCredential(configurationId, proofJwt) {
  const response = await client.retrieveCredentials({ issuerMetadata, accessToken, credentialConfigurationId: configurationId, proofs: { jwt: [proofJwt] } });
  return response.credentialResponse.credentials[0].credential;
}

const resolver = new Resolver(getResolver());
async function methodJwk(method) {
  if (method.publicKeyJwk) return method.publicKeyJwk;
  const library = method.publicKeyMultibase.startsWith('z6Mk') ? Ed25519Multikey : EcdsaMultikey;
  return library.toJwk({ keyPair: await library.from(method) });
}

// Whether a DID names this wallet key: the same did:key, or a did:jwk whose JWK is this public key (member
// order in a did:jwk is the issuer's choice, so the keys are compared, not the strings).
function namesKey(did, key) {
  if (typeof did !== 'string') return false;
  if (did.startsWith('did:jwk:')) {
    const jwk = JSON.parse(Buffer.from(did.slice(8).split('#')[0], 'base64url').toString());
    return ['kty', 'crv', 'x', 'y'].every(n => jwk[n] === key.publicJwk[n]);
  }
  return did === key.did;
}

async function verifyJwtVcJson(token, key) {
  const header = decodeProtectedHeader(token);
  const { didDocument } = await resolver.resolve(header.kid.split('#')[0]);
  const method = didDocument.verificationMethod.find(m => m.id === header.kid);
  const { payload } = await jwtVerify(token, await importJWK(await methodJwk(method), header.alg), { algorithms: [header.alg] });
  return {
    ok: true, header, sub: payload.sub, subjectId: payload.credentialSubject?.id, boundToHolder: namesKey(payload.sub, key)
      && payload.credentialSubject?.id === payload.sub, credentialId: payload.id, credentialStatus: payload.credentialStatus ?? null,
    achievement: payload.credentialSubject?.achievement?.name ?? null,
  };
}

for (const request of input.requests) {
  const key = await newKey(request.keyAlg, request.binding);
  // The private key too, so that the test can hand the holder's key to a checker that presents (KB-JWT).
  const entry = { ...request, holder: { did: key.did, jwk: key.publicJwk, privateJwk: key.privateJwk } };
  try {
    const { c_nonce: nonce } = await client.requestNonce({ issuerMetadata });
    const { jwt } = await proofFor(key, request.configurationId, nonce);
    entry.proofHeader = decodeProtectedHeader(jwt);
    entry.credential = await fetchCredential(request.configurationId, jwt);
    const format = output.configurations[request.configurationId];
    entry.format = format;
    if (format === 'jwt_vc_json') entry.verified = await verifyJwtVcJson(entry.credential, key);
  } catch (error) {
    entry.error = failure(error);
  }
  output.credentials.push(entry);
}

// --- attacks ----------------------------------------------------------------------------------------

async function attempt(name, run) {
  try {
    await run();
    output.attacks[name] = { ok: true };
  } catch (error) {
    output.attacks[name] = failure(error);
  }
}

const target = input.requests[0]?.configurationId;
for (const name of input.attacks ?? []) {
  const key = await newKey('ES256', 'jwk');
  if (name === 'stale_nonce') {
    await attempt(name, async () => {
      const { c_nonce: nonce } = await client.requestNonce({ issuerMetadata });
      await fetchCredential(target, (await proofFor(key, target, nonce)).jwt); // uses the nonce up
      await fetchCredential(target, (await proofFor(key, target, nonce)).jwt);
    });
  } else if (name === 'other_key') {
    await attempt(name, async () => {
      const other = await newKey('ES256', 'jwk');
      const { c_nonce: nonce } = await client.requestNonce({ issuerMetadata });
      signingKey = other; // signs with one key, names another in its jwk header
      const { jwt } = await client.createCredentialRequestJwtProof({ issuerMetadata, credentialConfigurationId: target, signer: key.signer, nonce });
      await fetchCredential(target, jwt);
    });
  } else if (name === 'wrong_aud') {
    await attempt(name, async () => {
      const { c_nonce: nonce } = await client.requestNonce({ issuerMetadata });
      const jwt = await new SignJWT({ aud: 'https://issuer.example', nonce, iat: Math.floor(Date.now() / 1000) })
        .setProtectedHeader({ alg: 'ES256', typ: 'openid4vci-proof+jwt', jwk: key.publicJwk }).sign(key.privateKey);
      await fetchCredential(target, jwt);
    });
  }
}

if (input.replay && input.replayLast) await replay();

process.stdout.write(JSON.stringify(output));
