// The teaching page: a capture of ferry traffic, decoded in the browser by
// ferry's own core (WebAssembly), shown as a ladder of TCP segments and ferry
// messages, every byte explained. Plain DOM, no framework.
//
// Provided before this script (scripts/web.sh inlines them into one file):
// the wasm-bindgen bindings (initSync, Capture, decode_exchange,
// encode_request, md5_hex, sentence_words, version), TEXT and SAME_IN_BOTH (i18n.js),
// WASM_BASE64 and EXAMPLES.

const state = {
  lang: 'en',
  capture: null, // the wasm Capture, for bytes
  memory: null, // the core's WebAssembly memory (its size: the most it ever held)
  captureBytes: null, // the capture's file, to decode again with a key log
  keylog: new Uint8Array(), // the TLS key log given (empty: none)
  keylogConversations: 0,
  transcript: null, // its JSON, parsed
  conn: 0, // selected conversation
  msg: null, // selected message index
  field: null, // selected field index
  order: [], // message indices in ladder order
  pasted: false, // whether typed bytes were decoded (drawn again on a language switch)
  error: null, // { key, args } of the sentence shown
  openedAt: null,
};

const HEX_SHOWN = 4096; // bytes of one message shown in the hex view
const RECORDS_SHOWN = 12; // TLS records linked from one decrypted message
const FOLD_RUN = 12; // longer runs of data segments fold into one ladder row
const FOLD_KEEP = 4; // rows kept at each end of a folded run
const MAX_ROWS = 3000; // ladder rows drawn; the rest is counted
const LISTING_SHOWN = 500; // listing entries shown as a table
const JSON_PRETTY_MAX = 1 << 20; // larger listings are shown as sent

// ---------- small helpers ----------

function t(key, args = {}) {
  const text = TEXT[state.lang][key] ?? TEXT.en[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (whole, name) => (name in args ? String(args[name]) : whole));
}

/** Picks the English or Portuguese text of a core object. */
function pick(en, pt) {
  return state.lang === 'pt' ? pt : en;
}

/** A sentence of the transcript (its key and arguments) in the page's
 *  language, put into words by the core's own tables. */
function said(sentence) {
  return sentence_words(JSON.stringify(sentence), state.lang === 'pt');
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === 'class') node.className = value;
    else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? '' : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

const SVG = 'http://www.w3.org/2000/svg';
function svg(tag, attrs = {}, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  if (text !== undefined) node.textContent = text;
  return node;
}

