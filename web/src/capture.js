// A decoded capture on the page: its summary, the list of conversations
// (a selector on a phone), the selected conversation's sequence diagram
// and findings, and the selected message.
import { el } from './dom.js';
import { state } from './state.js';
import { t, said, num } from './words.js';
import { outcomeKey } from './outcome.js';
import { drawLadder, showSelected, showFrames, focusFold } from './ladder/draw.js';
import { findingFrames, foldsHolding } from './ladder/rows.js';
import { renderMessage } from './message.js';

/** The title of conversation `c`: its first ferry message and how it
 *  ended, or, for TLS not opened, what its handshake says. */
function title(c) {
  const first = c.messages.find((m) => m.layer !== 'tls');
  if (!first) {
    if (!c.tls) return '—';
    const key = c.tls.version === 'TLS 1.3' || !c.tls.version ? 'tls_conversation' : 'tls_conversation_old';
    return t(key, { version: c.tls.version || '?', name: c.tls.server_name || '—' });
  }
  const outcome = outcomeKey(c);
  return outcome ? `${said(first.sentence)}: ${t(outcome)}` : said(first.sentence);
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
  for (const note of tr.notes) notes.append(findingItem(note, null));
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
    if (c.anomalies.length === 0) findings.append(el('li', { class: 'none' }, t('no_anomalies')));
    for (const a of c.anomalies) findings.append(findingItem(a, c));
  }
  renderMessage({ onSelect: selectMessage });
}

/** Selects message `index` of the conversation shown. */
export function selectMessage(index) {
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

/** Draws the diagram again (the message shown stays), then `after()`. */
function redrawKeeping(after) {
  const box = document.querySelector('#ladder .ladder-scroll');
  const top = box ? box.scrollTop : 0;
  const c = state.transcript.connections[state.conn];
  const drawn = drawLadder(document.getElementById('ladder'), c, { onSelect: selectMessage, onToggle: toggleFold });
  drawn.box.scrollTop = top;
  drawn.draw(true);
  after();
}

/** Opens the folds hiding the frames a finding names, highlights them
 *  and scrolls to the first. */
function showFinding(c, frames) {
  for (const key of foldsHolding(c, frames)) state.expanded.add(key);
  state.found = new Set(frames);
  redrawKeeping(() => showFrames(frames));
}

const LESSONS = ['clear_text_password', 'encrypted', 'duplicate_ack', 'zero_window', 'window_update', 'window_probe'];
const NOTES = ['retransmission', 'out_of_order', 'mid_stream', 'trailing_bytes', 'skipped'];

/** A finding: its badge, its sentence and, when it names frames of
 *  conversation `c`, a button that shows them. */
export function findingItem(a, c) {
  const category = LESSONS.includes(a.kind) ? 'lesson' : NOTES.includes(a.kind) ? 'note' : 'problem';
  const item = el('li', { class: `finding ${category}`, 'data-kind': a.kind },
    el('span', { class: 'badge' }, t(category)), ' ', said(a.sentence));
  const frames = c ? findingFrames(c, a) : [];
  if (frames.length) {
    item.append(' ', el('button', { type: 'button', class: 'show-frames', 'data-testid': 'show-frames', onclick: () => showFinding(c, frames) },
      t('show_frames')));
  }
  return item;
}
