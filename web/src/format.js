// Pure formatting: numbers, times, bytes and frame lists as the page
// writes them. No DOM here, so node --test checks every function.

/** A byte as two hex digits. */
export function hex2(byte) {
  return byte.toString(16).padStart(2, '0');
}

/** A byte as the text column shows it: itself when it prints, else a dot
 *  (as xxd does). */
export function printable(byte) {
  return byte >= 0x20 && byte < 0x7f ? String.fromCharCode(byte) : '.';
}

/** A count as the core's sentences write it, so one label never mixes
 *  two forms: plain digits in English, a dot between groups of three in
 *  Portuguese (`3.145.728`). */
export function number(n, lang) {
  const digits = String(n);
  if (lang !== 'pt') return digits;
  return digits.replace(/\B(?=(\d{3})+$)/g, '.');
}

/** Seconds since `origin` (both in microseconds), six decimals, with the
 *  language's decimal mark. */
export function seconds(us, origin, lang) {
  const text = (Math.max(0, us - origin) / 1e6).toFixed(6);
  return lang === 'pt' ? text.replace('.', ',') : text;
}

/** Frame numbers as a range when they follow each other, else the first
 *  eight and how many there are. */
export function frameList(frames) {
  if (frames.length === 1) return String(frames[0]);
  const contiguous = frames.every((f, i) => i === 0 || f === frames[i - 1] + 1);
  if (contiguous) return `${frames[0]}–${frames[frames.length - 1]}`;
  const shown = frames.slice(0, 8).join(', ');
  return frames.length > 8 ? `${shown}, … (${frames.length})` : shown;
}

/** Bytes typed in hex (spaces, commas, colons and `0x` ignored), or null
 *  when that is not hex. */
export function parseHex(text) {
  const clean = text.replace(/0x/gi, '').replace(/[\s,:]/g, '');
  if (clean.length % 2 !== 0 || /[^0-9a-f]/i.test(clean)) return null;
  const bytes = new Uint8Array(clean.length / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(clean.slice(2 * i, 2 * i + 2), 16);
  return bytes;
}

/** The bytes a base64 text holds. */
export function base64ToBytes(text) {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/** A quoted value of the core (`"name"`) without its quotes. */
export function unquoted(value) {
  return value.replace(/^"|"$/g, '');
}

/** `text` whole when it has at most `max` characters, else its first
 *  `max - 1` and an ellipsis (the whole text stays in a tooltip and in the
 *  bytes view). */
export function clip(text, max) {
  const chars = [...text];
  return chars.length <= max ? text : `${chars.slice(0, max - 1).join('')}…`;
}

/** The longest start of `text` that fits `room` pixels as `width(text)`
 *  measures it, with an ellipsis when it had to be cut. */
export function fit(text, room, width) {
  if (width(text) <= room) return text;
  const chars = [...text];
  let lo = 0;
  let hi = chars.length;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (width(`${chars.slice(0, mid).join('')}…`) <= room) lo = mid;
    else hi = mid - 1;
  }
  return `${chars.slice(0, lo).join('')}…`;
}

/** A field's place in its stream: one offset, a range, or a dash for an
 *  empty field. Offsets are positions, written in plain digits in both
 *  languages (as the core writes them). */
export function byteRange(offset, len) {
  if (len === 0) return '—';
  return len === 1 ? `${offset}` : `${offset}–${offset + len - 1}`;
}

/** Bytes per row of the bytes view: 16 as xxd shows them, 8 when the
 *  window is too narrow for 16 and their text column (a phone: a field
 *  that crosses a row then still fits the view at once). */
export function bytesPerRow(windowWidth) {
  return windowWidth >= 640 ? 16 : 8;
}