function base64ToBytes(text) {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

function hex2(byte) {
  return byte.toString(16).padStart(2, '0');
}

function seconds(us, origin) {
  const d = Math.max(0, us - origin);
  const text = (d / 1e6).toFixed(6);
  return state.lang === 'pt' ? text.replace('.', ',') : text;
}

function plural(n) {
  return Number(n).toLocaleString(state.lang === 'pt' ? 'pt-BR' : 'en');
}

// ---------- errors: always a sentence on the page ----------

function showError(key, args = {}) {
  state.error = { key, args };
  renderError();
}

function renderError() {
  const box = document.getElementById('error');
  box.replaceChildren();
  box.hidden = !state.error;
  if (state.error) {
    const args = { ...state.error.args };
    if (args.reason_key) args.reason = t(args.reason_key);
    box.append(t(state.error.key, args));
  }
}

window.addEventListener('error', (event) => {
  showError('read_error', { reason: event.message });
});
window.addEventListener('unhandledrejection', (event) => {
  showError('read_error', { reason: String(event.reason) });
});

// ---------- opening a capture ----------

/** Decodes a capture with `keylog` (by default the one the user gave). */
function openCapture(bytes, keylog = state.keylog) {
  state.error = null;
  renderError();
  let capture;
  const decodeStart = performance.now();
  try {
    capture = new Capture(bytes, new Uint16Array(), keylog);
  } catch (e) {
    // The core says what went wrong (a kind) and why, in both languages.
    let reason = String(e.message || e);
    let kind = null;
    try { const why = JSON.parse(reason); kind = why.kind; reason = pick(why.en, why.pt); } catch (_) { /* as it is */ }
    // The capture shown before is not this file's: it goes.
    if (state.capture) state.capture.free();
    state.capture = null;
    state.captureBytes = null;
    state.transcript = null;
    renderCapture();
    if (kind === 'not_a_capture') showError('bad_file', { reason_key: 'not_a_capture' });
    else showError('bad_file', { reason });
    return;
  }
  if (state.capture) state.capture.free();
  state.capture = capture;
  state.captureBytes = bytes;
  state.transcript = JSON.parse(capture.transcript());
  // For the benchmark (scripts/bench-decode.sh): decoding, and opening to
  // the first ladder on screen.
  document.body.dataset.decodeMs = (performance.now() - decodeStart).toFixed(1);
  document.body.dataset.wasmBytes = String(state.memory.buffer.byteLength);
  state.conn = 0;
  state.msg = null;
  state.field = null;
  render();
  if (state.openedAt !== null) {
    const openedAt = state.openedAt;
    state.openedAt = null;
    requestAnimationFrame(() => {
      document.body.dataset.firstLadderMs = (performance.now() - openedAt).toFixed(0);
    });
  }
}

/** Takes a TLS key log (what a client writes with SSLKEYLOGFILE): checked
 *  first, then the open capture is decoded again with it. */
function useKeylog(bytes) {
  let n;
  try {
    n = keylog_conversations(bytes);
  } catch (e) {
    showError('bad_keylog', { reason: String(e.message || e) });
    return;
  }
  state.keylog = bytes;
  state.keylogConversations = n;
  renderKeylog();
  if (state.captureBytes) {
    const { conn } = state;
    openCapture(state.captureBytes);
    if (state.transcript && conn < state.transcript.connections.length) selectConversation(conn);
  } else {
    state.error = null;
    renderError();
  }
}

function renderKeylog() {
  const status = document.getElementById('keylog-status');
  status.textContent = state.keylog.length ? t('keylog_loaded', { n: state.keylogConversations }) : '';
}

async function openKeylog(file) {
  try {
    useKeylog(new Uint8Array(await file.arrayBuffer()));
  } catch (e) {
    showError('read_error', { reason: String(e.message || e) });
  }
}

async function openFile(file) {
  state.openedAt = performance.now();
  document.getElementById('status').textContent = t('loading');
  try {
    const bytes = new Uint8Array(await file.arrayBuffer());
    openCapture(bytes);
  } catch (e) {
    showError('read_error', { reason: String(e.message || e) });
  } finally {
    document.getElementById('status').textContent = '';
  }
}

// ---------- rendering ----------

function render() {
  for (const node of document.querySelectorAll('[data-t]')) node.textContent = t(node.dataset.t);
  document.documentElement.lang = state.lang === 'pt' ? 'pt-BR' : 'en';
  document.title = t('title');
  for (const button of document.querySelectorAll('[data-lang]')) {
    button.setAttribute('aria-pressed', String(button.dataset.lang === state.lang));
  }
  document.getElementById('version').textContent = t('version', { version: version() });
  renderError();
  renderKeylog();
  renderCapture();
  renderPlayground();
}

function renderCapture() {
  const summary = document.getElementById('summary');
  const list = document.getElementById('conversations');
  summary.replaceChildren();
  list.replaceChildren();
  document.getElementById('workspace').hidden = !state.transcript;
  const tr = state.transcript;
  if (!tr) return;
  summary.append(
    t('summary', { format: tr.format, packets: plural(tr.packets), n: tr.connections.length }),
  );
  const notes = el('ul', { class: 'notes' });
  for (const note of tr.notes) notes.append(anomalyItem(note));
  if (tr.notes.length) summary.append(notes);
  if (!tr.connections.length) {
    summary.append(el('p', { class: 'empty' }, t('no_conversations', { packets: plural(tr.packets) })));
  }
  tr.connections.forEach((c, i) => {
    // A TLS conversation is named by the first ferry message inside, when
    // the key log opened it, otherwise by what its handshake says.
    const first = c.messages.find((m) => m.layer !== 'tls');
    const what = first ? said(first.sentence)
      : c.tls ? t(c.tls.version === 'TLS 1.3' || !c.tls.version ? 'tls_conversation' : 'tls_conversation_old',
        { version: c.tls.version || '?', name: c.tls.server_name || '—' })
        : '—';
    list.append(
      el(
        'li',
        {},
        el(
          'button',
          {
            'aria-pressed': String(i === state.conn),
            'data-testid': 'conversation',
            onclick: () => selectConversation(i),
          },
          el('span', { class: 'conv-number' }, `#${i + 1}`),
          el('span', { class: 'conv-what' }, what),
          el('span', { class: 'conv-meta' }, `${t('conversation_line', c)} · ${t('messages_count', { n: c.messages.length })}`),
        ),
      ),
    );
  });
  renderConversation();
}

function selectConversation(i) {
  state.conn = i;
  state.msg = null;
  state.field = null;
  renderCapture();
}

function renderConversation() {
  const c = state.transcript.connections[state.conn];
  const ladder = document.getElementById('ladder');
  ladder.replaceChildren();
  const findings = document.getElementById('anomalies');
  findings.replaceChildren();
  if (!c) {
    renderMessage();
    return;
  }
  ladder.append(drawLadder(c));
  if (c.anomalies.length === 0) findings.append(el('li', { class: 'none' }, t('no_anomalies')));
  for (const a of c.anomalies) findings.append(anomalyItem(a));
  renderMessage();
}

const LESSONS = ['clear_text_password', 'encrypted', 'duplicate_ack', 'zero_window', 'window_update', 'window_probe'];
const NOTES = ['retransmission', 'out_of_order', 'mid_stream', 'trailing_bytes', 'skipped'];

function anomalyItem(a) {
  const category = LESSONS.includes(a.kind) ? 'lesson' : NOTES.includes(a.kind) ? 'note' : 'problem';
  return el(
    'li',
    { class: `finding ${category}`, 'data-kind': a.kind },
    el('span', { class: 'badge' }, t(category)),
    ' ',
    said(a.sentence),
  );
}

// ---------- the ladder ----------

/** Rows of the ladder: segments (long runs of data folded) and messages. */
function ladderRows(c) {
  const rows = [];
  const rowOfFrame = new Map();
  const segs = c.segments;
  // The handshake and the close are never folded; long runs of data, or
  // of one thing TCP did (a retransmission, a hole filled...) one way, are.
  const special = (s) => /SYN|FIN|RST/.test(s.flags);
  const notable = (s) => Boolean(s.role && s.role !== 'ack');
  const together = (a, b) => notable(a) === notable(b)
    && (!notable(a) || (a.role === b.role && a.direction === b.direction));
  let i = 0;
  while (i < segs.length) {
    if (special(segs[i])) {
      rows.push({ kind: 'segment', seg: segs[i] });
      rowOfFrame.set(segs[i].frame, rows.length - 1);
      i++;
      continue;
    }
    let j = i;
    while (j < segs.length && !special(segs[j]) && together(segs[i], segs[j])) j++;
    const run = segs.slice(i, j);
    const fold = run.length > FOLD_RUN;
    const role = notable(run[0]) ? run[0].role : null;
    run.forEach((s, k) => {
      if (fold && k >= FOLD_KEEP && k < run.length - FOLD_KEEP) {
        if (k === FOLD_KEEP) {
          const folded = run.slice(FOLD_KEEP, run.length - FOLD_KEEP);
          rows.push({ kind: 'fold', segs: folded, role });
        }
        rowOfFrame.set(s.frame, rows.length - 1);
        return;
      }
      rows.push({ kind: 'segment', seg: s });
      rowOfFrame.set(s.frame, rows.length - 1);
    });
    i = j;
  }
  // Each message gets a row after the first segment that carried it.
  const after = new Map();
  let last = -1;
  c.messages.forEach((m, index) => {
    const row = m.frames.length ? rowOfFrame.get(m.frames[0]) ?? last : last;
    last = row;
    if (!after.has(row)) after.set(row, []);
    after.get(row).push(index);
  });
  const out = [];
  const where = new Map(); // row index (before messages) -> row index in out
  const place = (row) => {
    for (const index of after.get(row) || []) out.push({ kind: 'message', index, msg: c.messages[index] });
  };
  place(-1);
  rows.forEach((row, r) => {
    where.set(r, out.length);
    out.push(row);
    place(r);
  });
  return { rows: out, rowOfFrame: (frame) => where.get(rowOfFrame.get(frame)) };
}

function drawLadder(c) {
  const laid = ladderRows(c);
  const rowOfFrame = laid.rowOfFrame;
  // Messages in the order the ladder shows them (for the arrow keys).
  state.order = laid.rows.filter((r) => r.kind === 'message').map((r) => r.index);
  const hidden = Math.max(0, laid.rows.length - MAX_ROWS);
  const rows = laid.rows.slice(0, MAX_ROWS);
  if (hidden) rows.push({ kind: 'more', n: hidden });
  const ROW = 24;
  const TOP = 34;
  const LEFT = 150;
  const CLIENT = 190;
  const SERVER = 560;
  const WIDTH = 640;
  const height = TOP + rows.length * ROW + 10;
  const root = svg('svg', {
    viewBox: `0 0 ${WIDTH} ${height}`,
    width: WIDTH,
    height,
    role: 'group',
    'aria-label': t('ladder'),
    'data-testid': 'ladder',
  });
  root.append(svg('text', { x: CLIENT, y: 14, class: 'lane-label', 'text-anchor': 'middle' }, `${t('client')} ${c.client}`));
  // Anchored at the right edge: a long address in any language stays whole.
  root.append(svg('text', { x: WIDTH - 4, y: 14, class: 'lane-label', 'text-anchor': 'end' }, `${t('server')} ${c.server}`));
  root.append(svg('text', { x: 4, y: 30, class: 'col-label' }, `${t('frame')} · s`));
  root.append(svg('line', { x1: CLIENT, y1: 20, x2: CLIENT, y2: height, class: 'lane' }));
  root.append(svg('line', { x1: SERVER, y1: 20, x2: SERVER, y2: height, class: 'lane' }));
  const start = state.transcript.start_us;
  const arrowX = (dir) => (dir === 'to_server' ? [CLIENT, SERVER] : [SERVER, CLIENT]);
  rows.forEach((row, r) => {
    const y = TOP + r * ROW + ROW / 2;
    if (row.kind === 'segment') {
      const s = row.seg;
      const [x1, x2] = arrowX(s.direction);
      root.append(svg('text', { x: 4, y: y + 4, class: 'frame-label' }, `${s.frame}  ${seconds(s.time_us, start)}`));
      const special = /SYN|FIN|RST/.test(s.flags);
      const notable = s.role && s.role !== 'ack';
      root.append(svg('line', { x1, y1: y - 5, x2, y2: y + 5, class: special ? 'seg special' : notable ? 'seg notable' : 'seg', 'marker-end': 'url(#head)' }));
      const parts = [s.flags];
      if (s.len) parts.push(`${plural(s.len)} B`);
      if (notable) parts.push(t(`role_${s.role}`));
      const label = parts.join(' · ');
      root.append(svg('text', { x: (CLIENT + SERVER) / 2, y: y - 3, class: 'seg-label', 'text-anchor': 'middle' }, label));
    } else if (row.kind === 'more') {
      root.append(svg('text', { x: (CLIENT + SERVER) / 2, y: y + 4, class: 'fold-label', 'text-anchor': 'middle' }, t('rows_hidden', { n: plural(row.n) })));
    } else if (row.kind === 'fold') {
      const first = row.segs[0];
      const last = row.segs[row.segs.length - 1];
      root.append(svg('text', { x: 4, y: y + 4, class: 'frame-label' }, `${first.frame}–${last.frame}`));
      root.append(
        svg('text', { x: (CLIENT + SERVER) / 2, y: y + 4, class: 'fold-label', 'text-anchor': 'middle' },
          `⋮ ${t('frames', { first: first.frame, last: last.frame })}: ${row.role
            ? t('segments_folded_role', { n: plural(row.segs.length), role: t(`role_${row.role}`) })
            : t('segments_folded', { n: plural(row.segs.length) })}`),
      );
    } else {
      const m = row.msg;
      const [x1, x2] = arrowX(m.direction);
      const selected = row.index === state.msg;
      const group = svg('g', {
        class: `message ${m.direction} ${m.layer}${selected ? ' selected' : ''}`,
        tabindex: 0,
        role: 'button',
        'aria-pressed': String(selected),
        'data-testid': 'message',
        'data-index': row.index,
        onclick: () => selectMessage(row.index),
        onkeydown: (e) => messageKey(e, row.index),
      });
      // The segments that carried it: a bracket on the sender's side.
      const rowsOf = m.frames.map(rowOfFrame).filter((x) => x !== undefined);
      if (rowsOf.length) {
        // In frame order, so in row order: no spread over a huge array.
        const top = TOP + rowsOf[0] * ROW + 4;
        const bottom = TOP + rowsOf[rowsOf.length - 1] * ROW + ROW - 4;
        const bx = m.direction === 'to_server' ? CLIENT - 12 : SERVER + 12;
        const tick = m.direction === 'to_server' ? 6 : -6;
        group.append(svg('path', { d: `M${bx + tick},${top} H${bx} V${bottom} H${bx + tick}`, class: 'bracket' }));
      }
      const dx = x2 > x1 ? -10 : 10;
      group.append(svg('rect', { x: Math.min(x1, x2), y: y - ROW / 2 + 2, width: Math.abs(x2 - x1), height: ROW - 4, class: 'band', rx: 4 }));
      group.append(svg('path', { d: `M${x1},${y} L${x2},${y} M${x2 + dx},${y - 6} L${x2},${y} L${x2 + dx},${y + 6}`, class: 'msg-arrow' }));
      const time = m.time_us === null ? '?' : seconds(m.time_us, start);
      const summary = said(m.sentence);
      const what = m.layer === 'decrypted' ? t('inside_tls', { summary }) : summary;
      const label = `${what} · ${plural(m.len)} B · ${time} s`;
      group.append(svg('text', { x: (CLIENT + SERVER) / 2, y: y - 2, class: 'msg-label', 'text-anchor': 'middle' }, label));
      group.append(svg('title', {}, label));
      root.append(group);
    }
  });
  const defs = svg('defs');
  const marker = svg('marker', { id: 'head', viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 6, markerHeight: 6, orient: 'auto-start-reverse' });
  marker.append(svg('path', { d: 'M0,0 L10,5 L0,10 z', class: 'head' }));
  defs.append(marker);
  root.prepend(defs);
  return root;
}

function messageKey(event, index) {
  if (event.key === 'Enter' || event.key === ' ') {
    event.preventDefault();
    selectMessage(index);
  } else if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
    event.preventDefault();
    const order = state.order;
    const at = order.indexOf(index);
    const next = Math.max(0, Math.min(order.length - 1, at + (event.key === 'ArrowDown' ? 1 : -1)));
    if (order.length) selectMessage(order[next]);
  }
}

