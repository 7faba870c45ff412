// The page's two text tables: the same keys, every Portuguese entry
// translated, the same {values} in both.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { TEXT, SAME_IN_BOTH } from '../src/i18n.js';

test('English and Portuguese have exactly the same keys', () => {
  assert.deepEqual(Object.keys(TEXT.pt).sort(), Object.keys(TEXT.en).sort());
});

test('no Portuguese entry is left in English', () => {
  for (const [key, en] of Object.entries(TEXT.en)) {
    if (SAME_IN_BOTH.includes(key)) continue;
    assert.notEqual(TEXT.pt[key], en, `${key} is not translated`);
  }
  const english = [' the ', ' of ', ' and ', ' is ', ' file ', ' this '];
  for (const [key, pt] of Object.entries(TEXT.pt)) {
    for (const word of english) assert.ok(!` ${pt} `.includes(word), `${key}: "${pt}" has "${word}"`);
  }
});

test('every template names the same values in both languages', () => {
  const names = (text) => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
  for (const key of Object.keys(TEXT.en)) assert.deepEqual(names(TEXT.pt[key]), names(TEXT.en[key]), key);
});

test('every key the page uses is in the tables', () => {
  const src = new URL('../src/', import.meta.url);
  const app = readdirSync(src, { recursive: true })
    .filter((name) => /\.(js|html)$/.test(name))
    .map((name) => readFileSync(new URL(name, src), 'utf8'))
    .join('\n') + readFileSync(new URL('../build.mjs', import.meta.url), 'utf8');
  const used = new Set([
    ...[...app.matchAll(/\bt\('(\w+)'/g)].map((m) => m[1]),
    ...[...app.matchAll(/'(outcome_\w+)'/g)].map((m) => m[1]),
    // Keys chosen by a condition: t(open ? 'fold_close' : 'fold_open').
    ...[...app.matchAll(/\bt\([^()]*\? '(\w+)' : '(\w+)'/g)].flatMap((m) => [m[1], m[2]]),
    ...[...app.matchAll(/data-t="(\w+)"/g)].map((m) => m[1]),
    ...[...app.matchAll(/about: '(\w+)'/g)].map((m) => m[1]),
  ]);
  assert.ok(used.size > 40, `only ${used.size} keys found`);
  for (const key of used) assert.ok(key in TEXT.en, `${key} is missing`);
});
