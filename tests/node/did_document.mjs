// A DID document expanded by jsonld.js in safe mode (a term no context defines is an error, not a
// silent drop), offline: the DID v1 context from did-context, Multikey v1 from
// @digitalbazaar/multikey-context; any other context URL fails the load.
// stdin: {"document": {...}}   stdout: {"ok": true, "expanded": [...]} or {"ok": false, "message": "..."}
import jsonld from 'jsonld';
import didContext from 'did-context';
import multikeyContext from '@digitalbazaar/multikey-context';

const input = JSON.parse(await new Promise(resolve => {
  let text = '';
  process.stdin.on('data', chunk => { text += chunk; });
  process.stdin.on('end', () => resolve(text));
}));

const contexts = new Map([...didContext.contexts, ...multikeyContext.contexts]);
const documentLoader = async url => {
  if (!contexts.has(url)) throw new Error(`no offline copy of ${url}`);
  return { contextUrl: null, documentUrl: url, document: contexts.get(url) };
};

try {
  const expanded = await jsonld.expand(input.document, { documentLoader, safe: true });
  process.stdout.write(JSON.stringify({ ok: true, expanded }));
} catch (error) {
  process.stdout.write(JSON.stringify({ ok: false, message: String(error.message ?? error) }));
}
