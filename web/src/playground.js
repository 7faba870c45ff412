// The playground: a request built from its fields by the core's own
// encoders, its bytes explained; and bytes typed by hand, decoded.
import { encode_request, encode_upload, decode_exchange } from 'ferry-wasm';
import { el } from './dom.js';
import { state } from './state.js';
import { t, reasonOf } from './words.js';
import { hex2, parseHex } from './format.js';
import { messageDetail } from './message.js';
import { findingItem } from './findings.js';

/** Each operation's fields, in the order the request carries them (an
 *  upload's body follows once the server accepts it). */
const OPS = {
  DOWNLOAD: ['name'],
  LIST: [],
  UPLOAD: ['name', 'body'],
  RESUME: ['name', 'position', 'md5'],
  MGET: ['mask'],
  AUTH: ['user', 'pass'],
};

/** What the playground's fields hold. */
export const playground = {
  op: 'DOWNLOAD',
  name: 'hello.txt',
  body: 'Hello, ferry!\n',
  position: '5',
  md5: 'd41d8cd98f00b204e9800998ecf8427e',
  mask: 'docs/*.txt',
  user: 'alice',
  pass: 'secret',
  client: '0a 00 00 00 09 68 65 6c 6c 6f 2e 74 78 74',
  server: '00 00 00 00 05 48 65 6c 6c 6f',
};

/** The form for the chosen operation, its bytes and, if typed bytes were
 *  decoded, those again (in the language now chosen). */
export function renderPlayground() {
  const form = document.getElementById('playground-form');
  form.replaceChildren();
  const opSelect = el('select', {
    id: 'pg-op',
    'data-testid': 'playground-op',
    onchange: (e) => { playground.op = e.target.value; renderPlayground(); },
  }, Object.keys(OPS).map((op) => el('option', { value: op, selected: op === playground.op }, op)));
  form.append(el('label', { for: 'pg-op' }, t('op')), opSelect);
  for (const key of OPS[playground.op]) {
    const attrs = {
      id: `pg-${key}`,
      'data-testid': `playground-${key}`,
      spellcheck: 'false',
      oninput: (e) => { playground[key] = e.target.value; renderRequest(); },
    };
    const input = key === 'body'
      ? el('textarea', { ...attrs, rows: 2 })
      : el('input', { ...attrs, value: playground[key], type: key === 'position' ? 'number' : 'text', min: key === 'position' ? 0 : null });
    if (key === 'body') input.value = playground.body;
    form.append(el('label', { for: `pg-${key}` }, t(key)), input);
  }
  renderRequest();
  if (state.pasted) decodePasted();
}

/** The client's bytes for the form as it is (throws the core's refusal). */
function encode() {
  const p = playground;
  if (p.op === 'UPLOAD') return encode_upload(p.name, new TextEncoder().encode(p.body));
  const position = Math.max(0, Math.min(0xffffffff, Number(p.position) || 0));
  return encode_request(p.op, p.name, position, p.md5, p.mask, p.user, p.pass);
}

/** The request's bytes and each message they hold, explained. */
function renderRequest() {
  const out = document.getElementById('playground-out');
  out.replaceChildren();
  let bytes;
  try {
    bytes = encode();
  } catch (e) {
    // The core says why, in both languages.
    out.append(el('p', { class: 'error', role: 'status' }, t('encode_error', { reason: reasonOf(e).reason })));
    return;
  }
  out.append(el('h4', {}, t('request_bytes')));
  out.append(el('p', { class: 'mono', 'data-testid': 'playground-bytes' }, Array.from(bytes, hex2).join(' ')));
  // An upload's size and body follow the server's status 0.
  const upload = playground.op === 'UPLOAD';
  if (upload) out.append(el('p', { class: 'hint' }, t('upload_assumes')));
  const decoded = JSON.parse(decode_exchange(bytes, upload ? new Uint8Array([0]) : new Uint8Array()));
  const bytesOf = (offset, len) => bytes.slice(offset, offset + len);
  decoded.messages
    .filter((m) => m.direction === 'to_server')
    .forEach((m, i) => out.append(messageDetail(m, bytesOf, { scope: i ? `playground-${i}` : 'playground' })));
}

/** Decodes the bytes typed in the two boxes as one exchange. */
export function decodePasted() {
  const out = document.getElementById('paste-out');
  out.replaceChildren();
  state.pasted = true;
  const up = parseHex(playground.client);
  const down = parseHex(playground.server);
  if (!up || !down) {
    out.append(el('p', { class: 'error', role: 'status' }, t('paste_bad_hex')));
    return;
  }
  const c = JSON.parse(decode_exchange(up, down));
  c.messages.forEach((m, i) => {
    const bytes = m.direction === 'to_server' ? up : down;
    out.append(messageDetail(m, (offset, len) => bytes.slice(offset, offset + len), { scope: `pasted-${i}` }));
  });
  const findings = el('ul', { class: 'findings' });
  for (const a of c.anomalies) findings.append(findingItem(a, null));
  out.append(findings);
}
