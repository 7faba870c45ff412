// One message in detail: its fields, its bytes as xxd shows them (each
// field's bytes selected in both columns), the file it carried, a
// listing, the check of a RESUME. Also used by the playground.
import { md5_hex } from 'ferry-wasm';
import { el } from './dom.js';
import { state } from './state.js';
import { t, said, num, since } from './words.js';
import { hex2, printable, frameList, clip, byteRange, bytesPerRow, unquoted } from './format.js';

const HEX_SHOWN = 4096; // bytes of one message shown in the bytes view
const RECORDS_SHOWN = 12; // TLS records linked from one decrypted message
const VALUE_CHARS = 40; // longer values are cut in the table (whole in a tooltip and in the bytes)
const LISTING_SHOWN = 500; // listing entries shown as a table
const LISTING_NAME_CHARS = 60; // longer names are cut in the listing (whole in a tooltip)
const JSON_PRETTY_MAX = 1 << 20; // larger listings are shown as sent

/** Bytes of the stream message `m` of conversation `ci` is read from: its
 *  direction's TCP stream, or the decrypted one for a message read from
 *  opened TLS records. */
function streamBytes(ci, m, offset, len) {
  const toServer = m.direction === 'to_server';
  return m.layer === 'decrypted'
    ? state.capture.decrypted(ci, toServer, offset, len)
    : state.capture.bytes(ci, toServer, offset, len);
}

/** The selected message of the selected conversation, or a hint. */
export function renderMessage({ onSelect }) {
  const box = document.getElementById('message');
  box.replaceChildren();
  const c = state.transcript && state.transcript.connections[state.conn];
  const m = c && state.msg !== null ? c.messages[state.msg] : null;
  if (!m) {
    box.append(el('p', { class: 'hint' }, t('pick_message')));
    return;
  }
  const bytesOf = (offset, len) => streamBytes(state.conn, m, offset, len);
  box.append(messageDetail(m, bytesOf, { c, scope: 'message', onSelect }));
}

/** The TLS records that carried a decrypted message, each a button that
 *  selects it. */
function recordLinks(m, c, onSelect) {
  const line = el('p', { class: 'records', 'data-testid': 'records' }, t('inside_records'), ' ');
  const records = new Map();
  c.messages.forEach((x, index) => {
    if (x.layer === 'tls' && x.direction === m.direction) records.set(x.offset, index);
  });
  m.records.slice(0, RECORDS_SHOWN).forEach((offset, k) => {
    const index = records.get(offset);
    if (index === undefined) return;
    if (k) line.append(' ');
    line.append(el('button', { type: 'button', class: 'record-link', onclick: () => onSelect(index) },
      t('record_at', { offset })));
  });
  if (m.records.length > RECORDS_SHOWN) {
    line.append(' ', t('records_more', { n: num(m.records.length - RECORDS_SHOWN) }));
  }
  return line;
}

/** What the header line says: direction, stream bytes, time, frames. */
function facts(m, c) {
  const out = [
    t(m.direction === 'to_server' ? 'direction_to_server' : 'direction_to_client'),
    // Offsets are positions: plain digits in both languages, as in the
    // fields table and the bytes view.
    m.len ? t('stream_bytes', { from: m.offset, to: m.offset + m.len - 1 }) : null,
  ];
  if (c && m.time_us !== null) out.push(t('at_time', { t: since(m.time_us) }));
  if (m.frames.length === 1) out.push(t('carried_by_one', { frame: m.frames[0] }));
  else if (m.frames.length) out.push(t('carried_by', { frames: frameList(m.frames) }));
  if (m.layer === 'decrypted') out.push(t('decrypted_stream'));
  return out.filter(Boolean).join(' · ');
}

/** A message's header, fields, bytes and payload; `bytesOf(offset, len)`
 *  reads its direction's stream; `c` is its conversation (null in the
 *  playground); `scope` names its parts for tests. */
