// Helpers of the page's browser tests: the built page opened from disk in
// Debian's chromium (driven by playwright-core), and files given to it.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';

/** The repository's root. */
export const root = fileURLToPath(new URL('../../..', import.meta.url));
/** Where screenshots go. */
export const artifacts = join(root, 'target/web-artifacts');

/** Opens web/dist/index.html from disk, as a teacher hands it out, in a
 *  window `width` pixels wide, and waits until it is ready. With
 *  `scrollbars`, they are drawn as a person's browser draws them (headless
 *  chromium hides them otherwise). `errors` collects the page's script
 *  errors. */
export async function openPage({ width, scrollbars = false }) {
  mkdirSync(artifacts, { recursive: true });
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    ignoreDefaultArgs: scrollbars ? ['--hide-scrollbars'] : [],
  });
  const page = await browser.newPage({ viewport: { width, height: 900 } });
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(pathToFileURL(join(root, 'web/dist/index.html')).href);
  await page.waitForSelector('body[data-ready=true]', { timeout: 10000 });
  return { browser, page, errors };
}

/** Gives the page a capture through its file picker and waits until the
 *  page has opened it or said why not (a capture shown before stays on
 *  screen until then, so waiting for the diagram would not do). */
export async function openFile(page, files) {
  const before = await page.evaluate(() => document.body.dataset.opened ?? '0');
  await page.setInputFiles('[data-testid=file]', files);
  await page.waitForFunction((n) => (document.body.dataset.opened ?? '0') !== n, before);
}