function selectMessage(index) {
  state.msg = index;
  state.field = null;
  const ladder = document.getElementById('ladder');
  for (const g of ladder.querySelectorAll('[data-testid=message]')) {
    const on = Number(g.dataset.index) === index;
    g.classList.toggle('selected', on);
    g.setAttribute('aria-pressed', String(on));
    if (on) g.focus({ preventScroll: true });
  }
  renderMessage();
}

// ---------- one message: fields and bytes ----------

function renderMessage() {
  const box = document.getElementById('message');
  box.replaceChildren();
  const c = state.transcript && state.transcript.connections[state.conn];
  const m = c && state.msg !== null ? c.messages[state.msg] : null;
  if (!m) {
    box.append(el('p', { class: 'hint' }, t('pick_message')));
    return;
  }
  const bytesOf = (offset, len) => streamBytes(state.conn, m, offset, len);
  box.append(messageDetail(m, bytesOf, c, 'message'));
}

/** Bytes of the stream message `m` of conversation `ci` is read from: its
 *  direction's TCP stream, or the decrypted one for a message read from
 *  opened TLS records. */
function streamBytes(ci, m, offset, len) {
  const toServer = m.direction === 'to_server';
  return m.layer === 'decrypted'
    ? state.capture.decrypted(ci, toServer, offset, len)
    : state.capture.bytes(ci, toServer, offset, len);
}

