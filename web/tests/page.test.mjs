// The teaching page in a real browser (Debian's chromium driven by
// playwright-core), opened from disk as a teacher would hand it out:
// file://.../web/dist/index.html, with nothing else running.
// Screenshots go to target/web-artifacts/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { artifacts, openFile, openPage, root } from './common/page.mjs';

const ferry = process.env.FERRY || join(root, 'target/debug/ferry');
const tour = join(root, 'docs/captures/tour.pcap');

let browser;
let page;
let errors;

before(async () => {
  ({ browser, page, errors } = await openPage({ width: 1440 }));
});

after(async () => {
  await browser?.close();
});

const shot = (name) => page.screenshot({ path: join(artifacts, `${name}.png`), fullPage: true });

test('a real capture opened with the file picker shows every conversation and message', async () => {
  await openFile(page, tour);
  await page.waitForSelector('[data-testid=ladder]');
  const native = JSON.parse(execFileSync(ferry, ['decode', '--json', tour]));
  const conversations = page.locator('[data-testid=conversation]');
  assert.equal(await conversations.count(), native.connections.length);
  assert.equal(native.connections.length, 9);
  for (let i = 0; i < native.connections.length; i++) {
    await conversations.nth(i).click();
    const shown = await page.locator('[data-testid=ladder] [data-testid=message]').count();
    assert.equal(shown, native.connections[i].messages.length, `conversation ${i + 1}`);
  }
  assert.equal(await page.locator('[data-testid=error]').isVisible(), false);
  await shot('tour');
});

test("a download's name and size are in its fields", async () => {
  // Conversation 2 downloads hello.txt (18 bytes).
  await page.locator('[data-testid=conversation]').nth(1).click();
  const messages = page.locator('[data-testid=ladder] [data-testid=message]');
  await messages.nth(0).click();
  const name = page.locator('[data-testid=message-fields] tr[data-name=name] td.value');
  assert.equal(await name.textContent(), '"hello.txt"');
  await messages.nth(1).click();
  const size = page.locator('[data-testid=message-fields] tr[data-name=size] td.value');
  assert.equal(await size.textContent(), '18');
  await shot('download-reply');
});

test('clicking a field highlights exactly its bytes, clicking a byte selects its field', async () => {
  await page.locator('[data-testid=ladder] [data-testid=message]').nth(0).click();
  await page.locator('[data-testid=message-fields] tr[data-name=name]').click();
  const selected = page.locator('[data-testid=message-hex] span[data-i].selected');
  assert.deepEqual(await selected.allTextContents(), [...'hello.txt'].map((c) => c.charCodeAt(0).toString(16)));
  assert.deepEqual(
    await selected.evaluateAll((spans) => spans.map((s) => Number(s.dataset.i))),
    [5, 6, 7, 8, 9, 10, 11, 12, 13],
  );
  // The text column beside the hex, as xxd shows it: the same bytes
  // selected, dots for what does not print, each row's stream offset.
  const text = page.locator('[data-testid=message-hex] span[data-c].selected');
  assert.equal((await text.allTextContents()).join(''), 'hello.txt');
  const row = await page.locator('[data-testid=message-hex] .hexrow').first();
  assert.equal(await row.locator('.off').textContent(), '0');
  assert.equal(await row.locator('.ascii').textContent(), '.....hello.txt');
  // Byte 2 is inside name_len (bytes 1-4).
  await page.locator('[data-testid=message-hex] span[data-i="2"]').click();
  const field = page.locator('[data-testid=message-fields] tr.selected');
  assert.equal(await field.getAttribute('data-name'), 'name_len');
  assert.deepEqual(
    await selected.evaluateAll((spans) => spans.map((s) => Number(s.dataset.i))),
    [1, 2, 3, 4],
  );
  // From the keyboard: the arrow keys move through the bytes and select
  // the field under the cursor.
  await page.locator('[data-testid=message-hex]').focus();
  for (let i = 0; i < 5; i++) await page.keyboard.press('ArrowRight');
  assert.equal(await field.getAttribute('data-name'), 'name');
  await shot('field-bytes');
});

test('the language switch changes the explanations', async () => {
  const meaning = page.locator('[data-testid=message-fields] tr[data-name=name] td:last-child');
  assert.match(await meaning.textContent(), /File name/);
  await page.click('[data-testid=lang-pt]');
  assert.match(await meaning.textContent(), /Nome do arquivo/);
  // The field selected before the switch is still selected.
  const selected = page.locator('[data-testid=message-fields] tr.selected');
  assert.equal(await selected.getAttribute('data-name'), 'name');
  assert.equal(await page.locator('h2[data-t=conversations]').textContent(), 'Conversas');
  assert.equal(await page.evaluate(() => document.documentElement.lang), 'pt-BR');
  await shot('portuguese');
  await page.click('[data-testid=lang-en]');
  assert.match(await meaning.textContent(), /File name/);
});

