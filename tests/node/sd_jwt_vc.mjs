// An EU-wallet-style holder and verifier of an SD-JWT VC (dc+sd-jwt), with @sd-jwt/sd-jwt-vc 0.19,
// @sd-jwt/crypto-nodejs, @sd-jwt/jwt-status-list and jose; everything fetched over the network as a wallet
// does: the issuer's key from the JWT VC Issuer Metadata at the `iss` URL (/.well-known/jwt-vc-issuer
// inserted between host and path), the Type Metadata at the `vct` URL, the Status List Token at
// `status.status_list.uri` (Accept: application/statuslist+jwt, by sd-jwt-vc's own fetcher).
//
// Input: {"sdJwt": <the issued compact SD-JWT>, "holderJwk": <the holder's private P-256 JWK>,
//         "otherJwk": <another private P-256 JWK>, "nonce", "aud"}
// Output:
//  - "issued": {ok, error?, header, claims (every disclosed claim), disclosedKeys, vct, typeMetadata?}
//  - "status": {list: the value @sd-jwt/jwt-status-list reads at idx, token: {header, payload} of the
//    Status List Token (lst left out), verifyStatus: the value sd-jwt-vc's verify() handed its status
//    validator, or null}
//  - "presentation": {ok, error?, claims, disclosures: the number sent, kbHeader, kbPayload} for a
//    presentation with a KB-JWT signed by the holder key that discloses nothing selectively disclosable
//  - "partialPresentation": the same for one disclosing the name and the first result only
//  - "negative": {<case>: "accepted" or the error message} for forged and tampered inputs
import { SDJwtVcInstance } from '@sd-jwt/sd-jwt-vc';
import { digest, generateSalt, ES256 } from '@sd-jwt/crypto-nodejs';
import { getListFromStatusListJWT } from '@sd-jwt/jwt-status-list';
import { decodeSdJwt } from '@sd-jwt/decode';
import * as jose from 'jose';

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const { sdJwt, holderJwk, otherJwk, nonce, aud } = JSON.parse(Buffer.concat(chunks).toString('utf8'));

const publicOf = ({ d, ...rest }) => rest;
const b64json = (part) => JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
const errorOf = (e) => (e && e.message) || String(e);

// draft-ietf-oauth-sd-jwt-vc §5: the metadata URL is the issuer's with /.well-known/jwt-vc-issuer between host and path.
function metadataUrl(iss) {
  const url = new URL(iss);
  return `${url.origin}/.well-known/jwt-vc-issuer${url.pathname.replace(/\/$/, '')}`;
}

const fetched = [];
async function getJson(url) {
  const response = await fetch(url);
  fetched.push(url);
  if (!response.ok) throw new Error(`GET ${url}: ${response.status}`);
  return response.json();
}

// The issuer's key for a JWT (an SD-JWT VC or a Status List Token), found as a wallet finds it.
async function issuerKey(header, payload) {
  if (typeof payload.iss !== 'string' || !payload.iss.startsWith('http')) throw new Error('iss is not an https URL');
  const metadata = await getJson(metadataUrl(payload.iss));
  if (metadata.issuer !== payload.iss) throw new Error(`metadata names issuer ${metadata.issuer}, not ${payload.iss}`);
  const jwk = (metadata.jwks?.keys ?? []).find((k) => k.kid === header.kid);
  if (!jwk) throw new Error(`no key ${header.kid} in the issuer metadata`);
  const { status, ...clean } = jwk;
  return { key: await jose.importJWK(clean, header.alg), alg: header.alg };
}

// sd-jwt's verifier callback: (header.payload, signature) -> boolean.
async function verifier(data, signature) {
  const [h, p] = data.split('.');
  const header = b64json(h);
  const { key, alg } = await issuerKey(header, b64json(p));
  try {
    await jose.compactVerify(`${data}.${signature}`, key, { algorithms: [alg] });
    return true;
  } catch {
    return false;
  }
}

// The KB-JWT is checked against the cnf.jwk of the issuer-signed payload.
async function kbVerifier(data, signature, payload) {
  const jwk = payload?.cnf?.jwk;
  if (!jwk) throw new Error('no cnf.jwk in the SD-JWT VC');
  return (await ES256.getVerifier(jwk))(data, signature);
}

function wallet(signingJwk, statusSeen) {
  return new SDJwtVcInstance({
    hasher: digest,
    hashAlg: 'sha-256',
    saltGenerator: generateSalt,
    verifier,
    kbVerifier,
    kbSignAlg: 'ES256',
    kbSigner: async (data) => (await ES256.getSigner(signingJwk))(data),
    loadTypeMetadataFormat: true,
    statusValidator: async (status) => {
      statusSeen.value = status;
      if (status !== 0) throw new Error(`Status is not valid: ${status}`);
    },
  });
}

const out = { issued: {}, status: {}, presentation: {}, negative: {} };
const seen = { value: null };
const holder = wallet(holderJwk, seen);