/** The TLS records that carried a decrypted message, each a button that
 *  selects it. */
function recordLinks(m, c) {
  const line = el('p', { class: 'records', 'data-testid': 'records' }, t('inside_records'), ' ');
  const records = new Map();
  c.messages.forEach((x, index) => {
    if (x.layer === 'tls' && x.direction === m.direction) records.set(x.offset, index);
  });
  m.records.slice(0, RECORDS_SHOWN).forEach((offset, k) => {
    const index = records.get(offset);
    if (index === undefined) return;
    if (k) line.append(' ');
    line.append(el('button', { type: 'button', class: 'record-link', onclick: () => selectMessage(index) },
      t('record_at', { offset: plural(offset) })));
  });
  if (m.records.length > RECORDS_SHOWN) {
    line.append(' ', t('records_more', { n: plural(m.records.length - RECORDS_SHOWN) }));
  }
  return line;
}

/** A message's header, fields, hex view and payload; `bytesOf(offset,
 *  len)` reads its direction's stream. */
function messageDetail(m, bytesOf, c, scope) {
  const part = el('div', { class: 'detail', 'data-scope': scope });
  const start = state.transcript ? state.transcript.start_us : 0;
  part.append(el('h3', { 'data-testid': `${scope}-summary` }, said(m.sentence)));
  const facts = [
    t(m.direction === 'to_server' ? 'direction_to_server' : 'direction_to_client'),
    m.len ? t('stream_bytes', { from: plural(m.offset), to: plural(m.offset + m.len - 1) }) : null,
  ];
  if (c && m.time_us !== null) facts.push(t('at_time', { t: seconds(m.time_us, start) }));
  if (m.frames.length === 1) facts.push(t('carried_by_one', { frame: m.frames[0] }));
  else if (m.frames.length) facts.push(t('carried_by', { frames: frameList(m.frames) }));
  if (m.layer === 'decrypted') facts.push(t('decrypted_stream'));
  part.append(el('p', { class: 'facts' }, facts.filter(Boolean).join(' · ')));
  if (c && m.records && m.records.length) part.append(recordLinks(m, c));

  const shown = Math.min(m.len, HEX_SHOWN);
  const bytes = bytesOf(m.offset, shown);
  const fieldAt = new Int32Array(bytes.length).fill(-1);
  m.fields.forEach((f, i) => {
    const from = Math.max(0, f.offset - m.offset);
    const to = Math.min(bytes.length, f.offset + f.len - m.offset);
    for (let k = from; k < to; k++) fieldAt[k] = i;
  });

  const table = el('table', { class: 'fields', 'data-testid': `${scope}-fields` },
    el('caption', {}, t('fields')),
    el('thead', {}, el('tr', {}, ['field', 'bytes', 'value', 'meaning'].map((k) => el('th', { scope: 'col' }, t(k))))),
  );
  const body = el('tbody');
  const hexBox = el('div', {
    class: 'hex',
    tabindex: 0,
    role: 'grid',
    'aria-label': t('hex'),
    'data-testid': `${scope}-hex`,
  });
  const select = (i, focusRow) => {
    for (const row of body.children) row.classList.toggle('selected', Number(row.dataset.field) === i);
    for (const span of hexBox.querySelectorAll('span[data-i]')) {
      span.classList.toggle('selected', fieldAt[Number(span.dataset.i)] === i);
    }
    for (const span of hexBox.querySelectorAll('span[data-c]')) {
      span.classList.toggle('selected', fieldAt[Number(span.dataset.c)] === i);
    }
    if (focusRow) body.children[i]?.focus();
    if (scope === 'message') state.field = i;
    // Keep the selection when the page is drawn again (a language switch).
  };
  m.fields.forEach((f, i) => {
    const range = f.len === 1 ? `${f.offset}` : f.len === 0 ? '—' : `${f.offset}–${f.offset + f.len - 1}`;
    body.append(
      el('tr', {
        tabindex: 0,
        'data-field': i,
        'data-name': f.name,
        onclick: () => select(i, false),
        onkeydown: (e) => {
          if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); select(i, false); }
          if (e.key === 'ArrowDown') { e.preventDefault(); select(Math.min(m.fields.length - 1, i + 1), true); }
          if (e.key === 'ArrowUp') { e.preventDefault(); select(Math.max(0, i - 1), true); }
        },
      },
      el('th', { scope: 'row' }, f.name),
      el('td', { class: 'num' }, range),
      el('td', { class: 'value' }, f.value),
      el('td', {}, said(f.sentence))),
    );
  });
  table.append(body);
  part.append(table);

  part.append(el('h4', {}, t('hex')), el('p', { class: 'hint' }, t('hex_help')));
  let cursor = 0;
  // Bytes as xxd lays them out: each row's stream offset (in decimal, as
  // the fields table counts), 16 bytes in hex, the same bytes as text (a
  // dot for what does not print).
  for (let row = 0; row * 16 < bytes.length; row++) {
    const line = el('div', { class: 'hexrow' });
    line.append(el('span', { class: 'off' }, String(m.offset + row * 16)));
    const text = el('span', { class: 'ascii' });
    for (let k = row * 16; k < Math.min(bytes.length, row * 16 + 16); k++) {
      line.append(el('span', {
        'data-i': k,
        'data-field': fieldAt[k],
        title: `${m.offset + k}`,
        onclick: () => moveTo(k),
      }, hex2(bytes[k])));
      text.append(el('span', { 'data-c': k, onclick: () => moveTo(k) }, printable(bytes[k])));
    }
    // A short last row keeps its text column under the others.
    for (let k = bytes.length; k < row * 16 + 16 && bytes.length > 16; k++) {
      line.append(el('span', { class: 'pad' }, '  '));
    }
    line.append(text);
    hexBox.append(line);
  }
  // The byte under the cursor, and its field (none: nothing selected).
  function moveTo(k) {
    cursor = k;
    for (const span of hexBox.querySelectorAll('span.cursor')) span.classList.remove('cursor');
    hexBox.querySelector(`span[data-i="${k}"]`)?.classList.add('cursor');
    hexBox.querySelector(`span[data-c="${k}"]`)?.classList.add('cursor');
    select(fieldAt[k], false);
  }
  hexBox.addEventListener('keydown', (e) => {
    const moves = { ArrowRight: 1, ArrowLeft: -1, ArrowDown: 16, ArrowUp: -16 };
    if (!(e.key in moves) || bytes.length === 0) return;
    e.preventDefault();
    moveTo(Math.max(0, Math.min(bytes.length - 1, cursor + moves[e.key])));
  });
  part.append(hexBox);
  if (m.len > shown) part.append(el('p', { class: 'hint' }, t('hex_cut', { shown: plural(shown), total: plural(m.len) })));

  // After a language switch, the field selected before stays selected.
  if (scope === 'message' && state.field !== null && state.field >= 0) select(state.field, false);
  if (m.payload) part.append(payloadBox(m, bytesOf, c));
  if (m.listing) part.append(listingBox(m, bytesOf));
  if (c) {
    const check = resumeCheck(m, c);
    if (check) part.append(check);
  }
  return part;
}

