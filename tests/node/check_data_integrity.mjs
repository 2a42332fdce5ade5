// Verifies Guildhall's credential JSON (Data Integrity proof sets) with independent implementations:
//   * @digitalbazaar/vc with DataIntegrityProof + eddsa-rdfc-2022 / ecdsa-rdfc-2019 cryptosuites on the
//     whole credential (jsonld-signatures accepts a proof set when ANY proof verifies), then each proof
//     alone: by jsonld-signatures as an assertion of its key's controller, and by @digitalbazaar/vc as the
//     issuer's (which the awarding body's proof must pass and a co-signer's cannot: it is not the issuer);
//   * @digitalcredentials/verifier-core, what the Learner Credential Wallet runs (its own document loader,
//     its own contexts; what it would fetch over HTTP is served from the documents passed in);
//   * jsonld.expand in safe mode, with the npm packages' contexts (whose VC 2.0 context has no @vocab), of
//     the credential and of the credential with its proofs, and a scan of the expansion for IRIs of the
//     W3C context's issuer-dependent @vocab; entries with "only": "safe" get this check alone.
// Nothing goes to the network: every document comes from stdin or the npm packages.
//
// stdin: {"documents": {url-or-did: json}, "credentials": [{"name", "credential", "status"?: true}], "now"?: iso}
//   documents hold the test server's own context, its DID documents (by DID) and status list credentials.
// stdout: {"results": [{"name", "vc": {...}, "proofs": [{...}], "verifierCore": {...}, "safe": {...}}]}
import fs from 'node:fs';
import jsonld from 'jsonld';
import * as vc from '@digitalbazaar/vc';
import {DataIntegrityProof} from '@digitalbazaar/data-integrity';
import jsigs from 'jsonld-signatures';
import {cryptosuite as eddsa} from '@digitalbazaar/eddsa-rdfc-2022-cryptosuite';
import {cryptosuite as ecdsa} from '@digitalbazaar/ecdsa-rdfc-2019-cryptosuite';
import * as credentialsContext from '@digitalbazaar/credentials-context';
import * as dataIntegrityContext from '@digitalbazaar/data-integrity-context';
import * as multikeyContext from '@digitalbazaar/multikey-context';
import * as didContext from 'did-context';
import * as statusContext from '@digitalbazaar/vc-bitstring-status-list-context';
import {checkStatus as bitstringCheckStatus} from '@digitalbazaar/vc-bitstring-status-list';