test('messages are reached and selected from the keyboard', async () => {
  const messages = page.locator('[data-testid=ladder] [data-testid=message]');
  await messages.nth(0).focus();
  await page.keyboard.press('Enter');
  assert.equal(await messages.nth(0).getAttribute('aria-pressed'), 'true');
  await page.keyboard.press('ArrowDown');
  assert.equal(await messages.nth(1).getAttribute('aria-pressed'), 'true');
  assert.match(await page.locator('[data-testid=message-summary]').textContent(), /^status 0/);
});

test('the password sent in the clear is pointed out as a lesson', async () => {
  // Conversation 8 logs in as alice.
  await page.locator('[data-testid=conversation]').nth(7).click();
  const lesson = page.locator('[data-testid=anomalies] [data-kind=clear_text_password]');
  assert.match(await lesson.textContent(), /in the clear/);
});

test('a TLS capture shows records; with its key log, the ferry messages inside', async () => {
  const tls = join(root, 'docs/captures/tls-tour.pcap');
  const keys = join(root, 'docs/captures/tls-tour.keys');
  await openFile(page, tls);
  await page.waitForSelector('[data-testid=ladder]');
  const native = JSON.parse(execFileSync(ferry, ['decode', '--json', tls]));
  const conversations = page.locator('[data-testid=conversation]');
  assert.equal(await conversations.count(), 9);
  assert.match(await conversations.nth(1).textContent(), /encrypted: TLS 1\.3 to localhost/);
  // Conversation 2 downloads hello.txt: without keys, only records.
  await conversations.nth(1).click();
  const messages = page.locator('[data-testid=ladder] [data-testid=message]');
  assert.equal(await messages.count(), native.connections[1].messages.length);
  assert.equal(await page.locator('[data-testid=ladder] .message.decrypted').count(), 0);
  assert.match(await page.locator('[data-testid=anomalies] [data-kind=encrypted]').textContent(), /encrypted with TLS/);
  // The key log opens it: the same conversation stays selected.
  await page.setInputFiles('[data-testid=keylog]', keys);
  await page.waitForSelector('[data-testid=keylog-status]:not(:empty)');
  assert.match(await page.locator('[data-testid=keylog-status]').textContent(), /secrets for 9 TLS conversations/);
  const opened = JSON.parse(execFileSync(ferry, ['decode', '--json', '--keylog', keys, tls]));
  assert.match(await conversations.nth(1).textContent(), /DOWNLOAD "hello.txt"/);
  assert.equal(await messages.count(), opened.connections[1].messages.length);
  const inside = page.locator('[data-testid=ladder] .message.decrypted');
  assert.equal(await inside.count(), 3);
  await inside.nth(0).locator('rect.band').click();
  assert.equal(await page.locator('[data-testid=message-summary]').textContent(), 'DOWNLOAD "hello.txt"');
  // Its name field's bytes come from the decrypted stream.
  await page.locator('[data-testid=message-fields] tr[data-name=name]').click();
  const selected = page.locator('[data-testid=message-hex] span[data-i].selected');
  assert.deepEqual(await selected.allTextContents(), [...'hello.txt'].map((c) => c.charCodeAt(0).toString(16)));
  await shot('tls-decrypted');
  // The record that carried it is one click away.
  await page.locator('[data-testid=records] button').first().click();
  assert.match(await page.locator('[data-testid=message-summary]').textContent(), /^TLS application data: \d+ bytes, decrypted/);
  const tag = page.locator('[data-testid=message-fields] tr[data-name=auth_tag]');
  assert.equal(await tag.count(), 1);
  // A file that is not a key log is refused in words, the capture kept.
  await page.setInputFiles('[data-testid=keylog]', tls);
  await page.waitForSelector('[data-testid=error]:not([hidden])');
  assert.match(await page.locator('[data-testid=error]').textContent(), /could not be read as a TLS key log: line 1 is not a key-log line/);
  assert.equal(await messages.count(), opened.connections[1].messages.length);
});

