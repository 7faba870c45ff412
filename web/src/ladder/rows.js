// The rows of a conversation's sequence diagram, before any drawing:
// TCP segments (long runs folded into one row, unless opened), and each
// ferry message right after the first segment that carried it. Pure, so
// node --test checks the folding.

/** Runs of more segments than this fold into one row... */
const FOLD_RUN = 12;
/** ...keeping this many rows at each end. */
export const FOLD_KEEP = 4;

/** The segment role each TCP finding names. */
const ROLE_OF_KIND = {
  retransmission: 'retransmission',
  out_of_order: 'out_of_order',
  duplicate_ack: 'duplicate_ack',
  zero_window: 'zero_window',
  window_update: 'window_update',
  window_probe: 'probe',
};

/** The handshake and the close: never folded, drawn darker. */
export const special = (s) => /SYN|FIN|RST/.test(s.flags);
/** Something TCP did that a finding names (a retransmission, a hole
 *  filled...), beyond carrying data or acknowledging it. */
export const notable = (s) => Boolean(s.role && s.role !== 'ack');
/** Segments that fold together: plain ones, or notable ones of one role
 *  and one direction. */
const together = (a, b) => notable(a) === notable(b)
  && (!notable(a) || (a.role === b.role && a.direction === b.direction));

/** The segment rows: `segment` rows, `fold` rows (a folded run: `segs`,
 *  `role`, `key` its first frame) and, for a fold opened (`expanded` holds
 *  its key), an `unfold` row followed by its segments. `rowOf` maps each
 *  frame to its row. */
function segmentRows(segs, expanded) {
  const rows = [];
  const rowOf = new Map();
  const push = (row, frames) => {
    rows.push(row);
    for (const frame of frames) rowOf.set(frame, rows.length - 1);
  };
  let i = 0;
  while (i < segs.length) {
    if (special(segs[i])) {
      push({ kind: 'segment', seg: segs[i] }, [segs[i].frame]);
      i++;
      continue;
    }
    let j = i;
    while (j < segs.length && !special(segs[j]) && together(segs[i], segs[j])) j++;
    const run = segs.slice(i, j);
    const role = notable(run[0]) ? run[0].role : null;
    const fold = run.length > FOLD_RUN ? run.slice(FOLD_KEEP, run.length - FOLD_KEEP) : [];
    const key = fold.length ? fold[0].frame : null;
    const open = key !== null && expanded.has(key);
    run.forEach((s, k) => {
      const folded = fold.length && k >= FOLD_KEEP && k < run.length - FOLD_KEEP;
      if (folded && k === FOLD_KEEP) {
        if (open) rows.push({ kind: 'unfold', segs: fold, role, key });
        else push({ kind: 'fold', segs: fold, role, key }, fold.map((f) => f.frame));
      }
      if (!folded || open) push({ kind: 'segment', seg: s }, [s.frame]);
    });
    i = j;
  }
  return { rows, rowOf };
}

/** Every row of the diagram, in order: segment rows and `message` rows
 *  (`index` into `c.messages`). `rowOfFrame(frame)` is the row showing a
 *  frame (its fold's, when folded); `spans` gives each message row the
 *  rows of its first and last frames (`top`, `bottom`; null when none of
 *  its frames was captured). */
export function ladderRows(c, expanded = new Set()) {
  const { rows, rowOf } = segmentRows(c.segments, expanded);
  // Each message goes after the row of its first frame.
  const after = new Map();
  let last = -1;
  c.messages.forEach((m, index) => {
    const row = m.frames.length ? rowOf.get(m.frames[0]) ?? last : last;
    last = row;
    if (!after.has(row)) after.set(row, []);
    after.get(row).push(index);
  });
  const out = [];
  const moved = new Map(); // segment row -> its row among all rows
  const place = (row) => {
    for (const index of after.get(row) || []) out.push({ kind: 'message', index, msg: c.messages[index] });
  };
  place(-1);
  rows.forEach((row, r) => {
    moved.set(r, out.length);
    out.push(row);
    place(r);
  });
  const rowOfFrame = (frame) => moved.get(rowOf.get(frame));
  const spans = [];
  out.forEach((row, r) => {
    if (row.kind !== 'message') return;
    // Frames come in capture order, so their rows do too.
    const rowsOf = row.msg.frames.map(rowOfFrame).filter((x) => x !== undefined);
    spans.push(rowsOf.length
      ? { row: r, top: rowsOf[0], bottom: rowsOf[rowsOf.length - 1] }
      : { row: r, top: null, bottom: null });
  });
  return { rows: out, rowOfFrame, spans };
}

/** The frames a TCP finding names: its direction's segments of the role
 *  it counts (none for other findings). */
export function findingFrames(c, finding) {
  const role = ROLE_OF_KIND[finding.kind];
  if (!role) return [];
  return c.segments
    .filter((s) => s.role === role && (!finding.direction || s.direction === finding.direction))
    .map((s) => s.frame);
}

/** The keys of the folds that hide any of `frames`. */
export function foldsHolding(c, frames) {
  const wanted = new Set(frames);
  return segmentRows(c.segments, new Set()).rows
    .filter((row) => row.kind === 'fold' && row.segs.some((s) => wanted.has(s.frame)))
    .map((row) => row.key);
}