const input = JSON.parse(fs.readFileSync(0, 'utf8'));
const documents = new Map(Object.entries(input.documents || {}));
const strip = url => url.replace(/^https?:\/\//, '');
const byHostPath = new Map([...documents].map(([url, doc]) => [strip(url), doc]));

// The standard contexts, from the npm packages.
const standard = new Map();
for(const [url, doc] of credentialsContext.contexts) standard.set(url, doc);
for(const [url, doc] of dataIntegrityContext.contexts) standard.set(url, doc);
standard.set(multikeyContext.CONTEXT_URL, multikeyContext.CONTEXT);
standard.set(didContext.constants.DID_CONTEXT_URL, didContext.contexts.get(didContext.constants.DID_CONTEXT_URL));
standard.set(statusContext.CONTEXT_URL, statusContext.CONTEXT);
// Contexts passed in (e.g. the OB 3.0.3 context, the W3C copy of VC 2.0) take precedence only where asked.
for(const [url, doc] of Object.entries(input.contexts || {})) standard.set(url, doc);

function didDocument(did) {
  const doc = documents.get(did);
  if(!doc) throw new Error(`no DID document for ${did}`);
  return doc;
}

async function documentLoader(url) {
  if(standard.has(url)) return {contextUrl: null, documentUrl: url, document: standard.get(url)};
  if(url.startsWith('did:')) {
    const [did, fragment] = url.split('#');
    const doc = didDocument(did);
    if(!fragment) return {contextUrl: null, documentUrl: url, document: doc};
    const method = (doc.verificationMethod || []).find(m => m.id === url || m.id === '#' + fragment);
    if(!method) throw new Error(`${did} has no verification method ${url}`);
    return {contextUrl: null, documentUrl: url, document: {'@context': doc['@context'], ...method}};
  }
  const doc = documents.get(url) || byHostPath.get(strip(url));
  if(doc) return {contextUrl: null, documentUrl: url, document: doc};
  throw new Error(`document not served offline: ${url}`);
}

// verifier-core fetches what its static loader lacks (our context, did:web documents, status lists and the
// OB JSON schema) over HTTP: served from the documents passed in, every other URL a 404.
globalThis.fetch = async (resource) => {
  const url = typeof resource === 'string' ? resource : resource.url;
  let doc = documents.get(url) || byHostPath.get(strip(url));
  const didWeb = strip(url).match(/^(.+)\/did\.json$/);
  if(!doc && didWeb) {
    const did = 'did:web:' + didWeb[1].split('/').map(decodeURIComponent).map(s => s.replace(/:/g, '%3A')).join(':');
    doc = documents.get(did);
  }
  if(!doc) return new Response('not found', {status: 404, headers: {'content-type': 'text/plain'}});
  return new Response(JSON.stringify(doc), {status: 200, headers: {'content-type': 'application/json'}});
};

const suite = [new DataIntegrityProof({cryptosuite: eddsa}), new DataIntegrityProof({cryptosuite: ecdsa})];
// By default status is left to the status-list checkers (a status check that reports and passes); an entry with
// "status": true has @digitalbazaar/vc check it with @digitalbazaar/vc-bitstring-status-list, the list credential's
// own proof verified and its issuer matched. That library's verified means the check ran; each result's status
// (true: the bit is set) says whether the credential is revoked or suspended: reported as "status".
const noStatus = async () => ({verified: true});
const bitstringStatus = async ({credential}) => bitstringCheckStatus({
  credential, documentLoader, suite, verifyBitstringStatusListCredential: true, verifyMatchingIssuers: true,
});

function summary(result) {
  const errors = [];
  const status = result.statusResult
    ? {verified: !!result.statusResult.verified, error: result.statusResult.error ? String(result.statusResult.error.message || result.statusResult.error) : undefined,
       results: (result.statusResult.results || []).map(r => ({purpose: r.credentialStatus && r.credentialStatus.statusPurpose, status: r.status, verified: r.verified}))}
    : undefined;
  const collect = e => { if(e) errors.push(String(e.message || e)); };
  collect(result.error);
  for(const r of result.results || []) { collect(r.error); }
  if(result.error && result.error.errors) result.error.errors.forEach(collect);
  return {verified: !!result.verified, errors, ...(status ? {status} : {})};
}

async function verifyWithVc(credential, withStatus = false) {
  const checkStatus = withStatus ? bitstringStatus : noStatus;
  try {
    return summary(await vc.verifyCredential({credential, suite, documentLoader, checkStatus}));
  } catch(e) {
    return {verified: false, errors: [String(e.message || e)]};
  }
}

// One proof alone, as an assertion by its verification method's controller (its key listed in the
// controller's assertionMethod): what a co-signer's proof is. @digitalbazaar/vc's own check adds that the
// controller is the credential's issuer, which holds for the awarding body's proof only.
async function verifyAssertion(credential) {
  try {
    const result = await jsigs.verify(credential, {suite, purpose: new jsigs.purposes.AssertionProofPurpose(), documentLoader});
    return summary(result);
  } catch(e) {
    return {verified: false, errors: [String(e.message || e)]};
  }
}

async function safeExpansion(credential, keepProof = false) {
  const withoutProof = {...credential};
  if(!keepProof) delete withoutProof.proof;
  // Every term dropped (not just the first that safe mode stops at), then safe mode itself.
  const dropped = new Set();
  const eventHandler = ({event, next}) => {
    if(event.details && (event.details.property || event.details.value)) {
      dropped.add(`${event.code}: ${event.details.property || JSON.stringify(event.details.value)}`);
    } else dropped.add(`${event.code}: ${event.message}`);
  };
  try {
    await jsonld.expand(withoutProof, {documentLoader, eventHandler});
  } catch(e) { dropped.add(`error: ${e.message}`); }
  try {
    const expanded = await jsonld.expand(withoutProof, {documentLoader, safe: true});
    const text = JSON.stringify(expanded);
    const issuerDependent = [...new Set(text.match(/https:\/\/www\.w3\.org\/ns\/credentials\/issuer-dependent#[A-Za-z0-9_]+/g) || [])];
    const relative = [...new Set((text.match(/"@(id|type)":"[^"]*"/g) || []).filter(m => !/"@(id|type)":"([a-z][a-z0-9+.-]*:|_:)/.test(m)))];
    return {ok: issuerDependent.length === 0 && relative.length === 0 && dropped.size === 0, issuerDependent, relative, dropped: [...dropped]};
  } catch(e) {
    return {ok: false, error: String(e.message || e), dropped: [...dropped]};
  }
}

async function verifierCore(credential) {
  const {verifyCredential} = await import('@digitalcredentials/verifier-core');
  const result = await verifyCredential({credential, knownDIDRegistries: []});
  const log = (result.log || []).map(e => ({id: e.id, valid: e.valid, ...(e.error ? {error: String(e.error.message || e.error.name || e.error)} : {})}));
  const errors = (result.errors || []).map(e => ({name: e.name, message: e.message}));
  const signature = log.find(e => e.id === 'valid_signature');
  return {signatureValid: !!(signature && signature.valid) && errors.length === 0, log, errors};
}

const results = [];
for(const {name, credential, only, status} of input.credentials) {
  if(only === 'safe') {  // a form checked for its JSON-LD alone (e.g. the JwtProof2020 form handed out before)
    results.push({name, safe: await safeExpansion(credential), safeWithProof: await safeExpansion(credential, true)});
    continue;
  }
  const proofs = Array.isArray(credential.proof) ? credential.proof : [credential.proof];
  const each = [];
  for(const proof of proofs) {
    if(proof.type !== 'DataIntegrityProof') { each.push({type: proof.type, skipped: 'not a Data Integrity proof'}); continue; }
    const alone = {...credential, proof};
    each.push({
      verificationMethod: proof.verificationMethod,
      cryptosuite: proof.cryptosuite,
      ...(await verifyAssertion(alone)),
      asIssuer: await verifyWithVc(alone),
    });
  }
  results.push({
    name,
    vc: await verifyWithVc(credential, !!status),
    proofs: each,
    verifierCore: input.verifierCore === false ? null : await verifierCore(credential),
    safe: await safeExpansion(credential),
    safeWithProof: await safeExpansion(credential, true),
  });
}
process.stdout.write(JSON.stringify({results}));
