// The page as a person sees it, at 1400, 1024, 900 and 420 px wide, in
// both languages: every label and every byte visible (a box whose content
// is wider scrolls, with a drawn scrollbar, and is at least half as wide
// as its content), no word split across lines, no label over another or
// over an arrowhead, a lifeline or a bracket. Also: folds open and close,
// a finding shows its frames, a hostile capture stays text, the
// playground builds a whole upload. Screenshots of each width and
// language go to target/web-artifacts/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { pcap, prefixed, u32 } from './common/pcap.mjs';
import { artifacts, openFile, openPage } from './common/page.mjs';

let browser;
let page;
let errors;

before(async () => {
  // Scrollbars drawn as a person's browser draws them, not hidden.
  ({ browser, page, errors } = await openPage({ width: 1400, scrollbars: true }));
});

after(async () => {
  await browser?.close();
});

/** What a person would find wrong on the page now, as sentences. */
function problems() {
  return page.evaluate(() => {
    const found = [];
    const name = (e) => `${e.tagName.toLowerCase()}${e.className && typeof e.className === 'string' ? `.${e.className.split(' ')[0]}` : ''} "${(e.textContent || '').slice(0, 40)}"`;
    const whole = document.documentElement;
    if (whole.scrollWidth > whole.clientWidth) found.push(`the page scrolls sideways: ${whole.scrollWidth} px in ${whole.clientWidth}`);
    // Every box of the workspace: its content fits, or it scrolls visibly
    // and is at least half as wide as what it holds.
    for (const e of document.querySelectorAll('#workspace *')) {
      if (!(e instanceof HTMLElement) || !e.getClientRects().length) continue;
      const style = getComputedStyle(e);
      if (style.display === 'inline' || e.scrollWidth <= e.clientWidth + 1) continue;
      const scrolls = /auto|scroll/.test(style.overflowX);
      const bar = e.offsetHeight - e.clientHeight - parseFloat(style.borderTopWidth) - parseFloat(style.borderBottomWidth);
      if (!scrolls) found.push(`${name(e)} is cut: ${e.scrollWidth} px in ${e.clientWidth}`);
      else if (bar < 8) found.push(`${name(e)} scrolls with no scrollbar drawn (${bar} px)`);
      else if (e.clientWidth * 2 < e.scrollWidth) found.push(`${name(e)} shows less than half: ${e.clientWidth} of ${e.scrollWidth} px`);
    }
    // No word split across lines (a break after a hyphen is a typographer's,
    // not a split).
    const words = document.querySelectorAll('#workspace .fields th, #workspace .fields td, #workspace .conv-what, #workspace .conv-meta, #workspace .facts, [data-testid=message-summary]');
    for (const e of words) {
      if (!e.getClientRects().length) continue;
      const walker = document.createTreeWalker(e, NodeFilter.SHOW_TEXT);
      for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        for (const m of node.data.matchAll(/[^\s-]+-?/g)) {
          const range = document.createRange();
          range.setStart(node, m.index);
          range.setEnd(node, m.index + m[0].length);
          const lines = new Set([...range.getClientRects()].filter((r) => r.width > 0).map((r) => Math.round(r.top)));
          if (lines.size > 1) found.push(`the word "${m[0]}" is split across lines in ${name(e)}`);
        }
      }
    }
    // The diagram: no label over another, over an arrowhead, a bracket or
    // a lifeline, nor out of the drawing.
    const box = (e) => e.getBoundingClientRect();
    const over = (a, b) => a.left < b.right - 0.5 && b.left < a.right - 0.5 && a.top < b.bottom - 0.5 && b.top < a.bottom - 0.5;
    const labels = [...document.querySelectorAll('.ladder-scroll text')].map((e) => ({ e, r: box(e) }));
    const marks = [...document.querySelectorAll('.ladder-scroll .arrowhead, .ladder-scroll .bracket, .ladder-scroll .lane')].map((e) => ({ e, r: box(e) }));
    for (let i = 0; i < labels.length; i++) {
      const svgBox = box(labels[i].e.ownerSVGElement);
      if (labels[i].r.left < svgBox.left || labels[i].r.right > svgBox.right) found.push(`label "${labels[i].e.textContent}" runs out of the diagram`);
      for (let j = i + 1; j < labels.length; j++) {
        if (over(labels[i].r, labels[j].r)) found.push(`label "${labels[i].e.textContent}" is over "${labels[j].e.textContent}"`);
      }
      for (const mark of marks) {
        if (over(labels[i].r, mark.r)) found.push(`label "${labels[i].e.textContent}" is over a ${mark.e.getAttribute('class')}`);
      }
    }
    return found;
  });
}

