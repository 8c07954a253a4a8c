/**
 * The Chromium that ships inside the npm package `@sparticuz/chromium` (unpacked to /tmp on first
 * use), driven by playwright: no Debian package, no download, so the browser tests run on any
 * machine with only Node.js and npm. They never skip.
 */

import sparticuz from "@sparticuz/chromium";
import { chromium } from "playwright-core";
import type { Browser } from "playwright-core";

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
