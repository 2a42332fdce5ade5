// The JWS JSON General Serialization form (every signature over one payload) checked as an outside integrator
// would, with jose (panva): each signature's kid (a DID URL) looked up in its signer's DID document, the key of
// that verification method (Multikey through Digital Bazaar's key libraries, JsonWebKey as is) imported, and
//   * each signature alone verified with flattenedVerify (a co-signature verifiable on its own),
//   * the whole General JWS with generalVerify and each signer's key (jose accepts it when a signature verifies),
//   * the same with the payload changed: refused.
// Nothing goes to the network: the DID documents come from stdin.
//
// stdin:  {"dids": {did: DID document}, "items": [{"name", "jws": {payload, signatures: [{protected, signature}]}}]}
// stdout: {"items": [{"name", "signatures": [{kid, alg, methodType, alone, general, tampered}], "payload"}]},
//         each check {"ok": true} or {"ok": false, "code", "message"}.
import fs from 'node:fs';
import { base64url, decodeProtectedHeader, flattenedVerify, generalVerify, importJWK } from 'jose';
import * as Ed25519Multikey from '@digitalbazaar/ed25519-multikey';
import * as EcdsaMultikey from '@digitalbazaar/ecdsa-multikey';

const input = JSON.parse(fs.readFileSync(0, 'utf8'));
const failure = error => ({ ok: false, code: error.code ?? null, message: String(error.message ?? error) });

async function keyFor(kid, alg) {
  const [did] = kid.split('#');
  const doc = input.dids[did];
  if (!doc) throw new Error(`no DID document for ${did}`);
  const method = (doc.verificationMethod ?? []).find(m => m.id === kid);
  if (!method) throw new Error(`${did}'s document has no verification method ${kid}`);
  if (!(doc.assertionMethod ?? []).includes(kid)) throw new Error(`${kid} is not an assertion method of ${did}`);
  let jwk;
  if (method.type === 'Multikey') {
    const library = method.publicKeyMultibase.startsWith('z6Mk') ? Ed25519Multikey : EcdsaMultikey;
    jwk = await library.toJwk({ keyPair: await library.from(method) });
  } else {
    jwk = method.publicKeyJwk;
  }
  return { type: method.type, key: await importJWK(jwk, alg) };
}

async function attempt(run) {
  try { await run(); return { ok: true }; } catch (error) { return failure(error); }
}

const items = [];
for (const { name, jws } of input.items) {
  const tamperedPayload = base64url.encode(
    JSON.stringify({ ...JSON.parse(new TextDecoder().decode(base64url.decode(jws.payload))), name: 'Master welder' }));
  const signatures = [];
  for (const signature of jws.signatures) {
    const header = decodeProtectedHeader(signature);
    const entry = { kid: header.kid, alg: header.alg };
    try {
      const { type, key } = await keyFor(header.kid, header.alg);
      entry.methodType = type;
      entry.alone = await attempt(() => flattenedVerify({ payload: jws.payload, ...signature }, key, { algorithms: [header.alg] }));
      entry.general = await attempt(() => generalVerify(jws, key, { algorithms: [header.alg] }));
      entry.tampered = await attempt(() => generalVerify({ ...jws, payload: tamperedPayload }, key, { algorithms: [header.alg] }));
    } catch (error) {
      entry.method = failure(error);
    }
    signatures.push(entry);
  }
  items.push({ name, signatures, payload: JSON.parse(new TextDecoder().decode(base64url.decode(jws.payload))) });
}
process.stdout.write(JSON.stringify({ items }));