export function messageDetail(m, bytesOf, { c = null, scope, onSelect = () => {} }) {
  const part = el('div', { class: 'detail', 'data-scope': scope });
  part.append(el('h3', { 'data-testid': `${scope}-summary` }, said(m.sentence)));
  part.append(el('p', { class: 'facts' }, facts(m, c)));
  if (c && m.records && m.records.length) part.append(recordLinks(m, c, onSelect));

  const shown = Math.min(m.len, HEX_SHOWN);
  const bytes = bytesOf(m.offset, shown);
  const fieldAt = new Int32Array(bytes.length).fill(-1);
  m.fields.forEach((f, i) => {
    const from = Math.max(0, f.offset - m.offset);
    const to = Math.min(bytes.length, f.offset + f.len - m.offset);
    for (let k = from; k < to; k++) fieldAt[k] = i;
  });
  const hex = hexView(bytes, m.offset, fieldAt, scope);
  // A field chosen in the table brings its bytes into view; one chosen
  // from the bytes leaves the view where the cursor is.
  const table = fieldsTable(m, scope, (i, focusRow, reveal = true) => {
    for (const row of table.body.children) row.classList.toggle('selected', Number(row.dataset.field) === i);
    hex.select(i, reveal);
    if (focusRow) table.body.children[i]?.focus();
    // Kept when the page is drawn again (a language switch).
    if (scope === 'message') state.field = i;
  });
  hex.onPick = (i) => table.select(i, false, false);
  const bytesPart = el('div', { class: 'bytes-part' },
    el('h4', {}, t('hex')), el('p', { class: 'hint' }, t('hex_help')), hex.box);
  if (m.len > shown) bytesPart.append(el('p', { class: 'hint' }, t('hex_cut', { shown: num(shown), total: num(m.len) })));
  part.append(el('div', { class: 'detail-grid' }, table.wrap, bytesPart));

  // After a language switch, the field selected before stays selected.
  if (scope === 'message' && state.field !== null && state.field >= 0) table.select(state.field, false);
  if (m.payload) part.append(payloadBox(m, bytesOf, c));
  if (m.listing) part.append(listingBox(m, bytesOf));
  if (c) {
    const check = resumeCheck(m, c);
    if (check) part.append(check);
  }
  return part;
}

/** The fields table, in a box that scrolls when it is wider than the
 *  pane; `onSelect(i, focusRow)` selects field `i`. */
function fieldsTable(m, scope, onSelect) {
  const body = el('tbody');
  m.fields.forEach((f, i) => {
    body.append(
      el('tr', {
        tabindex: 0,
        'data-field': i,
        'data-name': f.name,
        onclick: () => onSelect(i, false),
        onkeydown: (e) => {
          if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); onSelect(i, false); }
          if (e.key === 'ArrowDown') { e.preventDefault(); onSelect(Math.min(m.fields.length - 1, i + 1), true); }
          if (e.key === 'ArrowUp') { e.preventDefault(); onSelect(Math.max(0, i - 1), true); }
        },
      },
      el('th', { scope: 'row' }, f.name),
      el('td', { class: 'num' }, byteRange(f.offset, f.len)),
      el('td', { class: 'value', title: f.value.length > VALUE_CHARS ? f.value : null }, clip(f.value, VALUE_CHARS)),
      el('td', { class: 'meaning' }, said(f.sentence))),
    );
  });
  const table = el('table', { class: 'fields', 'data-testid': `${scope}-fields` },
    el('caption', {}, t('fields')),
    el('thead', {}, el('tr', {}, ['field', 'bytes', 'value', 'meaning'].map((k) => el('th', { scope: 'col' }, t(k))))),
    body,
  );
  return { wrap: el('div', { class: 'scroll-x' }, table), body, select: onSelect };
}

/** Bytes as xxd lays them out: each row's stream offset (in decimal, as
 *  the fields table counts), 16 bytes in hex (8 on a narrow screen), the
 *  same bytes as text (a dot for what does not print). A click or the
 *  arrow keys move a cursor and pick the field under it (`onPick`). */
