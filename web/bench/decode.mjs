// Times the page on a large capture in Debian's chromium: the core's decode
// in WebAssembly, and picking the file to the first ladder on screen.
//   node web/bench/decode.mjs CAPTURE [RUNS]
// Prints: wasm_decode_ms=... first_ladder_ms=... (medians) wasm_mb=...
// (the core's WebAssembly memory after decoding: it never shrinks, so it
// is the most the decoder held, plus the page's own use of it).
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';

const [capture, runs = '3'] = process.argv.slice(2);
const root = fileURLToPath(new URL('../..', import.meta.url));
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
});
const decode = [];
const ladder = [];
let wasmBytes = 0;
for (let i = 0; i < Number(runs); i++) {
  const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
  await page.goto(pathToFileURL(join(root, 'web/dist/index.html')).href);
  await page.waitForSelector('body[data-ready=true]');
  await page.setInputFiles('[data-testid=file]', capture);
  await page.waitForSelector('body[data-first-ladder-ms]', { timeout: 60000 });
  const error = await page.locator('[data-testid=error]').isVisible();
  if (error) throw new Error(await page.locator('[data-testid=error]').textContent());
  decode.push(Number(await page.evaluate(() => document.body.dataset.decodeMs)));
  ladder.push(Number(await page.evaluate(() => document.body.dataset.firstLadderMs)));
  wasmBytes = Math.max(wasmBytes, Number(await page.evaluate(() => document.body.dataset.wasmBytes)));
  await page.close();
}
await browser.close();
const median = (xs) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(`wasm_decode_ms=${median(decode)} first_ladder_ms=${median(ladder)} wasm_mb=${(wasmBytes / 1e6).toFixed(1)}`);
