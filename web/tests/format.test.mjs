// The page's pure formatting functions (web/src/format.js).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hex2, printable, number, seconds, frameList, parseHex, clip, fit, byteRange, bytesPerRow, unquoted } from '../src/format.js';

test('numbers are written as the core writes them: plain in English, grouped by dots in Portuguese', () => {
  assert.equal(number(3145728, 'en'), '3145728');
  assert.equal(number(3145728, 'pt'), '3.145.728');
  assert.equal(number(999, 'pt'), '999');
  assert.equal(number(1000, 'pt'), '1.000');
  assert.equal(number(100000, 'pt'), '100.000');
  assert.equal(number(0, 'pt'), '0');
});

test('times have six decimals and the language decimal mark', () => {
  assert.equal(seconds(1_914_008, 1_000_000, 'en'), '0.914008');
  assert.equal(seconds(1_914_008, 1_000_000, 'pt'), '0,914008');
  assert.equal(seconds(5, 10, 'en'), '0.000000');
});

test('bytes are two hex digits and print as xxd prints them', () => {
  assert.equal(hex2(0), '00');
  assert.equal(hex2(0xab), 'ab');
  assert.equal([0x00, 0x1f, 0x20, 0x41, 0x7e, 0x7f, 0xff].map(printable).join(''), '.. A~..');
});

test('frames read as a range, or the first eight and a count', () => {
  assert.equal(frameList([7]), '7');
  assert.equal(frameList([3, 4, 5]), '3–5');
  assert.equal(frameList([1, 3, 5]), '1, 3, 5');
  assert.equal(frameList([1, 3, 5, 7, 9, 11, 13, 15, 17, 19]), '1, 3, 5, 7, 9, 11, 13, 15, … (10)');
});

test('hex typed by hand: separators ignored, anything else refused', () => {
  assert.deepEqual(parseHex('0a 00:FF,0x10'), new Uint8Array([0x0a, 0x00, 0xff, 0x10]));
  assert.equal(parseHex('0a 0'), null);
  assert.equal(parseHex('zz'), null);
  assert.deepEqual(parseHex(''), new Uint8Array());
});

test('a field at one offset, over a range, or empty', () => {
  assert.equal(byteRange(5, 1), '5');
  assert.equal(byteRange(5, 9), '5–13');
  assert.equal(byteRange(5, 0), '—');
  assert.equal(byteRange(10000, 2), '10000–10001');
});

test('a quoted value loses its quotes, and only those', () => {
  assert.equal(unquoted('"hello.txt"'), 'hello.txt');
  assert.equal(unquoted('"say "hi""'), 'say "hi"');
});

test('long text is cut with an ellipsis, by characters or by measured width', () => {
  assert.equal(clip('hello', 5), 'hello');
  assert.equal(clip('hello!', 5), 'hell…');
  // Characters, not UTF-16 units: an emoji is never split in half.
  assert.equal(clip('😀😀😀', 2), '😀…');
  const width = (s) => [...s].length * 7;
  assert.equal(fit('short', 35, width), 'short');
  const cut = fit('a label far too long for its room', 70, width);
  assert.equal(cut, 'a label f…');
  assert.ok(width(cut) <= 70);
  assert.equal(fit('abc', 3, width), '…');
});

test('the bytes view keeps 16 a row unless the window is phone-narrow', () => {
  assert.equal(bytesPerRow(1400), 16);
  assert.equal(bytesPerRow(640), 16);
  assert.equal(bytesPerRow(420), 8);
});