/** Opens the tour at the width and language given, conversation `n`
 *  (from 1) selected by the list, or the selector on a phone. */
async function openTour(width, lang, n) {
  await page.setViewportSize({ width, height: width < 700 ? 860 : 900 });
  await page.click(`[data-testid=lang-${lang}]`);
  await page.click('[data-testid="example-tour.pcap"]');
  await page.waitForSelector('[data-testid=ladder]');
  if (width < 700) {
    assert.equal(await page.locator('[data-testid=conversation]').first().isVisible(), false);
    await page.selectOption('[data-testid=conversation-select]', String(n - 1));
  } else {
    await page.locator('[data-testid=conversation]').nth(n - 1).click();
  }
}

for (const width of [1400, 1024, 900, 420]) {
  for (const lang of ['en', 'pt']) {
    test(`at ${width} px in ${lang}, every label and byte is visible`, async () => {
      // Conversation 6 (MGET) has the longest labels of the tour.
      await openTour(width, lang, 6);
      await page.locator('[data-testid=ladder] [data-testid=message]').nth(2).click();
      assert.deepEqual(await problems(), [], 'MGET');
      // Where the pane is wide enough, the diagram fits it: nothing, not
      // the server's lane label, hides behind a sideways scroll.
      if (width >= 900) {
        const fits = await page.evaluate(() => {
          const pane = document.querySelector('.ladder-scroll');
          return pane.scrollWidth <= pane.clientWidth;
        });
        assert.equal(fits, true);
      }
      await page.screenshot({ path: join(artifacts, `layout-${width}-${lang}-mget.png`), fullPage: true });
      // Conversation 8 logs in as alice: her password's bytes are all in
      // the visible part of the bytes view once the field is selected.
      await openTour(width, lang, 8);
      await page.locator('[data-testid=ladder] [data-testid=message]').nth(0).click();
      await page.locator('[data-testid=message-fields] tr[data-name=pass]').click();
      const seen = await page.evaluate(() => {
        const view = document.querySelector('[data-testid=message-hex]');
        const r = view.getBoundingClientRect();
        const inner = { left: r.left + view.clientLeft, top: r.top + view.clientTop };
        inner.right = inner.left + view.clientWidth;
        inner.bottom = inner.top + view.clientHeight;
        return [...view.querySelectorAll('span[data-i].selected')].map((s) => {
          const b = s.getBoundingClientRect();
          return { text: s.textContent, inside: b.left >= inner.left && b.right <= inner.right && b.top >= inner.top && b.bottom <= inner.bottom };
        });
      });
      assert.equal(seen.map((s) => String.fromCharCode(parseInt(s.text, 16))).join(''), 'secret');
      assert.deepEqual(seen.filter((s) => !s.inside), []);
      assert.deepEqual(await problems(), [], 'AUTH');
      await page.screenshot({ path: join(artifacts, `layout-${width}-${lang}.png`), fullPage: true });
    });
  }
}

test('conversation titles tell how each ended', async () => {
  await openTour(1400, 'en', 1);
  const titles = await page.locator('[data-testid=conversation] .conv-what').allTextContents();
  assert.equal(titles[6], 'DOWNLOAD "missing.txt": not found');
  // A login and the operation it opened, each with its outcome.
  assert.equal(titles[7], 'AUTH as "alice" (password in the clear): accepted · DOWNLOAD "notes.txt": ok');
  assert.equal(titles[8], 'AUTH as "alice" (password in the clear): denied');
  assert.equal(titles[3], 'UPLOAD "upload.txt": stored');
  await page.click('[data-testid=lang-pt]');
  assert.match(await page.locator('[data-testid=conversation] .conv-what').nth(6).textContent(), /: não encontrado$/);
  await page.click('[data-testid=lang-en]');
});