/** A byte as the text column shows it: itself when it prints, else a dot. */
function printable(b) {
  return b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.';
}

function frameList(frames) {
  if (frames.length === 1) return String(frames[0]);
  const contiguous = frames.every((f, i) => i === 0 || f === frames[i - 1] + 1);
  if (contiguous) return `${frames[0]}–${frames[frames.length - 1]}`;
  const shown = frames.slice(0, 8).join(', ');
  return frames.length > 8 ? `${shown}, … (${frames.length})` : shown;
}

/** The file name a body belongs to: the last name field before it. */
function nameBefore(c, m) {
  let name = null;
  for (const other of c.messages) {
    if (other === m) break;
    for (const f of other.fields) if (f.name === 'name') name = f.value.replace(/^"|"$/g, '');
  }
  return name;
}

function payloadBox(m, bytesOf, c) {
  const p = m.payload;
  const box = el('section', { class: 'payload', 'data-testid': 'payload' }, el('h4', {}, t('payload')));
  box.append(el('p', {}, t('payload_size', { size: plural(p.size), captured: plural(p.captured) })));
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

function listingBox(m, bytesOf) {
  const box = el('section', { class: 'listing', 'data-testid': 'listing' }, el('h4', {}, t('listing')));
  const table = el('table', {},
    el('thead', {}, el('tr', {}, el('th', { scope: 'col' }, t('listing_name')), el('th', { scope: 'col' }, t('listing_size')))));
  const body = el('tbody');
  for (const e of m.listing.slice(0, LISTING_SHOWN)) {
    body.append(el('tr', {}, el('td', {}, e.nome), el('td', { class: 'num' }, plural(e.tamanho))));
  }
  table.append(body);
  box.append(table);
  if (m.listing.length > LISTING_SHOWN) {
    box.append(el('p', { class: 'hint' }, t('listing_more', { n: plural(m.listing.length - LISTING_SHOWN) })));
  }
  const field = m.fields.find((f) => f.name === 'listing');
  if (field) {
    const raw = new TextDecoder().decode(bytesOf(field.offset, field.len));
    let pretty = raw;
    if (raw.length <= JSON_PRETTY_MAX) {
      try { pretty = JSON.stringify(JSON.parse(raw), null, 2); } catch (e) { /* shown as sent */ }
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
  const name = get('name')?.value.replace(/^"|"$/g, '');
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
      const args = { md5, n: plural(position), name, conv: ci + 1, actual };
      box.append(el('p', { class: actual === md5 ? 'ok' : 'bad' }, t(actual === md5 ? 'resume_match' : 'resume_mismatch', args)));
      return box;
    }
  }
  box.append(el('p', {}, t('resume_unknown', { name })));
  return box;
}

// ---------- the playground ----------

const OPS = {
  DOWNLOAD: ['name'],
  LIST: [],
  UPLOAD: ['name'],
  RESUME: ['name', 'position', 'md5'],
  MGET: ['mask'],
  AUTH: ['user', 'pass'],
};
const playground = {
  op: 'DOWNLOAD',
  name: 'hello.txt',
  position: '5',
  md5: 'd41d8cd98f00b204e9800998ecf8427e',
  mask: 'docs/*.txt',
  user: 'alice',
  pass: 'secret',
  client: '0a 00 00 00 09 68 65 6c 6c 6f 2e 74 78 74',
  server: '00 00 00 00 05 48 65 6c 6c 6f',
};

function renderPlayground() {
  const form = document.getElementById('playground-form');
  form.replaceChildren();
  const opSelect = el('select', {
    id: 'pg-op',
    'data-testid': 'playground-op',
    onchange: (e) => { playground.op = e.target.value; renderPlayground(); },
  }, Object.keys(OPS).map((op) => el('option', { value: op, selected: op === playground.op }, op)));
  form.append(el('label', { for: 'pg-op' }, t('op')), opSelect);
  for (const key of OPS[playground.op]) {
    form.append(
      el('label', { for: `pg-${key}` }, t(key)),
      el('input', {
        id: `pg-${key}`,
        'data-testid': `playground-${key}`,
        value: playground[key],
        type: key === 'position' ? 'number' : 'text',
        min: key === 'position' ? 0 : null,
        spellcheck: 'false',
        oninput: (e) => { playground[key] = e.target.value; renderRequest(); },
      }),
    );
  }
  renderRequest();
  if (state.pasted) decodePasted();
}

function renderRequest() {
  const out = document.getElementById('playground-out');
  out.replaceChildren();
  let bytes;
  try {
    const p = playground;
    const position = Math.max(0, Math.min(0xffffffff, Number(p.position) || 0));
    bytes = encode_request(p.op, p.name, position, p.md5, p.mask, p.user, p.pass);
  } catch (e) {
    // The core says why, in both languages.
    let reason = String(e.message || e);
    try { const why = JSON.parse(reason); reason = pick(why.en, why.pt); } catch (_) { /* as it is */ }
    out.append(el('p', { class: 'error', role: 'status' }, t('encode_error', { reason })));
    return;
  }
  out.append(el('h4', {}, t('request_bytes')));
  out.append(el('p', { class: 'mono', 'data-testid': 'playground-bytes' }, Array.from(bytes, hex2).join(' ')));
  const decoded = JSON.parse(decode_exchange(bytes, new Uint8Array()));
  const m = decoded.messages[0];
  if (m) out.append(messageDetail(m, (offset, len) => bytes.slice(offset, offset + len), null, 'playground'));
}

function parseHex(text) {
  const clean = text.replace(/0x/gi, '').replace(/[\s,:]/g, '');
  if (clean.length % 2 !== 0 || /[^0-9a-f]/i.test(clean)) return null;
  const bytes = new Uint8Array(clean.length / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(clean.slice(2 * i, 2 * i + 2), 16);
  return bytes;
}

function decodePasted() {
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
    out.append(messageDetail(m, (offset, len) => bytes.slice(offset, offset + len), null, `pasted-${i}`));
  });
  const findings = el('ul', { class: 'findings' });
  for (const a of c.anomalies) findings.append(anomalyItem(a));
  out.append(findings);
}

