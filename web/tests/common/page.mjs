// Helpers of the page's browser tests.

/** Gives the page a capture through its file picker and waits until the
 *  page has opened it or said why not (a capture shown before stays on
 *  screen until then, so waiting for the diagram would not do). */
export async function openFile(page, files) {
  const before = await page.evaluate(() => document.body.dataset.opened ?? '0');
  await page.setInputFiles('[data-testid=file]', files);
  await page.waitForFunction((n) => (document.body.dataset.opened ?? '0') !== n, before);
}
