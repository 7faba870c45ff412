// The sequence diagram of one conversation, drawn as SVG: time runs down,
// thin arrows are TCP segments, coloured bands ferry messages. Only the
// rows near what the pane shows are drawn, so a conversation of a
// million segments, or a fold of 100,000 opened, scrolls as lightly as
// one of ten.
import { el, svg, measure } from '../dom.js';
import { state } from '../state.js';
import { t, said, num, since } from '../words.js';
import { fit } from '../format.js';
import { ladderRows, notable, special } from './rows.js';
import { ROW, HEADER, geometry, withTimes, centred, rowWindow, covers, scrollFor } from './layout.js';

/** The fonts of the diagram's texts, as style.css gives them (labels are
 *  measured in them to fit between the lifelines). */
const FONT = {
  lane: '700 12px system-ui, sans-serif',
  column: '11px ui-monospace, Menlo, Consolas, monospace',
  segment: '10px system-ui, sans-serif',
  message: '600 11.5px system-ui, sans-serif',
};

/** The diagram on screen: its rows and how to move through them. */
let current = null;

/** Draws conversation `c` into `host`. `onSelect(index)` is told of a
 *  message chosen, `onToggle(key)` of a fold opened or closed; with
 *  `keepScroll`, the diagram stays scrolled where the one it replaces was. */
export function drawLadder(host, c, { onSelect, onToggle }, { keepScroll = false } = {}) {
  const laid = ladderRows(c, state.expanded);
  const total = laid.rows.length;
  const before = keepScroll ? host.querySelector('.ladder-scroll') : null;
  const [top, left] = before ? [before.scrollTop, before.scrollLeft] : [0, 0];
  // Laid out for the room inside the pane's border and scrollbar.
  const box = el('div', { class: 'ladder-scroll', 'data-testid': 'ladder-scroll' });
  host.replaceChildren(box);
  const pane = box.clientWidth || host.clientWidth || 600;
  // On a phone the frame column leaves the times to the message's details.
  const times = withTimes(pane);
  const lastFrame = c.segments.length ? c.segments[c.segments.length - 1].frame : 0;
  const lastTime = c.segments.reduce((most, s) => Math.max(most, s.time_us), 0);
  const digits = '9'.repeat(String(lastFrame).length);
  const columnHead = times ? `${t('frame')} · s` : t('frame');
  const frameColumn = Math.max(
    measure(times ? `${digits}  ${since(lastTime)}` : digits, FONT.column),
    measure(`${digits}–${digits}`, FONT.column),
    measure(columnHead, FONT.column),
  );
  const g = { ...geometry(pane, frameColumn), times };

  const head = svg('svg', { class: 'ladder-head', width: g.width, height: HEADER });
  const lane = (x, whole) => {
    // Each lane label has half the diagram: long addresses never meet.
    const text = fit(whole, g.width / 2 - 8, (s) => measure(s, FONT.lane));
    const width = measure(text, FONT.lane);
    return svg('text', { x: centred(x, width, g.width), y: 14, class: 'lane-label' }, text);
  };
  head.append(
    lane(g.client, `${t('client')} ${c.client}`),
    lane(g.server, `${t('server')} ${c.server}`),
    svg('text', { x: 4, y: 32, class: 'col-label' }, columnHead),
  );
  const height = total * ROW + 8;
  const body = svg('svg', {
    width: g.width,
    height,
    role: 'group',
    'aria-label': t('ladder'),
    'data-testid': 'ladder',
    'data-rows': total,
  });
  // Highlights go under the lifelines, rows over them.
  const under = svg('g');
  const layer = svg('g');
  body.append(
    under,
    svg('line', { x1: g.client, y1: 0, x2: g.client, y2: height, class: 'lane' }),
    svg('line', { x1: g.server, y1: 0, x2: g.server, y2: height, class: 'lane' }),
    layer,
  );
  box.append(head, body);

  const rowOfMessage = new Map(laid.spans.map((s) => [laid.rows[s.row].index, s.row]));
  const view = () => Math.max(ROW, box.clientHeight - HEADER);
  let drawn = [0, 0];
  const draw = (force) => {
    if (!force && covers(drawn, box.scrollTop, view(), total)) return;
    drawn = rowWindow(box.scrollTop, view(), total);
    // The row that has the keyboard keeps it when it is drawn again.
    const focused = layer.contains(document.activeElement) ? document.activeElement : null;
    const index = focused?.dataset.index;
    const key = focused?.dataset.key;
    layer.replaceChildren();
    under.replaceChildren();
    const [first, end] = drawn;
    for (const s of laid.spans) {
      if (s.top !== null && s.bottom >= first && s.top < end) layer.append(bracket(g, laid.rows[s.row].msg, s, drawn));
    }
    for (let r = first; r < end; r++) {
      const row = laid.rows[r];
      if (row.kind === 'segment' && state.found.has(row.seg.frame)) {
        under.append(svg('rect', { x: 0, y: r * ROW, width: g.width, height: ROW, class: 'found' }));
      }
      layer.append(drawRow(g, row, r, { onSelect, onToggle }));
    }
    const again = index !== undefined ? layer.querySelector(`[data-index="${index}"]`)
      : key !== undefined ? layer.querySelector(`[data-key="${key}"]`) : null;
    again?.focus({ preventScroll: true });
  };
  let pending = false;
  box.addEventListener('scroll', () => {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => {
      pending = false;
      draw(false);
    });
  });
  box.scrollTop = top;
  box.scrollLeft = left;
  draw(true);
  current = {
    order: laid.rows.filter((r) => r.kind === 'message').map((r) => r.index),
    /** Scrolls row `r` into view and draws what is then shown. */
    reveal(r) {
      box.scrollTop = scrollFor(r, box.scrollTop, view());
      draw(false);
    },
    rowOfMessage,
    rowOfFrame: laid.rowOfFrame,
    draw,
    box,
  };
  return current;
}

