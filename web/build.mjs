// Assembles web/dist/index.html: one self-contained file that works opened
// straight from disk (file://), where browsers refuse module imports and
// fetch. The wasm-bindgen bindings, the page's script, the .wasm (base64,
// handed to initSync as bytes) and the example captures are all inlined.
//
//   node web/build.mjs PKG_DIR OUT_FILE
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const [pkg, out] = process.argv.slice(2);
if (!pkg || !out) {
  console.error('usage: node web/build.mjs PKG_DIR OUT_FILE');
  process.exit(2);
}
const read = (path) => readFileSync(path, 'utf8');
const examples = [
  { name: 'tour.pcap', about: 'example_tour' },
  { name: 'resume.pcap', about: 'example_resume' },
  { name: 'errors.pcap', about: 'example_errors' },
  { name: 'tls-tour.pcap', about: 'example_tls' },
  { name: 'tls-tour.pcap', about: 'example_tls_keys', keys: 'tls-tour.keys' },
].map((e) => ({
  ...e,
  base64: readFileSync(join(root, 'docs/captures', e.name)).toString('base64'),
  keysName: e.keys,
  keys: e.keys && readFileSync(join(root, 'docs/captures', e.keys)).toString('base64'),
}));
const wasm = readFileSync(join(pkg, 'ferry_wasm_bg.wasm')).toString('base64');
const script = [
  read(join(pkg, 'ferry_wasm.js')),
  read(join(here, 'src/i18n.js')),
  `const WASM_BASE64 = ${JSON.stringify(wasm)};`,
  `const EXAMPLES = ${JSON.stringify(examples)};`,
  read(join(here, 'src/app.js')),
].join('\n');
// A literal "</script" inside the script (or "</style" in the style) would
// end it early.
if (/<\/script/i.test(script)) throw new Error('the inlined script contains </script');
if (/<\/style/i.test(read(join(here, 'src/style.css')))) throw new Error('the style contains </style');
// The Content-Security-Policy allows exactly this script and this style,
// by the SHA-256 of their text between the tags.
const style = `\n${read(join(here, 'src/style.css'))}\n`;
const code = `\n${script}\n`;
const hash = (text) => `sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}`;
const template = read(join(here, 'src/index.html'));
for (const part of ['<style>\n/*STYLE*/\n</style>', '<script type="module">\n/*SCRIPT*/\n</script>']) {
  if (!template.includes(part)) throw new Error(`index.html must hold ${part} exactly`);
}
const html = template
  .replace('SCRIPT_HASH', hash(code))
  .replace('STYLE_HASH', hash(style))
  .replace('\n/*STYLE*/\n', () => style)
  .replace('\n/*SCRIPT*/\n', () => code);
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, html);
console.log(`${out}: ${(html.length / 1024).toFixed(0)} KiB (wasm ${(wasm.length * 3 / 4 / 1024).toFixed(0)} KiB)`);
