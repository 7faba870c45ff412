// The teaching page: a capture of ferry traffic, decoded in the browser by
// ferry's own core (WebAssembly), shown as a sequence diagram of TCP
// segments and ferry messages, every byte explained. Plain DOM, no
// framework; web/build.mjs bundles these modules, the core's bindings
// and the example captures into one file that opens from disk.
import { initSync, Capture, keylog_conversations, version } from 'ferry-wasm';
import { WASM_BASE64, EXAMPLES } from 'ferry-assets';
import { el } from './dom.js';
import { state } from './state.js';
import { t, reasonOf } from './words.js';
import { base64ToBytes } from './format.js';
import { renderCapture, renderConversation, selectConversation } from './capture.js';
import { playground, renderPlayground, decodePasted } from './playground.js';

// ---------- errors: always a sentence on the page ----------

/** Shows the page's sentence `key` as the error (kept across a language
 *  switch). */
function showError(key, args = {}) {
  state.error = { key, args };
  renderError();
}

/** The error box: the sentence shown, or hidden. */
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
  decode(bytes, keylog);
  // Counted once it is shown, or refused: tests wait for it.
  document.body.dataset.opened = String(Number(document.body.dataset.opened ?? 0) + 1);
}

/** [`openCapture`]'s work: the capture decoded and drawn, or its error. */
function decode(bytes, keylog) {
  state.error = null;
  renderError();
  let capture;
  const decodeStart = performance.now();
  try {
    capture = new Capture(bytes, new Uint16Array(), keylog);
  } catch (e) {
    // The core says what went wrong (a kind) and why, in both languages.
    const { kind, reason } = reasonOf(e);
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
  // the first diagram on screen.
  document.body.dataset.decodeMs = (performance.now() - decodeStart).toFixed(1);
  document.body.dataset.wasmBytes = String(state.memory.buffer.byteLength);
  state.conn = 0;
  state.msg = null;
  state.field = null;
  state.expanded = new Set();
  state.found = new Set();
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
    showError('bad_keylog', { reason: reasonOf(e).reason });
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

/** What the key log given holds, beside its button. */
function renderKeylog() {
  const status = document.getElementById('keylog-status');
  status.textContent = state.keylog.length ? t('keylog_loaded', { n: state.keylogConversations }) : '';
}

/** Reads a file the user gave, then hands its bytes to `use`. */
async function readFile(file, use) {
  try {
    use(new Uint8Array(await file.arrayBuffer()));
  } catch (e) {
    showError('read_error', { reason: String(e.message || e) });
  }
}

/** Opens a capture the user picked or dropped. */
async function openFile(file) {
  state.openedAt = performance.now();
  document.getElementById('status').textContent = t('loading');
  await readFile(file, (bytes) => openCapture(bytes));
  document.getElementById('status').textContent = '';
}

// ---------- rendering ----------

/** Draws the whole page again in the language chosen. */
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

// ---------- start ----------

/** Loads the core, wires the controls and draws the page. */
function start() {
  state.memory = initSync({ module: base64ToBytes(WASM_BASE64) }).memory;
  const input = document.getElementById('file');
  input.addEventListener('change', () => {
    if (input.files[0]) openFile(input.files[0]);
    input.value = '';
  });
  const keylog = document.getElementById('keylog');
  keylog.addEventListener('change', () => {
    if (keylog.files[0]) readFile(keylog.files[0], useKeylog);
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
  document.getElementById('conversation-select').addEventListener('change', (e) => selectConversation(Number(e.target.value)));
  for (const side of ['client', 'server']) {
    const box = document.getElementById(`paste-${side}`);
    box.value = playground[side];
    box.addEventListener('input', () => { playground[side] = box.value; });
  }
  document.getElementById('paste-decode').addEventListener('click', decodePasted);
  // The diagram is laid out for its pane's width and the bytes view for
  // the window's: both are drawn again when the width changes enough.
  let width = window.innerWidth;
  window.addEventListener('resize', () => {
    if (!state.transcript || Math.abs(window.innerWidth - width) < 40) return;
    width = window.innerWidth;
    renderConversation();
  });
  render();
  document.body.dataset.ready = 'true';
}

try {
  start();
} catch (e) {
  showError('read_error', { reason: String(e.message || e) });
}