function hexView(bytes, base, fieldAt, scope) {
  const perRow = bytesPerRow(window.innerWidth);
  const box = el('div', { class: 'hex', tabindex: 0, role: 'grid', 'aria-label': t('hex'), 'data-testid': `${scope}-hex` });
  const view = { box, onPick: () => {} };
  let cursor = 0;
  const moveTo = (k) => {
    cursor = k;
    for (const cell of box.querySelectorAll('span.cursor')) cell.classList.remove('cursor');
    const cell = box.querySelector(`span[data-i="${k}"]`);
    cell?.classList.add('cursor');
    box.querySelector(`span[data-c="${k}"]`)?.classList.add('cursor');
    view.onPick(fieldAt[k]);
    if (cell) revealIn(box, cell, cell);
  };
  for (let row = 0; row * perRow < bytes.length; row++) {
    const line = el('div', { class: 'hexrow' }, el('span', { class: 'off' }, String(base + row * perRow)));
    const text = el('span', { class: 'ascii' });
    const end = Math.min(bytes.length, row * perRow + perRow);
    for (let k = row * perRow; k < end; k++) {
      line.append(el('span', { 'data-i': k, 'data-field': fieldAt[k], title: `${base + k}`, onclick: () => moveTo(k) }, hex2(bytes[k])));
      text.append(el('span', { 'data-c': k, onclick: () => moveTo(k) }, printable(bytes[k])));
    }
    // A short last row keeps its text column under the others.
    for (let k = end; k < row * perRow + perRow && bytes.length > perRow; k++) {
      line.append(el('span', { class: 'pad' }, '  '));
    }
    line.append(text);
    box.append(line);
  }
  box.addEventListener('keydown', (e) => {
    const moves = { ArrowRight: 1, ArrowLeft: -1, ArrowDown: perRow, ArrowUp: -perRow };
    if (!(e.key in moves) || bytes.length === 0) return;
    e.preventDefault();
    moveTo(Math.max(0, Math.min(bytes.length - 1, cursor + moves[e.key])));
  });
  /** Selects field `i`'s bytes in both columns; with `reveal`, scrolls
   *  them into view (once the view is on the page). */
  view.select = (i, reveal) => {
    const chosen = [];
    for (const cell of box.querySelectorAll('span[data-i], span[data-c]')) {
      const k = Number(cell.dataset.i ?? cell.dataset.c);
      const on = fieldAt[k] === i;
      cell.classList.toggle('selected', on);
      if (on && cell.dataset.i !== undefined) chosen.push(cell);
    }
    if (!reveal || !chosen.length) return;
    const show = () => revealIn(box, chosen[0], chosen[chosen.length - 1]);
    if (box.isConnected) show();
    else requestAnimationFrame(() => box.isConnected && show());
  };
  return view;
}

/** Scrolls `box` (only it, not the page) so that `first` to `last` show:
 *  their start, when they are more than the box holds. */
function revealIn(box, first, last) {
  const outer = box.getBoundingClientRect();
  const a = first.getBoundingClientRect();
  const b = last.getBoundingClientRect();
  const top = Math.min(a.top, b.top) - outer.top + box.scrollTop;
  const bottom = Math.max(a.bottom, b.bottom) - outer.top + box.scrollTop;
  if (top < box.scrollTop || bottom > box.scrollTop + box.clientHeight) box.scrollTop = Math.max(0, top - 8);
  const left = Math.min(a.left, b.left) - outer.left + box.scrollLeft;
  const right = Math.max(a.right, b.right) - outer.left + box.scrollLeft;
  if (left < box.scrollLeft || right > box.scrollLeft + box.clientWidth) box.scrollLeft = Math.max(0, left - 8);
}

/** The file name a body belongs to: the last name field before it. */
function nameBefore(c, m) {
  let name = null;
  for (const other of c.messages) {
    if (other === m) break;
    for (const f of other.fields) if (f.name === 'name') name = unquoted(f.value);
  }
  return name;
}

