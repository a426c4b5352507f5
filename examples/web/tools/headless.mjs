// Drive the page in headless Chromium (puppeteer-core with the system's browser).
//
//   node tools/headless.mjs run URL...        scriptable mode: one JSON line per URL
//                                             {url, error, rtf, output: base64 float32 LE}
//   node tools/headless.mjs live URL PNG W... interactive page: play, move the width slider
//                                             through the labels W..., screenshot to PNG,
//                                             one JSON line with what the worklet reported
//
// CHROMIUM names the browser binary (default /usr/bin/chromium).
import puppeteer from 'puppeteer-core';

const [mode, ...args] = process.argv.slice(2);
const TIMEOUT_MS = Number(process.env.NAMX_WEB_TIMEOUT_MS || 120000);

const browser = await puppeteer.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--autoplay-policy=no-user-gesture-required', '--mute-audio'],
});
try {
  const page = await browser.newPage();
  const console_ = [];
  page.on('console', (m) => console_.push(m.text()));
  page.on('pageerror', (e) => console_.push(`pageerror: ${e.message}`));
  if (mode === 'run') {
    for (const url of args) {
      await page.goto(url);
      await page.waitForFunction(() => document.title.startsWith('namx: '), {timeout: TIMEOUT_MS});
      const result = await page.evaluate(() => {
        const r = window.namxResult;
        let output = null;
        if (r.output) {
          const bytes = new Uint8Array(r.output.buffer, r.output.byteOffset, r.output.byteLength);
          let s = '';
          for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
          output = btoa(s);
        }
        return {error: r.error, rtf: r.rtf, output};
      });
      console.log(JSON.stringify({url, ...result}));
    }
  } else if (mode === 'live') {
    const [url, png, ...labels] = args;
    await page.setViewport({width: 900, height: 1000});
    await page.goto(url);
    await page.waitForFunction(() => !document.getElementById('play').disabled || window.namxLive.error,
                               {timeout: TIMEOUT_MS});
    await page.click('#play');
    await page.waitForFunction(() => window.namxLive.ready || window.namxLive.error, {timeout: TIMEOUT_MS});
    const seen = [];
    for (const label of labels) {
      // Move the slider as a user would: set its position and fire the input event.
      await page.evaluate((label) => {
        const slider = document.getElementById('width');
        const rows = [...document.querySelectorAll('#widths tbody tr')].map((tr) => tr.dataset.label);
        slider.value = rows.indexOf(label);
        slider.dispatchEvent(new Event('input'));
      }, label);
      const before = await page.evaluate(() => window.namxLive.stats?.blocks || 0);
      // About half a second of audio at this width.
      await page.waitForFunction((before) => (window.namxLive.stats?.blocks || 0) > before + 200 || window.namxLive.error,
                                 {timeout: TIMEOUT_MS}, before);
      seen.push(await page.evaluate(() => ({label: document.getElementById('width-label').textContent,
                                             stats: window.namxLive.stats})));
    }
    await page.screenshot({path: png, fullPage: true});
    const error = await page.evaluate(() => window.namxLive.error);
    const table = await page.evaluate(() => [...document.querySelectorAll('#widths tbody tr')]
      .map((tr) => [...tr.cells].map((td) => td.textContent)));
    console.log(JSON.stringify({url, error, seen, table, console: console_}));
  } else {
    throw new Error(`unknown mode ${mode} (run or live)`);
  }
} finally {
  await browser.close();
}
