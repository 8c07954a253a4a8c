/**
 * The Chromium that ships inside the npm package `@sparticuz/chromium` (unpacked to /tmp on first
 * use), driven by playwright: no Debian package, no download, so the browser tests run on any
 * machine with only Node.js and npm. They never skip.
 */

import sparticuz from "npm:@sparticuz/chromium@153.0.0";
import { chromium } from "npm:playwright-core@1.65.1";
import type { Browser } from "npm:playwright-core@1.65.1";

/** Launches headless Chromium. */
export async function launchChromium(): Promise<Browser> {
  return await chromium.launch({
    executablePath: await sparticuz.executablePath(),
    headless: true,
    args: [
      ...sparticuz.args,
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}