/** A download of 200 segments of 1,000 bytes, three of them captured
 *  twice. */
const bigDownload = () => {
  const body = Buffer.alloc(200 * 1000, 0x61);
  return pcap([{ port: 40000, steps: [
    { from: 'client', bytes: Buffer.concat([Buffer.from([10]), prefixed('big.bin')]) },
    { from: 'server', bytes: Buffer.concat([Buffer.from([0]), u32(body.length), body]), mss: 1000, again: [50, 51, 52] },
  ] }]);
};

test('a fold opens with a click or Enter, folds back, and a finding shows its frames', async () => {
  await page.setViewportSize({ width: 1400, height: 900 });
  await openFile(page, { name: 'big.pcap', mimeType: 'application/octet-stream', buffer: bigDownload() });
  const rows = () => page.locator('[data-testid=ladder]').getAttribute('data-rows').then(Number);
  const folded = await rows();
  const fold = page.locator('[data-testid=fold]').first();
  assert.equal(await fold.getAttribute('aria-expanded'), 'false');
  const label = await fold.locator('.fold-label').textContent();
  const [, first, last] = label.match(/frames (\d+)–(\d+)/);
  const hidden = Number(last) - Number(first) + 1;
  assert.ok(hidden > 40, label);
  await fold.click();
  // The fold's row stays, as the one that folds back; its segments follow.
  assert.equal(await rows(), folded + hidden);
  const open = page.locator('[data-testid=fold][aria-expanded=true]').first();
  assert.equal(await page.evaluate(() => document.activeElement.dataset.testid), 'fold');
  await page.keyboard.press('Enter');
  assert.equal(await rows(), folded);
  assert.equal(await open.count(), 0);
  // The retransmissions' finding opens what hides them and highlights them.
  await page.click('[data-testid=anomalies] [data-kind=retransmission] [data-testid=show-frames]');
  const found = await page.locator('.segment.found').evaluateAll((g) => g.map((x) => Number(x.dataset.frame)));
  assert.deepEqual(found, [57, 59, 61]);
  const visible = await page.evaluate(() => {
    const pane = document.querySelector('.ladder-scroll').getBoundingClientRect();
    const row = document.querySelector('.segment[data-frame="57"]').getBoundingClientRect();
    return row.top >= pane.top && row.bottom <= pane.bottom;
  });
  assert.equal(visible, true);
  assert.deepEqual(await problems(), []);
  await page.screenshot({ path: join(artifacts, 'fold-finding.png'), fullPage: true });
});

test('a fold of 100,000 segments opens drawing only the rows in view', async () => {
  const body = Buffer.alloc(100_010 * 10, 0x62);
  const capture = pcap([{ port: 40004, steps: [
    { from: 'client', bytes: Buffer.concat([Buffer.from([10]), prefixed('many.bin')]) },
    { from: 'server', bytes: Buffer.concat([Buffer.from([0]), u32(body.length), body]), mss: 10 },
  ] }]);
  await openFile(page, { name: 'many.pcap', mimeType: 'application/octet-stream', buffer: capture });
  const fold = page.locator('[data-testid=fold]').first();
  const [, first, last] = (await fold.locator('.fold-label').textContent()).match(/frames (\d+)–(\d+)/);
  assert.ok(Number(last) - Number(first) + 1 >= 100_000, `${first}–${last}`);
  await fold.click();
  const drawn = () => page.locator('.segment').count();
  assert.ok(Number(await page.locator('[data-testid=ladder]').getAttribute('data-rows')) > 100_000);
  assert.ok(await drawn() < 400, `${await drawn()} segment rows drawn`);
  // Scrolled to its end, the fold's last frame is drawn, still few rows.
  await page.evaluate(() => {
    const pane = document.querySelector('.ladder-scroll');
    pane.scrollTop = pane.scrollHeight;
  });
  await page.locator(`.segment[data-frame="${last}"]`).waitFor();
  assert.ok(await drawn() < 400, `${await drawn()} segment rows drawn`);
});

