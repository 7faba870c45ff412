// The core compiled to WebAssembly and the native `ferry decode` give the
// same transcript for every committed capture.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const pkg = join(root, 'target/web/pkg');
const ferry = process.env.FERRY || join(root, 'target/debug/ferry');
const bindings = await import(join(pkg, 'ferry_wasm.js'));
bindings.initSync({ module: readFileSync(join(pkg, 'ferry_wasm_bg.wasm')) });

const captures = readdirSync(join(root, 'docs/captures')).filter((f) => /\.pcap(ng)?$/.test(f));

test('there are captures to compare', () => assert.ok(captures.length >= 3));

for (const name of captures) {
  test(`wasm and native decode ${name} identically`, () => {
    const path = join(root, 'docs/captures', name);
    const capture = new bindings.Capture(readFileSync(path), new Uint16Array(), new Uint8Array());
    const wasm = JSON.parse(capture.transcript());
    const native = JSON.parse(execFileSync(ferry, ['decode', '--json', path], { maxBuffer: 1 << 28 }));
    assert.deepEqual(wasm, native);
    assert.ok(wasm.connections.length > 0);
    capture.free();
  });
}

test('wasm and native open the TLS capture with its key log identically', () => {
  const path = join(root, 'docs/captures/tls-tour.pcap');
  const keys = join(root, 'docs/captures/tls-tour.keys');
  assert.equal(bindings.keylog_conversations(readFileSync(keys)), 9);
  const capture = new bindings.Capture(readFileSync(path), new Uint16Array(), readFileSync(keys));
  const wasm = JSON.parse(capture.transcript());
  const native = JSON.parse(execFileSync(ferry, ['decode', '--json', '--keylog', keys, path]));
  assert.deepEqual(wasm, native);
  const inside = wasm.connections[1].messages.filter((m) => m.layer === 'decrypted');
  assert.equal(inside[0].summary, 'DOWNLOAD "hello.txt"');
  // The decrypted stream holds the request's bytes: op 10, length 9, the name.
  const request = capture.decrypted(1, true, inside[0].offset, inside[0].len);
  assert.deepEqual([...request], [10, 0, 0, 0, 9, ...new TextEncoder().encode('hello.txt')]);
  capture.free();
  assert.throws(() => bindings.keylog_conversations(new TextEncoder().encode('hello')), /line 1 is not a key-log line/);
});

test('a file that is not a capture is an error, not a crash, with a kind and both languages', () => {
  let error;
  try {
    new bindings.Capture(new TextEncoder().encode('hello'), new Uint16Array(), new Uint8Array());
  } catch (e) {
    error = JSON.parse(e.message);
  }
  assert.equal(error.kind, 'not_a_capture');
  assert.match(error.en, /not a pcap or pcapng/);
  assert.match(error.pt, /não é uma captura pcap nem pcapng/);
  // A gzip file that does not expand says so, with its own kind.
  try {
    new bindings.Capture(new Uint8Array([0x1f, 0x8b, 1, 2, 3]), new Uint16Array(), new Uint8Array());
  } catch (e) {
    error = JSON.parse(e.message);
  }
  assert.equal(error.kind, 'bad_gzip');
});

test('the playground encoder writes the protocol bytes', () => {
  const bytes = bindings.encode_request('DOWNLOAD', 'a.txt', 0, '', '', '', '');
  assert.deepEqual([...bytes], [10, 0, 0, 0, 5, ...new TextEncoder().encode('a.txt')]);
  assert.throws(() => bindings.encode_request('DOWNLOAD', '../x', 0, '', '', '', ''), /"en":"the name has a '\.' or '\.\.' component"/);
});

test('the bridge says every sentence of a transcript from its key and arguments, in both languages', () => {
  let checked = 0;
  // The TLS tour's handshake summaries and lessons join sentences.
  for (const name of ['tour.pcap', 'tls-tour.pcap']) {
    const capture = new bindings.Capture(readFileSync(join(root, 'docs/captures', name)), new Uint16Array(), new Uint8Array());
    const transcript = JSON.parse(capture.transcript());
    for (const a of transcript.notes) {
      assert.equal(bindings.sentence_words(JSON.stringify(a.sentence), false), a.en);
      assert.equal(bindings.sentence_words(JSON.stringify(a.sentence), true), a.pt);
    }
    for (const c of transcript.connections) {
      const items = [
        ...c.messages.map((m) => [m.sentence, m.summary, m.summary_pt]),
        ...c.anomalies.map((a) => [a.sentence, a.en, a.pt]),
        ...c.messages.flatMap((m) => m.fields.map((f) => [f.sentence, f.en, f.pt])),
      ];
      for (const [sentence, en, pt] of items) {
        assert.equal(bindings.sentence_words(JSON.stringify(sentence), false), en);
        assert.equal(bindings.sentence_words(JSON.stringify(sentence), true), pt);
        checked++;
      }
    }
  }
  assert.ok(checked > 50, `only ${checked}`);
  assert.equal(bindings.sentence_words('not a sentence', false), '');
});