// 1. The credential as the wallet receives it: signature, disclosures, status, type metadata.
try {
  const result = await holder.verify(sdJwt);
  const claims = await holder.getClaims(sdJwt);
  out.issued = {
    ok: true,
    header: result.header,
    claims,
    disclosedKeys: Object.keys(claims).sort(),
    vct: result.payload.vct,
    typeMetadata: result.typeMetadata?.mergedTypeMetadata ?? null,
  };
} catch (e) {
  out.issued = { ok: false, error: errorOf(e) };
}
out.status.verifyStatus = seen.value;

// 2. The Status List Token read with @sd-jwt/jwt-status-list, fetched as sd-jwt-vc fetches it.
try {
  const decoded = await decodeSdJwt(sdJwt, digest);
  const { uri, idx } = decoded.jwt.payload.status.status_list;
  const response = await fetch(uri, { headers: { Accept: 'application/statuslist+jwt' } });
  const token = await response.text();
  const [h, p, s] = token.split('.');
  const header = b64json(h);
  const payload = b64json(p);
  const { lst, ...list } = payload.status_list;
  out.status.token = { header, payload: { ...payload, status_list: list }, contentType: response.headers.get('content-type') };
  out.status.tokenSignature = await verifier(`${h}.${p}`, s);
  out.status.list = getListFromStatusListJWT(token).getStatus(idx);
} catch (e) {
  out.status.error = errorOf(e);
}

// 3. A presentation disclosing nothing selectively disclosable, bound to the holder key by a KB-JWT.
const kb = { payload: { iat: Math.floor(Date.now() / 1000), aud, nonce } };
let presentation;
try {
  presentation = await holder.present(sdJwt, {}, { kb });
  const verifierSide = wallet(holderJwk, { value: null });
  const result = await verifierSide.verify(presentation, { keyBindingNonce: nonce });
  const parts = presentation.split('~');
  out.presentation = {
    ok: true,
    claims: await verifierSide.getClaims(presentation),
    disclosures: parts.length - 2,
    kbHeader: result.kb?.header,
    kbPayload: result.kb?.payload,
  };
} catch (e) {
  out.presentation = { ok: false, error: errorOf(e) };
}

// 3b. A presentation disclosing the name and the first result only.
try {
  const partial = await holder.present(sdJwt, { name: true, results: { 0: true } }, { kb });
  const verifierSide = wallet(holderJwk, { value: null });
  await verifierSide.verify(partial, { keyBindingNonce: nonce });
  out.partialPresentation = { ok: true, claims: await verifierSide.getClaims(partial), disclosures: partial.split('~').length - 2 };
} catch (e) {
  out.partialPresentation = { ok: false, error: errorOf(e) };
}

// 4. Forgeries and tampering, each on its own.
async function attempt(name, encoded, options) {
  try {
    await wallet(holderJwk, { value: null }).verify(encoded, options);
    out.negative[name] = 'accepted';
  } catch (e) {
    out.negative[name] = errorOf(e);
  }
}
const [jwt, ...rest] = sdJwt.split('~');
const [h, p, s] = jwt.split('.');
const payload = b64json(p);
const flip = (text) => (text[0] === 'A' ? 'B' : 'A') + text.slice(1);
await attempt('signatureTampered', [`${h}.${p}.${flip(s)}`, ...rest].join('~'));
const renamed = { ...payload, achievement: { ...payload.achievement, name: 'Master welder' } };
await attempt('payloadTampered', [`${h}.${Buffer.from(JSON.stringify(renamed)).toString('base64url')}.${s}`, ...rest].join('~'));
// A disclosure the issuer never made: a date of birth of the holder's choosing.
const forged = Buffer.from(JSON.stringify([generateSalt(16), 'birthdate', '1970-01-01'])).toString('base64url');
// A disclosure that no digest names is dropped by the library: the forged claim must never reach the claims.
try {
  const forgedPresentation = [jwt, forged, ...rest].join('~');
  await wallet(holderJwk, { value: null }).verify(forgedPresentation);
  const claims = await holder.getClaims(forgedPresentation);
  out.negative.forgedDisclosure = `ignored: birthdate is ${claims.birthdate}`;
} catch (e) {
  out.negative.forgedDisclosure = errorOf(e);
}
// Someone else signs a look-alike with their own key (of the issuer key's type) under the issuer's kid.
const issuerHeader = b64json(h);
const { privateKey: otherKey } = await jose.generateKeyPair(
  issuerHeader.alg,
  issuerHeader.alg === 'EdDSA' ? { crv: 'Ed25519' } : {},
);
const forgedIssuer = await new jose.CompactSign(new TextEncoder().encode(JSON.stringify(payload)))
  .setProtectedHeader(issuerHeader)
  .sign(otherKey);
await attempt('otherIssuerKey', [forgedIssuer, ...rest].join('~'));
if (presentation) {
  const stolen = wallet(otherJwk, { value: null });
  await attempt('kbByAnotherKey', await stolen.present(sdJwt, {}, { kb }), { keyBindingNonce: nonce });
  await attempt('kbWrongNonce', presentation, { keyBindingNonce: `${nonce}-other` });
  await attempt('noKbJwt', sdJwt, { keyBindingNonce: nonce });
}
out.fetched = [...new Set(fetched)];

process.stdout.write(JSON.stringify(out));
