// Multikey encodings by Digital Bazaar's own key libraries, for comparison with Guildhall's.
// stdin: {"keys": [{"jwk": {...}, "publicKeyMultibase": "z..."}]}
// stdout: {"keys": [{"fromJwk": "z...", "toJwk": {...}}]}: the multibase these libraries make of the JWK,
// and the JWK they read back from the multibase Guildhall published.
import * as Ed25519Multikey from '@digitalbazaar/ed25519-multikey';
import * as EcdsaMultikey from '@digitalbazaar/ecdsa-multikey';

const input = JSON.parse(await new Promise(resolve => {
  let text = '';
  process.stdin.on('data', chunk => { text += chunk; });
  process.stdin.on('end', () => resolve(text));
}));

const suite = jwk => (jwk.kty === 'OKP' ? Ed25519Multikey : EcdsaMultikey);
const controller = 'did:example:checker';
const keys = [];
for (const {jwk, publicKeyMultibase} of input.keys) {
  const library = suite(jwk);
  const fromJwk = await library.fromJwk({jwk, id: `${controller}#k`, controller});
  const published = await library.from({
    type: 'Multikey', id: `${controller}#k`, controller, publicKeyMultibase,
  });
  keys.push({
    fromJwk: fromJwk.publicKeyMultibase,
    toJwk: await library.toJwk({keyPair: published}),
  });
}
process.stdout.write(JSON.stringify({keys}));
