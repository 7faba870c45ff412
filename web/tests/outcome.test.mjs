// Conversation titles tell how they ended (web/src/outcome.js).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { outcomes } from '../src/outcome.js';

/** The outcome keys of a conversation, request by request. */
const outcomeKeys = (c) => outcomes(c).map((o) => o.key);
/** The outcome key of a conversation's one request. */
const outcomeKey = (c) => outcomeKeys(c)[0] ?? null;

const message = (direction, op, kind, fields = {}) => ({
  direction,
  op,
  kind,
  layer: 'ferry',
  fields: Object.entries(fields).map(([name, value]) => ({ name, value })),
});
const request = (op) => message('to_server', op, 'request');
const reply = (op, fields) => message('to_client', op, 'reply', fields);
const conv = (...messages) => ({ messages });

test('a login is accepted or denied, and the operation it opened has its own outcome', () => {
  assert.deepEqual(outcomeKeys(conv(request('AUTH'), reply('AUTH', { status: '0' }))), ['outcome_accepted']);
  assert.deepEqual(outcomeKeys(conv(request('AUTH'), reply('AUTH', { status: '1' }))), ['outcome_denied']);
  const opened = conv(request('AUTH'), reply('AUTH', { status: '0' }), request('DOWNLOAD'), reply('DOWNLOAD', { status: '1' }));
  assert.deepEqual(outcomeKeys(opened), ['outcome_accepted', 'outcome_not_found']);
  assert.deepEqual(outcomes(opened).map((o) => o.request.op), ['AUTH', 'DOWNLOAD']);
  // A denied login opens nothing, whatever the client sent after it.
  const denied = conv(request('AUTH'), reply('AUTH', { status: '1' }), request('DOWNLOAD'));
  assert.deepEqual(outcomeKeys(denied), ['outcome_denied']);
});

test('a download is ok or not found', () => {
  assert.equal(outcomeKey(conv(request('DOWNLOAD'), reply('DOWNLOAD', { status: '0', size: '18' }))), 'outcome_ok');
  assert.equal(outcomeKey(conv(request('DOWNLOAD'), reply('DOWNLOAD', { status: '1' }))), 'outcome_not_found');
});

test('an upload is refused, stored or not stored by its final status', () => {
  const final = (status) => message('to_client', 'UPLOAD', 'final status', { status });
  assert.equal(outcomeKey(conv(request('UPLOAD'), reply('UPLOAD', { status: '1' }))), 'outcome_refused');
  assert.equal(outcomeKey(conv(request('UPLOAD'), reply('UPLOAD', { status: '0' }), final('0'))), 'outcome_stored');
  assert.equal(outcomeKey(conv(request('UPLOAD'), reply('UPLOAD', { status: '0' }), final('1'))), 'outcome_not_stored');
  assert.equal(outcomeKey(conv(request('UPLOAD'), reply('UPLOAD', { status: '0' }))), 'outcome_accepted');
});

test("a resume's result says what went wrong", () => {
  const resume = (result) => conv(request('RESUME'), reply('RESUME', { status: '0', result }));
  assert.equal(outcomeKey(resume('0')), 'outcome_ok');
  assert.equal(outcomeKey(resume('10')), 'outcome_not_found');
  assert.equal(outcomeKey(resume('20')), 'outcome_mismatch');
});

test('an mget with a skipped entry says so', () => {
  const entry = (status) => message('to_client', 'MGET', 'entry', { entry_status: status });
  const ok = reply('MGET', { status: '0' });
  assert.equal(outcomeKey(conv(request('MGET'), ok, entry('0'))), 'outcome_ok');
  assert.equal(outcomeKey(conv(request('MGET'), ok, entry('0'), entry('10'))), 'outcome_skipped');
});

test('a broken request is refused; no answer, or no request, is said too', () => {
  const broken = message('to_server', null, 'malformed');
  assert.equal(outcomeKey(conv(broken, reply(null, { status: '1' }))), 'outcome_refused');
  assert.equal(outcomeKey(conv(request('LIST'))), 'outcome_no_answer');
  assert.equal(outcomeKey(conv({ ...request('LIST'), layer: 'tls' })), null);
});
