// Opens pages in a real headless Chromium (Debian's, driven by playwright-core) and says what a person would see.
//
// stdin:  {"executablePath": "/usr/bin/chromium", "visits": [{"name", "url", "width", "height",
//          "waitForSelector"?: css, "waitForCount"?: n, "scrollThrough"?: bool, "screenshot"?: path,
//          "fill"?: {css: value}, "submit"?: css (clicked after filling; what follows is the page then shown),
//          "tabs"?: n (Tab presses: the focus order and whether each focused element shows a focus outline)}]}
// stdout: {"visits": [{"name", "url", "status", "width", "innerWidth", "scrollWidth", "text", "operationIds",
//          "consoleErrors", "pageErrors", "waited", "lang", "unlabelled", "focusOrder"}], "blocked": [urls],
//          "loaded": [urls]}
//
// Only this machine is reachable: every request to another host is aborted (and listed in "blocked"), and
// Chromium's own resolver knows no name but localhost, so nothing can reach the internet behind our back.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

const LOCAL_HOSTS = new Set(["127.0.0.1", "localhost", "[::1]"]);
const input = JSON.parse(await new Promise((resolve) => {
  let text = "";
  process.stdin.on("data", (chunk) => (text += chunk));
  process.stdin.on("end", () => resolve(text));
}));

const userDataDir = mkdtempSync(join(tmpdir(), "guildhall-chromium-"));
const blocked = [];
const loaded = [];
const context = await chromium.launchPersistentContext(userDataDir, {
  executablePath: input.executablePath,
  headless: true,
  args: [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1",
  ],
});
const results = [];
try {
  await context.route("**/*", (route) => {
    const url = new URL(route.request().url());
    if (url.protocol === "data:" || LOCAL_HOSTS.has(url.hostname)) {
      loaded.push(url.href);
      return route.continue();
    }
    blocked.push(url.href);
    return route.abort("blockedbyclient");
  });
  for (const visit of input.visits) {
    const page = await context.newPage();
    const consoleErrors = [];
    const pageErrors = [];
    page.on("console", (message) => {
      if (message.type() === "error" || message.type() === "warning") consoleErrors.push(message.text());
    });
    page.on("pageerror", (error) => pageErrors.push(String(error)));
    await page.setViewportSize({ width: visit.width, height: visit.height ?? 900 });
    let response = await page.goto(visit.url, { waitUntil: "load", timeout: 60_000 });
    const focusOrder = [];
    for (let press = 0; press < (visit.tabs ?? 0); press++) {
      await page.keyboard.press("Tab");
      focusOrder.push(await page.evaluate(() => {
        const element = document.activeElement;
        const style = element ? getComputedStyle(element) : null;
        return {
          id: element ? element.id || element.getAttribute("name") || element.tagName.toLowerCase() : null,
          outline: style ? style.outlineStyle !== "none" && parseFloat(style.outlineWidth) >= 2 : false,
        };
      }));
    }
    for (const [selector, value] of Object.entries(visit.fill ?? {})) await page.fill(selector, value);
    if (visit.submit) {
      const [navigated] = await Promise.all([
        page.waitForNavigation({ waitUntil: "load", timeout: 60_000 }),
        page.click(visit.submit),
      ]);
      response = navigated;
    }
    let waited = null;
    if (visit.waitForSelector) {
      try {
        await page.waitForFunction(
          ([selector, count]) => document.querySelectorAll(selector).length >= count,
          [visit.waitForSelector, visit.waitForCount ?? 1],
          { timeout: visit.waitMilliseconds ?? 90_000, polling: 250 },
        );
        waited = "found";
      } catch (error) {
        waited = `not found: ${error.message.split("\n")[0]}`; // reported, with what the page did show
      }
    }
    await page.waitForTimeout(200); // let layout settle after the last render
    // Swagger UI renders only the operations near the window (a virtual list): read them while scrolling down,
    // as a reader would, to the end of the page.
    const operationIds = new Set();
    let text = "";
    let scrollWidth = 0;
    for (let step = 0; step < (visit.scrollThrough ? 2000 : 1); step++) {
      const now = await page.evaluate(() => ({
        ids: [...document.querySelectorAll(".opblock-summary-operation-id")].map((e) => e.textContent.trim()),
        text: document.body.innerText,
        scrollWidth: document.documentElement.scrollWidth,
        atEnd: window.scrollY + window.innerHeight >= document.documentElement.scrollHeight - 2,
      }));
      now.ids.forEach((id) => operationIds.add(id));
      text += (step ? "\n" : "") + now.text;
      scrollWidth = Math.max(scrollWidth, now.scrollWidth);
      if (now.atEnd) break;
      await page.evaluate(() => window.scrollBy(0, Math.round(window.innerHeight * 0.7)));
      await page.waitForTimeout(60);
    }
    const seen = {
      lang: await page.evaluate(() => document.documentElement.lang),
      unlabelled: await page.evaluate(() =>
        [...document.querySelectorAll("input:not([type=hidden]):not([hidden]), select, textarea")]
          .filter((e) => !(e.labels && e.labels.length) && !e.getAttribute("aria-label"))
          .map((e) => e.name || e.id)),
      focusOrder,
      innerWidth: await page.evaluate(() => window.innerWidth),
      scrollWidth,
      text: visit.scrollThrough ? text.slice(0, 200_000) : text,
      operationIds: [...operationIds],
    };
    if (visit.screenshot) await page.screenshot({ path: visit.screenshot, fullPage: visit.fullPage ?? false });
    results.push({
      name: visit.name, url: visit.url, status: response ? response.status() : null, width: visit.width, waited,
      ...seen, consoleErrors, pageErrors,
    });
    await page.close();
  }
} finally {
  await context.close();
  rmSync(userDataDir, { recursive: true, force: true });
}
process.stdout.write(JSON.stringify({ visits: results, blocked, loaded }));
