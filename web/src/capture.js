// A decoded capture on the page: its summary, the list of conversations
// (a selector on a phone), the selected conversation's sequence diagram
// and findings, and the selected message.
import { el } from './dom.js';
import { state } from './state.js';
import { t, said, num } from './words.js';
import { outcomes } from './outcome.js';
import { drawLadder, showSelected, showFrames, focusFold } from './ladder/draw.js';
import { foldsHolding } from './ladder/rows.js';
import { renderMessage } from './message.js';
import { findingItem } from './findings.js';

/** The title of conversation `c`: its first ferry message and how it
 *  ended, or, for TLS not opened, what its handshake says. */
function title(c) {
  const first = c.messages.find((m) => m.layer !== 'tls');
  if (!first) {
    if (!c.tls) return '—';
    const key = c.tls.version === 'TLS 1.3' || !c.tls.version ? 'tls_conversation' : 'tls_conversation_old';
    return t(key, { version: c.tls.version || '?', name: c.tls.server_name || '—' });
  }
  const ended = outcomes(c).map(({ request, key }) => `${said(request.sentence)}: ${t(key)}`);
  return ended.length ? ended.join(' · ') : said(first.sentence);
}

/** The summary, the notes and the conversations; then the selected one. */
export function renderCapture() {
  const summary = document.getElementById('summary');
  const list = document.getElementById('conversations');
  const picker = document.getElementById('conversation-select');
  summary.replaceChildren();
  list.replaceChildren();
  picker.replaceChildren();
  document.getElementById('workspace').hidden = !state.transcript;
  const tr = state.transcript;
  if (!tr) return;
  summary.append(t('summary', { format: tr.format, packets: num(tr.packets), n: num(tr.connections.length) }));
  const notes = el('ul', { class: 'notes' });
  for (const note of tr.notes) notes.append(findingItem(note));
  if (tr.notes.length) summary.append(notes);
  if (!tr.connections.length) {
    summary.append(el('p', { class: 'empty' }, t('no_conversations', { packets: num(tr.packets) })));
  }
  tr.connections.forEach((c, i) => {
    const what = title(c);
    const meta = `${t('conversation_line', c)} · ${t('messages_count', { n: num(c.messages.length) })}`;
    list.append(el('li', {}, el('button', {
      'aria-pressed': String(i === state.conn),
      'data-testid': 'conversation',
      onclick: () => selectConversation(i),
    },
    el('span', { class: 'conv-number' }, `#${i + 1}`),
    el('span', { class: 'conv-what' }, what),
    el('span', { class: 'conv-meta' }, meta))));
    picker.append(el('option', { value: i, selected: i === state.conn }, `#${i + 1} ${what}`));
  });
  renderConversation();
}

/** Shows conversation `i`, nothing selected in it. */
export function selectConversation(i) {
  state.conn = i;
  state.msg = null;
  state.field = null;
  state.expanded = new Set();
  state.found = new Set();
  renderCapture();
}

/** The selected conversation's diagram and findings, then its message. */
export function renderConversation() {
  const c = state.transcript.connections[state.conn];
  const ladder = document.getElementById('ladder');
  const findings = document.getElementById('anomalies');
  ladder.replaceChildren();
  findings.replaceChildren();
  if (c) {
    drawLadder(ladder, c, { onSelect: selectMessage, onToggle: toggleFold });
    // Drawn again (a language switch, a resize): the message shown stays
    // in view.
    if (state.msg !== null) showSelected(state.msg, false);
    if (c.anomalies.length === 0) findings.append(el('li', { class: 'none' }, t('no_anomalies')));
    for (const a of c.anomalies) findings.append(findingItem(a, c, (frames) => showFinding(c, frames)));
  }
  renderMessage({ onSelect: selectMessage });
}

/** Selects message `index` of the conversation shown. */
function selectMessage(index) {
  state.msg = index;
  state.field = null;
  showSelected(index);
  renderMessage({ onSelect: selectMessage });
}

/** Opens or closes a fold of the diagram, keeping it focused. */
function toggleFold(key) {
  if (state.expanded.has(key)) state.expanded.delete(key);
  else state.expanded.add(key);
  redrawKeeping(() => focusFold(key));
}

/** Draws the diagram again where it was scrolled to, then `after()`. */
function redrawKeeping(after) {
  const c = state.transcript.connections[state.conn];
  drawLadder(document.getElementById('ladder'), c, { onSelect: selectMessage, onToggle: toggleFold }, { keepScroll: true });
  after();
}

/** Opens the folds hiding the frames a finding names, highlights them
 *  and scrolls to the first. */
function showFinding(c, frames) {
  for (const key of foldsHolding(c, frames)) state.expanded.add(key);
  state.found = new Set(frames);
  redrawKeeping(() => showFrames(frames));
}
