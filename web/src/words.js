// The page's words in the language chosen: its own sentences (i18n.js),
// the core's sentences (put into words by the core's tables), numbers
// and times written as those sentences write them.
import { sentence_words } from 'ferry-wasm';
import { TEXT } from './i18n.js';
import { state } from './state.js';
import { number, seconds } from './format.js';

/** The page's sentence `key`, its `{values}` filled from `args`. */
export function t(key, args = {}) {
  const text = TEXT[state.lang][key] ?? TEXT.en[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (whole, name) => (name in args ? String(args[name]) : whole));
}

/** Picks the English or Portuguese text of a core object. */
function pick(en, pt) {
  return state.lang === 'pt' ? pt : en;
}

/** A sentence of the transcript (its key and arguments) in the page's
 *  language, put into words by the core's own tables. */
export function said(sentence) {
  return sentence_words(JSON.stringify(sentence), state.lang === 'pt');
}

/** A count, written as the core writes counts in this language. */
export function num(n) {
  return number(n, state.lang);
}

/** Seconds since the capture's first packet. */
export function since(us) {
  return seconds(us, state.transcript ? state.transcript.start_us : us, state.lang);
}

/** The reason a core error carries (`{"en": …, "pt": …}` as JSON), in
 *  this language; other errors as they are. */
export function reasonOf(error) {
  const text = String(error.message || error);
  try {
    const why = JSON.parse(text);
    return { kind: why.kind ?? null, reason: pick(why.en, why.pt) };
  } catch {
    return { kind: null, reason: text };
  }
}
