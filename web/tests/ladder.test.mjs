// The sequence diagram before drawing: folding rows (web/src/ladder/rows.js)
// and the layout arithmetic (web/src/ladder/layout.js).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ladderRows, findingFrames, foldsHolding, FOLD_KEEP } from '../src/ladder/rows.js';
import { geometry, withTimes, rowWindow, covers, scrollFor, centred, ROW, MIN_GAP, LANE_SIDE, MARGIN_ROWS } from '../src/ladder/layout.js';

/** A download: handshake (frames 1-3), a request (4), `data` segments of
 *  its body from frame 5 (those in `roles` with a role), a FIN (last).
 *  The handshake's last ACK, the request and the data are one run of
 *  `data + 2` plain segments. */
function download(data, roles = {}) {
  const seg = (frame, direction, flags, len = 0) => ({ frame, direction, flags, len, time_us: frame, role: roles[frame] ?? null });
  const segments = [seg(1, 'to_server', 'SYN'), seg(2, 'to_client', 'SYN ACK'), seg(3, 'to_server', 'ACK'), seg(4, 'to_server', 'PSH ACK', 14)];
  for (let i = 0; i < data; i++) segments.push(seg(5 + i, 'to_client', 'ACK', 1448));
  segments.push(seg(5 + data, 'to_server', 'FIN ACK'));
  const body = Array.from({ length: data }, (_, i) => 5 + i);
  return {
    segments,
    messages: [
      { direction: 'to_server', frames: [4] },
      { direction: 'to_client', frames: body },
    ],
  };
}

const kinds = (rows) => rows.map((r) => r.kind);

test('a short run is drawn whole, each message after its first frame', () => {
  const { rows, rowOfFrame, spans } = ladderRows(download(10));
  assert.equal(rows.filter((r) => r.kind === 'segment').length, 4 + 10 + 1);
  assert.deepEqual(kinds(rows).slice(0, 7), ['segment', 'segment', 'segment', 'segment', 'message', 'segment', 'message']);
  assert.equal(rowOfFrame(4), 3);
  assert.deepEqual(spans.map((s) => [s.top, s.bottom]), [[3, 3], [5, rowOfFrame(14)]]);
});

test('a long run folds between its first and last rows, and opens in place', () => {
  const c = download(30);
  const folded = ladderRows(c);
  const fold = folded.rows.find((r) => r.kind === 'fold');
  assert.equal(fold.segs.length, 32 - 2 * FOLD_KEEP);
  assert.equal(fold.key, 3 + FOLD_KEEP);
  // Every frame of the fold is shown by the fold's row.
  const at = folded.rows.indexOf(fold);
  for (const s of fold.segs) assert.equal(folded.rowOfFrame(s.frame), at);
  // SYN, SYN-ACK, the run's two ends and its fold, FIN, two messages.
  assert.equal(folded.rows.length, 2 + 2 * FOLD_KEEP + 1 + 1 + 2);

  const opened = ladderRows(c, new Set([fold.key]));
  assert.equal(opened.rows.filter((r) => r.kind === 'fold').length, 0);
  const unfold = opened.rows.findIndex((r) => r.kind === 'unfold');
  assert.equal(opened.rows[unfold].key, fold.key);
  // The fold's segments follow its row, in order.
  assert.deepEqual(opened.rows.slice(unfold + 1, unfold + 1 + fold.segs.length).map((r) => r.seg.frame), fold.segs.map((s) => s.frame));
  assert.equal(opened.rows.length, folded.rows.length + fold.segs.length);
  assert.equal(opened.spans[1].bottom, opened.rowOfFrame(34));
});

test('a fold of 100,000 segments opens into 100,000 rows', () => {
  const c = download(100_000 - 2 + 2 * FOLD_KEEP);
  const fold = ladderRows(c).rows.find((r) => r.kind === 'fold');
  assert.equal(fold.segs.length, 100_000);
  const opened = ladderRows(c, new Set([fold.key]));
  assert.equal(opened.rows.filter((r) => r.kind === 'segment').length, c.segments.length);
});

test('a finding names the frames of its role and direction, and the folds that hide them', () => {
  const roles = {};
  for (let f = 12; f < 26; f++) roles[f] = 'retransmission';
  const c = download(40, roles);
  const frames = findingFrames(c, { kind: 'retransmission', direction: 'to_client' });
  assert.deepEqual(frames, Array.from({ length: 14 }, (_, i) => 12 + i));
  assert.deepEqual(findingFrames(c, { kind: 'retransmission', direction: 'to_server' }), []);
  assert.deepEqual(findingFrames(c, { kind: 'gap', direction: 'to_client' }), []);
  // The 14 retransmissions fold on their own (one role), between runs of
  // plain data too short to fold.
  const folds = ladderRows(c).rows.filter((r) => r.kind === 'fold');
  assert.deepEqual(folds.map((f) => f.role), ['retransmission', null]);
  assert.deepEqual(foldsHolding(c, frames), [folds[0].key]);
});

test('the lanes fill a wide pane and keep their narrowest gap in a narrow one', () => {
  const wide = geometry(1100, 90);
  assert.equal(wide.client, 90 + 8 + LANE_SIDE);
  assert.ok(wide.width <= 1100);
  const narrow = geometry(300, 90);
  assert.equal(narrow.server - narrow.client, MIN_GAP);
  for (let pane = 300; pane <= 2000; pane += 10) {
    for (let column = 40; column <= 140; column += 20) {
      const g = geometry(pane, column);
      assert.ok(g.room > 0);
      // The diagram fits its pane when the narrowest gap does, and is
      // never more than twice as wide (the pane then scrolls).
      if (pane >= column + 8 + 2 * LANE_SIDE + 4 + MIN_GAP) assert.ok(g.width <= pane, `${pane} ${column}`);
      assert.ok(g.width <= 2 * pane, `${pane} ${column}`);
    }
  }
});

test('a phone leaves the times out of the frame column', () => {
  assert.equal(withTimes(1100), true);
  assert.equal(withTimes(385), false);
});

test('a label is centred on its lane but kept inside the diagram', () => {
  assert.equal(centred(200, 100, 600), 150);
  assert.equal(centred(20, 100, 600), 2);
  assert.equal(centred(590, 100, 600), 498);
});

test('rows are drawn around what the pane shows, and again only near their edge', () => {
  assert.deepEqual(rowWindow(0, 600, 30), [0, 30]);
  const total = 100_000;
  const top = 50_000 * ROW;
  const drawn = rowWindow(top, 600, total);
  assert.deepEqual(drawn, [50_000 - MARGIN_ROWS, 50_000 + 20 + MARGIN_ROWS]);
  assert.ok(covers(drawn, top + 10 * ROW, 600, total));
  assert.ok(!covers(drawn, top + MARGIN_ROWS * ROW, 600, total));
  assert.ok(!covers(drawn, top - MARGIN_ROWS * ROW, 600, total));
});

test('revealing a row scrolls only when it is out of view', () => {
  assert.equal(scrollFor(5, 0, 600), 0);
  assert.equal(scrollFor(100, 0, 600), 100 * ROW - 200);
  assert.equal(scrollFor(0, 900, 600), 0);
});
