// VC-JWTs checked as an outside integrator would: the issuer's did:web resolved over https by
// web-did-resolver (Decentralized Identity Foundation), the header's kid dereferenced to a verification
// method of that DID document, the JWT verified by jose (panva) with that key, and the credential by
// did-jwt-vc's verifyCredential (uPort/Veramo's did-jwt underneath).
//
// stdin:  {"credentials": [{"token": "<compact JWS>", "at": <seconds since the epoch, or null for now>}]}
// stdout: {"credentials": [{"header", "method", "jose", "didJwtVc", "didJwtVcDataModel"}]}, each check
//         {"ok": true, ...} or {"ok": false, "code"?, "message"}.
//
// did:web resolves over https: the test server presents a certificate of the test's own authority,
// which Node trusts through NODE_EXTRA_CA_CERTS; nothing is rewritten or stubbed.
import { decodeProtectedHeader, importJWK, jwtVerify } from 'jose';
import { Resolver } from 'did-resolver';
import { getResolver } from 'web-did-resolver';
import { verifyCredential } from 'did-jwt-vc';
import * as Ed25519Multikey from '@digitalbazaar/ed25519-multikey';
import * as EcdsaMultikey from '@digitalbazaar/ecdsa-multikey';

const input = JSON.parse(await new Promise(resolve => {
  let text = '';
  process.stdin.on('data', chunk => { text += chunk; });
  process.stdin.on('end', () => resolve(text));
}));

const resolver = new Resolver(getResolver());
const failure = error => ({ ok: false, code: error.code ?? null, message: String(error.message ?? error) });

// The public JWK of a verification method: Multikeys through Digital Bazaar's key libraries.
async function publicJwk(method) {
  if (method.type === 'JsonWebKey2020' || method.type === 'JsonWebKey') {
    return method.publicKeyJwk;
  }
  if (method.type !== 'Multikey') {
    throw new Error(`unsupported verification method type ${method.type}`);
  }
  const library = method.publicKeyMultibase.startsWith('z6Mk') ? Ed25519Multikey : EcdsaMultikey;
  return library.toJwk({ keyPair: await library.from(method) });
}

async function check({ token, at }) {
  const header = decodeProtectedHeader(token);
  const result = { header };
  const moment = at ?? Math.floor(Date.now() / 1000);

  // 1. The kid is a DID URL: resolve its DID, find the verification method it names.
  let key;
  try {
    const did = header.kid.split('#')[0];
    const { didDocument, didResolutionMetadata } = await resolver.resolve(did);
    if (!didDocument) throw new Error(`${did} did not resolve: ${didResolutionMetadata.message}`);
    const method = (didDocument.verificationMethod ?? []).find(m => m.id === header.kid);
    if (!method) throw new Error(`${did}'s document has no verification method ${header.kid}`);
    result.method = {
      ok: true, id: method.id, type: method.type, controller: method.controller,
      assertionMethod: (didDocument.assertionMethod ?? []).includes(method.id),
    };
    key = await importJWK(await publicJwk(method), header.alg);
  } catch (error) {
    result.method = failure(error);
  }

  // 2. jose: signature, then the registered claims (nbf, exp) at the moment asked for.
  if (key) {
    try {
      const { payload } = await jwtVerify(token, key, {
        algorithms: [header.alg], currentDate: new Date(moment * 1000),
      });
      result.jose = { ok: true, payload };
    } catch (error) {
      result.jose = failure(error);
    }
  } else {
    result.jose = { ok: false, code: null, message: 'no key: the kid did not resolve' };
  }

  // 3. did-jwt-vc: iss resolved through the DID resolver, the signature against its verification
  //    methods, nbf/exp at the moment asked for. Its data-model policy ("format") checks the VC 1.1
  //    data model (context https://www.w3.org/2018/credentials/v1), so a VC 2.0 credential is read
  //    with that policy off, and with it on to record what it says.
  try {
    const verified = await verifyCredential(token, resolver, { policies: { now: moment, format: false } });
    result.didJwtVc = {
      ok: true, signer: verified.signer.id, issuer: verified.issuer,
      credentialId: verified.verifiableCredential.id,
    };
  } catch (error) {
    result.didJwtVc = failure(error);
  }
  try {
    await verifyCredential(token, resolver, { policies: { now: moment } });
    result.didJwtVcDataModel = { ok: true };
  } catch (error) {
    result.didJwtVcDataModel = failure(error);
  }
  return result;
}

const credentials = [];
for (const item of input.credentials) {
  credentials.push(await check(item));
}
process.stdout.write(JSON.stringify({ credentials }));