// ---------- start ----------

function start() {
  state.memory = initSync({ module: base64ToBytes(WASM_BASE64) }).memory;
  const input = document.getElementById('file');
  input.addEventListener('change', () => {
    if (input.files[0]) openFile(input.files[0]);
    input.value = '';
  });
  const keylog = document.getElementById('keylog');
  keylog.addEventListener('change', () => {
    if (keylog.files[0]) openKeylog(keylog.files[0]);
    keylog.value = '';
  });
  const drop = document.getElementById('drop');
  for (const name of ['dragenter', 'dragover']) {
    document.addEventListener(name, (e) => { e.preventDefault(); drop.classList.add('active'); });
  }
  document.addEventListener('dragleave', () => drop.classList.remove('active'));
  document.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('active');
    const file = e.dataTransfer.files[0];
    if (file) openFile(file);
  });
  const examples = document.getElementById('examples');
  for (const example of EXAMPLES) {
    examples.append(el('button', {
      'data-testid': `example-${example.name}${example.keys ? '+keys' : ''}`,
      onclick: () => {
        state.openedAt = performance.now();
        // An example with its own key log opens with it; the user's key
        // log, if any, stays for what is opened next.
        openCapture(base64ToBytes(example.base64), example.keys ? base64ToBytes(example.keys) : state.keylog);
      },
    }, example.keys ? `${example.name} + ${example.keysName}` : example.name,
    el('span', { class: 'about', 'data-t': example.about }, t(example.about))));
  }
  for (const button of document.querySelectorAll('[data-lang]')) {
    button.addEventListener('click', () => { state.lang = button.dataset.lang; render(); });
  }
  for (const side of ['client', 'server']) {
    const box = document.getElementById(`paste-${side}`);
    box.value = playground[side];
    box.addEventListener('input', () => { playground[side] = box.value; });
  }
  document.getElementById('paste-decode').addEventListener('click', decodePasted);
  render();
  document.body.dataset.ready = 'true';
}

try {
  start();
} catch (e) {
  showError('read_error', { reason: String(e.message || e) });
}