/** Messages in the order the diagram shows them (for the arrow keys). */
function messageOrder() {
  return current ? current.order : [];
}

/** Marks message `index` selected and scrolls it into view; with `focus`,
 *  it gets the keyboard too. */
export function showSelected(index, focus = true) {
  if (!current) return;
  const row = current.rowOfMessage.get(index);
  if (row !== undefined) current.reveal(row);
  for (const group of current.box.querySelectorAll('[data-testid=message]')) {
    const on = Number(group.dataset.index) === index;
    group.classList.toggle('selected', on);
    group.setAttribute('aria-pressed', String(on));
    if (on && focus) group.focus({ preventScroll: true });
  }
}

/** Scrolls to the first of `frames` (drawn highlighted). */
export function showFrames(frames) {
  if (!current || !frames.length) return;
  const row = current.rowOfFrame(frames[0]);
  if (row !== undefined) current.reveal(row);
  current.draw(true);
}

/** Focuses the fold row `key` (after it was opened or closed). */
export function focusFold(key) {
  current?.box.querySelector(`[data-key="${key}"]`)?.focus({ preventScroll: true });
}

/** The x of an arrow's ends, from the sender's lifeline to the other. */
const ends = (g, direction) => (direction === 'to_server' ? [g.client, g.server] : [g.server, g.client]);

/** A message's bracket: on the sender's side, over the rows of the
 *  segments that carried it (cut to the rows drawn). */
function bracket(g, m, span, [first, end]) {
  const top = Math.max(span.top, first);
  const bottom = Math.min(span.bottom, end - 1);
  const y1 = top * ROW + 4;
  const y2 = bottom * ROW + ROW - 4;
  const x = m.direction === 'to_server' ? g.client - 12 : g.server + 12;
  const tick = m.direction === 'to_server' ? 6 : -6;
  const from = span.top >= first ? `M${x + tick},${y1} H${x}` : `M${x},${y1}`;
  const to = span.bottom < end ? ` V${y2} H${x + tick}` : ` V${y2}`;
  return svg('path', { d: from + to, class: `bracket ${m.direction}` });
}

/** One row of the diagram, its middle at `r`'s height. */
function drawRow(g, row, r, actions) {
  const y = r * ROW + ROW / 2;
  if (row.kind === 'segment') return segmentRow(g, row.seg, y);
  if (row.kind === 'fold' || row.kind === 'unfold') return foldRow(g, row, y, actions);
  return messageRow(g, row, y, actions);
}

/** The frame column's text of a row. */
function frameLabel(y, text) {
  return svg('text', { x: 4, y: y + 4, class: 'frame-label' }, text);
}

/** A TCP segment: a thin arrow, its flags, length and role above it. */
function segmentRow(g, s, y) {
  const found = state.found.has(s.frame);
  const group = svg('g', { class: `segment${found ? ' found' : ''}`, 'data-frame': s.frame });
  group.append(frameLabel(y, g.times ? `${s.frame}  ${since(s.time_us)}` : String(s.frame)));
  const [x1, x2] = ends(g, s.direction);
  const kind = special(s) ? 'seg special' : notable(s) ? 'seg notable' : 'seg';
  const back = x2 > x1 ? -7 : 7;
  group.append(
    svg('line', { x1, y1: y - 3, x2: x2 + back, y2: y + 7, class: kind }),
    svg('path', { d: `M${x2},${y + 7} L${x2 + back},${y + 3.5} L${x2 + back},${y + 10.5} z`, class: `arrowhead ${kind}` }),
  );
  const parts = [s.flags];
  if (s.len) parts.push(`${num(s.len)} B`);
  if (notable(s)) parts.push(t(`role_${s.role}`));
  const text = fit(parts.join(' · '), g.room, (x) => measure(x, FONT.segment));
  group.append(svg('text', { x: (g.client + g.server) / 2, y: y - 6, class: 'seg-label', 'text-anchor': 'middle' }, text));
  return group;
}