/** A body's size, MD5 and first bytes, and a button that saves it. */
function payloadBox(m, bytesOf, c) {
  const p = m.payload;
  const box = el('section', { class: 'payload', 'data-testid': 'payload' }, el('h4', {}, t('payload')));
  box.append(el('p', {}, t('payload_size', { size: num(p.size), captured: num(p.captured) })));
  box.append(el('p', { class: 'mono', 'data-testid': 'payload-md5' }, p.md5 ? t('payload_md5', { md5: p.md5 }) : t('payload_incomplete')));
  if (p.preview) box.append(el('p', { class: 'mono' }, t('payload_preview', { preview: p.preview })));
  // A resumed body is only the end of its file: nothing whole to save.
  if (p.md5 && c && m.op !== 'RESUME') {
    const name = (nameBefore(c, m) || t('save_name')).split('/').pop();
    box.append(el('button', {
      'data-testid': 'save',
      onclick: () => {
        const data = bytesOf(m.offset, m.len);
        const url = URL.createObjectURL(new Blob([data], { type: 'application/octet-stream' }));
        const a = el('a', { href: url, download: name });
        document.body.append(a);
        a.click();
        a.remove();
        setTimeout(() => URL.revokeObjectURL(url), 1000);
      },
    }, `${t('save')} (${name})`));
  }
  return box;
}

/** A LIST reply's files as a table, and its JSON as sent. */
function listingBox(m, bytesOf) {
  const box = el('section', { class: 'listing', 'data-testid': 'listing' }, el('h4', {}, t('listing')));
  const body = el('tbody');
  for (const e of m.listing.slice(0, LISTING_SHOWN)) {
    body.append(el('tr', {},
      el('td', { class: 'name', title: e.nome.length > LISTING_NAME_CHARS ? e.nome : null }, clip(e.nome, LISTING_NAME_CHARS)),
      el('td', { class: 'num' }, num(e.tamanho))));
  }
  box.append(el('div', { class: 'scroll-x' }, el('table', {},
    el('thead', {}, el('tr', {}, el('th', { scope: 'col' }, t('listing_name')), el('th', { scope: 'col' }, t('listing_size')))),
    body)));
  if (m.listing.length > LISTING_SHOWN) {
    box.append(el('p', { class: 'hint' }, t('listing_more', { n: num(m.listing.length - LISTING_SHOWN) })));
  }
  const field = m.fields.find((f) => f.name === 'listing');
  if (field) {
    const raw = new TextDecoder().decode(bytesOf(field.offset, field.len));
    let pretty = raw;
    if (raw.length <= JSON_PRETTY_MAX) {
      try { pretty = JSON.stringify(JSON.parse(raw), null, 2); } catch { /* shown as sent */ }
    }
    box.append(el('details', {}, el('summary', {}, t('listing_json')), el('pre', {}, pretty)));
  }
  return box;
}

/** For a RESUME request: its MD5 against the first bytes of an earlier
 *  download of the same file in this capture, when they were captured. */
function resumeCheck(m, c) {
  if (m.op !== 'RESUME' || m.kind !== 'request') return null;
  const get = (name) => m.fields.find((f) => f.name === name);
  const name = get('name') && unquoted(get('name').value);
  const position = Number(get('position')?.value);
  const md5 = get('md5')?.value;
  if (!name || !md5 || Number.isNaN(position)) return null;
  const box = el('section', { class: 'check', 'data-testid': 'resume-check' }, el('h4', {}, t('resume_check')));
  // The latest earlier download of that name whose first `position`
  // bytes were all captured.
  const conns = state.transcript.connections;
  const here = conns.indexOf(c);
  for (let ci = here - 1; ci >= 0; ci--) {
    const bodies = conns[ci].messages.filter((b) => b.kind === 'body' && b.op === 'DOWNLOAD' && b.payload);
    for (const body of bodies.reverse()) {
      if (nameBefore(conns[ci], body) !== name || body.len < position) continue;
      const held = body.layer === 'decrypted' ? body.payload.captured
        : Math.min(body.len, conns[ci].bytes_to_client - body.offset);
      if (!body.payload.md5 && body.payload.captured < held) continue; // a hole somewhere
      const prefix = streamBytes(ci, body, body.offset, position);
      if (prefix.length !== position) continue;
      const actual = md5_hex(prefix);
      const args = { md5, n: num(position), name, conv: ci + 1, actual };
      box.append(el('p', { class: actual === md5 ? 'ok' : 'bad' }, t(actual === md5 ? 'resume_match' : 'resume_mismatch', args)));
      return box;
    }
  }
  box.append(el('p', {}, t('resume_unknown', { name })));
  return box;
}