test("the playground shows a DOWNLOAD request's bytes", async () => {
  await page.selectOption('[data-testid=playground-op]', 'DOWNLOAD');
  await page.fill('[data-testid=playground-name]', 'hello.txt');
  assert.equal(
    await page.locator('[data-testid=playground-bytes]').textContent(),
    '0a 00 00 00 09 68 65 6c 6c 6f 2e 74 78 74',
  );
  const fields = page.locator('[data-testid=playground-fields] tbody tr');
  assert.deepEqual(
    await fields.evaluateAll((rows) => rows.map((r) => r.dataset.name)),
    ['op', 'name_len', 'name'],
  );
  await page.fill('[data-testid=playground-name]', '../etc/passwd');
  const refusal = page.locator('#playground-out .error');
  assert.equal(await refusal.textContent(), "This request cannot be built: the name has a '.' or '..' component.");
  await page.click('[data-testid=lang-pt]');
  assert.equal(await refusal.textContent(), "Não é possível montar este pedido: o nome tem uma parte '.' ou '..'.");
  await page.click('[data-testid=lang-en]');
  await shot('playground');
});

test('a RESUME is checked against the earlier download in the capture', async () => {
  await page.click('[data-testid="example-resume.pcap"]');
  await page.locator('[data-testid=conversation]').nth(1).click();
  await page.locator('[data-testid=ladder] [data-testid=message]').nth(0).click();
  const check = page.locator('[data-testid=resume-check] p');
  assert.match(await check.textContent(), /is the MD5 of the first [\d,]+ bytes of "sample.txt" downloaded earlier in this capture \(conversation 1\)/);
  assert.equal(await check.getAttribute('class'), 'ok');
  // The download cut by Ctrl-C ended with the client's RST.
  await page.locator('[data-testid=conversation]').nth(0).click();
  assert.match(await page.locator('[data-testid=anomalies]').textContent(), /RST from 127\.0\.0\.1/);
  await shot('resume-check');
});

test('a corrupt file gets a sentence on the page', async () => {
  // A capture is open first: the bad file replaces it, it does not sit on it.
  await openFile(page, tour);
  await page.waitForSelector('[data-testid=ladder]');
  await openFile(page, {
    name: 'broken.pcap',
    mimeType: 'application/octet-stream',
    buffer: Buffer.from('this is not a capture at all'),
  });
  const error = page.locator('[data-testid=error]');
  await error.waitFor({ state: 'visible' });
  assert.match(await error.textContent(), /could not be read as a capture: it is neither a pcap nor a pcapng file/);
  assert.equal(await page.locator('[data-testid=ladder]').isVisible(), false);
  assert.equal(await page.locator('[data-testid=conversation]').count(), 0);
  assert.equal((await page.locator('[data-testid=summary]').textContent()).trim(), '');
  await page.click('[data-testid=lang-pt]');
  assert.match(await error.textContent(), /Não foi possível ler este arquivo como captura: ele não é um arquivo pcap nem pcapng/);
  await shot('corrupt-file');
  await page.click('[data-testid=lang-en]');
  // A capture cut in the middle still opens, with the cut pointed out.
  const cut = readFileSync(tour).subarray(0, 5000);
  await openFile(page, { name: 'cut.pcap', mimeType: 'application/octet-stream', buffer: cut });
  await page.waitForSelector('[data-testid=ladder]');
  assert.equal(await error.isVisible(), false);
  assert.match(await page.locator('[data-testid=summary]').textContent(), /middle of a record/);
});

test('no script error reached the console', () => {
  assert.deepEqual(errors, []);
});

test('nothing leaves the page: its policy blocks a fetch, an image and a beacon', async () => {
  // The page's own style is allowed by its hash (the workspace is a grid).
  await openFile(page, tour);
  await page.waitForSelector('[data-testid=ladder]');
  assert.equal(await page.evaluate(() => getComputedStyle(document.getElementById('workspace')).display), 'grid');
  const result = await page.evaluate(async () => {
    const seen = [];
    document.addEventListener('securitypolicyviolation', (e) => seen.push(e.effectiveDirective));
    let fetched = 'sent';
    try {
      await fetch('http://127.0.0.1:9/x');
    } catch (_) {
      fetched = 'failed';
    }
    const image = await new Promise((done) => {
      const img = new Image();
      img.onload = () => done('loaded');
      img.onerror = () => done('failed');
      img.src = 'http://127.0.0.1:9/x.png';
    });
    let beacon;
    try {
      beacon = navigator.sendBeacon('http://127.0.0.1:9/b', 'x');
    } catch (_) {
      beacon = false;
    }
    await new Promise((done) => setTimeout(done, 300));
    return { fetched, image, beacon, seen };
  });
  assert.equal(result.fetched, 'failed');
  assert.equal(result.image, 'failed');
  // Each was stopped by the policy, not by a closed port.
  assert.ok(result.seen.filter((d) => d === 'connect-src').length >= 2, JSON.stringify(result));
  assert.ok(result.seen.includes('img-src'), JSON.stringify(result));
  assert.deepEqual(errors, []);
});
