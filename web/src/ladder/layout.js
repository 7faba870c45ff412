// The diagram's geometry: where the frame column, the two lifelines and
// the rows go for a pane of a given width, and which rows a scroll
// position shows. Pure arithmetic, checked by node --test.

/** Height of one row, in pixels: room for a label above its arrow. */
export const ROW = 30;
/** Height of the header above the rows (the lane labels, the column's). */
export const HEADER = 38;
/** Room beside each lifeline, outside the lanes: a message's bracket. */
export const LANE_SIDE = 28;
/** Room kept free at each end of an arrow, inside the lanes: its head. */
const ARROW_END = 22;
/** The narrowest and widest gap between the lifelines. */
export const MIN_GAP = 220;
const MAX_GAP = 640;
/** Rows drawn beyond what the pane shows, above and below. */
export const MARGIN_ROWS = 60;

/** Where things go for a pane `pane` pixels wide whose frame column
 *  needs `frameColumn` pixels: `client` and `server` are the lifelines'
 *  x, `room` the width a label between them may take, `width` the whole
 *  diagram's (wider than the pane only when the pane is narrower than
 *  the narrowest gap allows: then the pane scrolls). */
export function geometry(pane, frameColumn) {
  const client = Math.ceil(frameColumn) + 8 + LANE_SIDE;
  const gap = Math.max(MIN_GAP, Math.min(MAX_GAP, Math.floor(pane - client - LANE_SIDE - 4)));
  const server = client + gap;
  return { client, server, width: server + LANE_SIDE + 4, room: gap - 2 * ARROW_END };
}

/** Whether the frame column has room for each segment's time beside its
 *  frame number (not on a phone). */
export function withTimes(pane) {
  return pane >= 520;
}

/** The x where a label `width` wide, centred on `x`, starts, kept within
 *  [0, total]. */
export function centred(x, width, total) {
  return Math.max(2, Math.min(total - width - 2, x - width / 2));
}

/** The rows to draw for a scroll position: those the pane shows and
 *  MARGIN_ROWS more each way, as [first, end). */
export function rowWindow(scrollTop, viewHeight, total) {
  const first = Math.max(0, Math.floor(scrollTop / ROW) - MARGIN_ROWS);
  const end = Math.min(total, Math.ceil((scrollTop + viewHeight) / ROW) + MARGIN_ROWS);
  return [first, Math.max(first, end)];
}

/** Whether the drawn rows [first, end) still cover what a scroll position
 *  shows, with a quarter of the margin to spare. */
export function covers([first, end], scrollTop, viewHeight, total) {
  const spare = MARGIN_ROWS / 4;
  const top = Math.floor(scrollTop / ROW);
  const bottom = Math.ceil((scrollTop + viewHeight) / ROW);
  return (first === 0 || top - spare >= first) && (end === total || bottom + spare <= end);
}

/** The scroll position that brings row `row` into a pane `viewHeight`
 *  high now at `scrollTop`: unchanged when it is in view, else the row a
 *  third of the way down. */
export function scrollFor(row, scrollTop, viewHeight) {
  const y = row * ROW;
  if (y >= scrollTop && y + ROW <= scrollTop + viewHeight) return scrollTop;
  return Math.max(0, y - Math.floor(viewHeight / 3));
}