test('a capture full of HTML and script shows it as text and runs none of it', async () => {
  // Each within the protocol's limits (64 bytes for a user or a password).
  const evil = '<img src=x onerror="window.__pwned=1"><script>1</script>';
  const user = '<b onclick="window.__pwned=2">al<i>'; // a user holds no '/'
  const listing = JSON.stringify([{ nome: `${evil}.txt`, tamanho: 3 }, { nome: '<b>bold</b>', tamanho: 1 }]);
  const body = Buffer.from(`<html><body onload="window.__pwned=3">${evil}</body></html>`);
  const conversation = (port, client, server) => ({ port, steps: [{ from: 'client', bytes: client }, { from: 'server', bytes: server }] });
  const capture = pcap([
    conversation(40001, Buffer.concat([Buffer.from([60]), prefixed(user), prefixed(evil)]), Buffer.from([0])),
    conversation(40002, Buffer.from([20]), Buffer.concat([Buffer.from([0]), prefixed(listing)])),
    conversation(40003, Buffer.concat([Buffer.from([10]), prefixed('evil.html')]), Buffer.concat([Buffer.from([0]), u32(body.length), body])),
  ]);
  await openFile(page, { name: 'evil.pcap', mimeType: 'application/octet-stream', buffer: capture });
  const conversations = page.locator('[data-testid=conversation]');
  assert.equal(await conversations.count(), 3);
  assert.equal(await conversations.nth(0).locator('.conv-what').textContent(), `AUTH as "${user}" (password in the clear): accepted`);
  await page.locator('[data-testid=ladder] [data-testid=message]').nth(0).click();
  // A long value is cut in the table, whole in its tooltip and as text
  // beside the bytes.
  const pass = page.locator('[data-testid=message-fields] tr[data-name=pass] td.value');
  assert.equal(await pass.getAttribute('title'), `"${evil}"`);
  const text = await page.locator('[data-testid=message-hex] .ascii').allTextContents();
  assert.ok(text.join('').includes(evil), text.join(''));
  await conversations.nth(1).click();
  await page.locator('[data-testid=ladder] [data-testid=message]').nth(1).click();
  const names = await page.locator('[data-testid=listing] td.name').allTextContents();
  assert.equal(names[1], '<b>bold</b>');
  assert.ok(names[0].startsWith('<img src=x onerror="window.__pwned=1">'), names[0]);
  await conversations.nth(2).click();
  await page.locator('[data-testid=ladder] [data-testid=message]').nth(2).click();
  assert.match(await page.locator('[data-testid=payload]').textContent(), /<html><body onload=/);
  // The policy would stop an inline handler or script anyway: what can
  // fail here is an element made from the capture's text.
  const made = await page.evaluate(() => ({
    pwned: window.__pwned ?? null,
    elements: document.querySelectorAll('#workspace img, #workspace script, #workspace b, #workspace html, #workspace body').length,
    scripts: document.scripts.length,
  }));
  assert.deepEqual(made, { pwned: null, elements: 0, scripts: 1 });
});

test('the playground builds every field of an upload: name, size and body', async () => {
  await page.selectOption('[data-testid=playground-op]', 'UPLOAD');
  await page.fill('[data-testid=playground-name]', 'a.txt');
  await page.fill('[data-testid=playground-body]', 'hi!');
  assert.equal(
    await page.locator('[data-testid=playground-bytes]').textContent(),
    '1e 00 00 00 05 61 2e 74 78 74 00 00 00 03 68 69 21',
  );
  const fields = async (scope) => page.locator(`[data-testid=${scope}-fields] tbody tr`).evaluateAll((rows) => rows.map((r) => r.dataset.name));
  assert.deepEqual(await fields('playground'), ['op', 'name_len', 'name']);
  assert.deepEqual(await fields('playground-1'), ['size']);
  assert.deepEqual(await fields('playground-2'), ['body']);
  await page.selectOption('[data-testid=playground-op]', 'DOWNLOAD');
});

test('no script error reached the console', () => {
  assert.deepEqual(errors, []);
});
