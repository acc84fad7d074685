import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';

/** Debian's chromium (`apt-get install chromium`); `CHROMIUM_PATH` points elsewhere. Nothing downloads one. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export interface TestBrowser {
  browser: Browser;
  /** Page errors, CSP violations and console errors seen on any page opened with `newPage`. */
  errors: string[];
  /** A page that reports into `errors`; in a fresh, cookie- and storage-less context when `isolated`. */
  newPage(o?: { isolated?: boolean; ignore?: (text: string, url: string) => boolean }): Promise<Page>;
  close(): Promise<void>;
}

/** One headless Chromium for a suite, with its own empty profile and no network chatter of its own. */
export async function launchBrowser(): Promise<TestBrowser> {
  const profile = await mkdtemp(join(tmpdir(), 'hookline-chromium-'));
  const browser = await puppeteer.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    userDataDir: profile,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-dev-shm-usage',
    ],
  });
  const errors: string[] = [];
  return {
    browser,
    errors,
    async newPage(o = {}) {
      const context = o.isolated ? await browser.createBrowserContext() : browser.defaultBrowserContext();
      const page = await context.newPage();
      await page.setViewport({ width: 1280, height: 860 });
      page.on('pageerror', (err) => errors.push(`pageerror: ${(err as Error).message}`));
      page.on('console', (m) => {
        if (m.type() !== 'error') return;
        const url = m.location().url ?? '';
        if (o.ignore?.(m.text(), url)) return;
        errors.push(`console: ${m.text()} (${url})`);
      });
      return page;
    },
    async close() {
      await browser.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}