/** A folded run of segments (or the row that folds an opened one back):
 *  a button. */
function foldRow(g, row, y, { onToggle }) {
  const open = row.kind === 'unfold';
  const first = row.segs[0].frame;
  const last = row.segs[row.segs.length - 1].frame;
  const what = open ? t('folded_back', { n: num(row.segs.length) })
    : row.role ? t('segments_folded_role', { n: num(row.segs.length), role: t(`role_${row.role}`) })
      : t('segments_folded', { n: num(row.segs.length) });
  const full = `${open ? '▴' : '▾'} ${t('frames', { first, last })}: ${what}`;
  const group = svg('g', {
    class: `fold${open ? ' open' : ''}`,
    tabindex: 0,
    role: 'button',
    'aria-expanded': String(open),
    'data-testid': 'fold',
    'data-key': row.key,
    onclick: () => onToggle(row.key),
    onkeydown: (e) => {
      if (e.key === 'Enter' || e.key === ' ') {
        e.preventDefault();
        onToggle(row.key);
      }
    },
  });
  group.append(
    svg('rect', { x: g.client, y: y - ROW / 2 + 3, width: g.server - g.client, height: ROW - 6, class: 'fold-band', rx: 4 }),
    frameLabel(y, `${first}–${last}`),
    svg('text', { x: (g.client + g.server) / 2, y: y + 4, class: 'fold-label', 'text-anchor': 'middle' },
      fit(full, g.room, (x) => measure(x, FONT.segment))),
    svg('title', {}, `${full} (${t(open ? 'fold_close' : 'fold_open')})`),
  );
  return group;
}

/** A ferry message: a band and a thick arrow from its sender, its
 *  summary, size and time above (what it is kept first when they do not
 *  all fit; the whole in a tooltip and in the message's details). */
function messageRow(g, row, y, { onSelect }) {
  const m = row.msg;
  const [x1, x2] = ends(g, m.direction);
  const selected = row.index === state.msg;
  const group = svg('g', {
    class: `message ${m.direction} ${m.layer}${selected ? ' selected' : ''}`,
    tabindex: 0,
    role: 'button',
    'aria-pressed': String(selected),
    'data-testid': 'message',
    'data-index': row.index,
    onclick: () => onSelect(row.index),
    onkeydown: (e) => messageKey(e, row.index, onSelect),
  });
  const dx = x2 > x1 ? -10 : 10;
  group.append(
    svg('rect', { x: Math.min(x1, x2), y: y - ROW / 2 + 2, width: Math.abs(x2 - x1), height: ROW - 4, class: 'band', rx: 4 }),
    svg('path', { d: `M${x1},${y} L${x2},${y}`, class: 'msg-arrow' }),
    svg('path', { d: `M${x2 + dx},${y - 6} L${x2},${y} L${x2 + dx},${y + 6}`, class: 'msg-arrow arrowhead' }),
  );
  const summary = said(m.sentence);
  const what = m.layer === 'decrypted' ? t('inside_tls', { summary }) : summary;
  const size = ` · ${num(m.len)} B`;
  const time = ` · ${m.time_us === null ? '?' : since(m.time_us)} s`;
  // What it is comes first: the time goes when it does not fit, then the
  // size, then the end of what it is.
  const width = (x) => measure(x, FONT.message);
  const label = [what + size + time, what + size].find((x) => width(x) <= g.room) ?? fit(what, g.room, width);
  group.append(
    svg('text', { x: (g.client + g.server) / 2, y: y - 5, class: 'msg-label', 'text-anchor': 'middle' }, label),
    svg('title', {}, what + size + time),
  );
  return group;
}

/** A message's keys: Enter or Space selects it, the arrows the next or
 *  the one before. */
function messageKey(event, index, onSelect) {
  if (event.key === 'Enter' || event.key === ' ') {
    event.preventDefault();
    onSelect(index);
  } else if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
    event.preventDefault();
    const order = messageOrder();
    const at = order.indexOf(index);
    const next = Math.max(0, Math.min(order.length - 1, at + (event.key === 'ArrowDown' ? 1 : -1)));
    if (order.length) onSelect(order[next]);
  }
}
