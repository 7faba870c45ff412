// A finding of the decoder (a problem, a lesson, a note) as a list item:
// its badge, its sentence and, when it names frames of a conversation, a
// button that shows them in the diagram.
import { el } from './dom.js';
import { t, said } from './words.js';
import { findingFrames } from './ladder/rows.js';

const LESSONS = ['clear_text_password', 'encrypted', 'duplicate_ack', 'zero_window', 'window_update', 'window_probe'];
const NOTES = ['retransmission', 'out_of_order', 'mid_stream', 'trailing_bytes', 'skipped'];

/** Finding `a`; with conversation `c` and `onShow(frames)`, a button
 *  that shows the frames it names. */
export function findingItem(a, c = null, onShow = null) {
  const category = LESSONS.includes(a.kind) ? 'lesson' : NOTES.includes(a.kind) ? 'note' : 'problem';
  const item = el('li', { class: `finding ${category}`, 'data-kind': a.kind },
    el('span', { class: 'badge' }, t(category)), ' ', said(a.sentence));
  const frames = c && onShow ? findingFrames(c, a) : [];
  if (frames.length) {
    item.append(' ', el('button', { type: 'button', class: 'show-frames', 'data-testid': 'show-frames', onclick: () => onShow(frames) },
      t('show_frames')));
  }
  return item;
}
