// Assembles web/dist/index.html: one self-contained file that works opened
// straight from disk (file://), where browsers refuse module imports and
// fetch. esbuild bundles the page's modules (web/src/main.js and what it
// imports) with the wasm-bindgen bindings ('ferry-wasm') and the assets
// ('ferry-assets': the .wasm as base64, handed to initSync as bytes, and
// the example captures) into the one inline script.
//
//   node web/build.mjs PKG_DIR OUT_FILE
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

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
// The two modules the page imports that are not files of web/src.
const modules = {
  name: 'ferry-modules',
  setup(b) {
    b.onResolve({ filter: /^ferry-wasm$/ }, () => ({ path: resolve(pkg, 'ferry_wasm.js') }));
    b.onResolve({ filter: /^ferry-assets$/ }, () => ({ path: 'ferry-assets', namespace: 'assets' }));
    b.onLoad({ filter: /.*/, namespace: 'assets' }, () => ({
      contents: `export const WASM_BASE64 = ${JSON.stringify(wasm)};\nexport const EXAMPLES = ${JSON.stringify(examples)};\n`,
      loader: 'js',
    }));
  },
};
const bundled = await build({
  entryPoints: [join(here, 'src/main.js')],
  bundle: true,
  format: 'esm',
  target: 'es2022',
  write: false,
  charset: 'utf8',
  logLevel: 'warning',
  plugins: [modules],
});
const script = bundled.outputFiles[0].text;
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
