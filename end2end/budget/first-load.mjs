// The first-load budget of the sign-in page, measured in Debian's Chromium through the DevTools
// protocol: the release server is started on a throwaway database, and /login is loaded with an
// empty cache under network throttling (1.6 Mbps down, 750 kbps up, 150 ms round trip) and a 4×
// CPU slowdown. Reported: the time until every island is hydrated (the marker island sets
// `<html data-hydrated>` once the islands have hydrated), and the bytes that came over the wire.
//
//   node end2end/budget/first-load.mjs --server target/release/server --site target/site-release
//        [--runs 5] [--json target/bench/first-load.json]
//
// scripts/bench.sh runs it after the benchmark. Only loopback is used.
import { chromium } from "@playwright/test";
import { spawn } from "node:child_process";
import { mkdtempSync, mkdirSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";

const BUDGET_MS = 1500;
const BUDGET_KB = 150;

function option(name, fallback) {
  const index = process.argv.indexOf(`--${name}`);
  return index > 0 && process.argv[index + 1] ? process.argv[index + 1] : fallback;
}

const server = option("server", "target/release/server");
const site = option("site", "target/site-release");
const runs = Number(option("runs", "5"));
const jsonOut = option("json", "target/bench/first-load.json");
const port = Number(option("port", "3190"));
const base = `http://127.0.0.1:${port}`;

if (!existsSync(server)) {
  console.error(`no server binary at ${server}; build it with scripts/bench.sh`);
  process.exit(1);
}

const data = mkdtempSync(path.join(tmpdir(), "latchkey-first-load-"));
const child = spawn(server, [], {
  env: {
    PATH: process.env.PATH ?? "",
    LEPTOS_SITE_ROOT: site,
    LEPTOS_ENV: "PROD",
    LEPTOS_HASH_FILES: "true",
    RUST_LOG: "warn",
    DATABASE_URL: `sqlite://${data}/latchkey.db`,
    SERVER_SECRET: "ab".repeat(32),
    LISTEN_ADDR: `127.0.0.1:${port}`,
    SMS_PROVIDERS: "outbox",
  },
  stdio: ["ignore", "ignore", "inherit"],
});

function stop() {
  child.kill("SIGTERM");
  rmSync(data, { recursive: true, force: true });
}

async function ready() {
  for (let attempt = 0; attempt < 300; attempt++) {
    try {
      if ((await fetch(`${base}/healthz`)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error("the server did not answer /healthz within 30 s");
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

async function measureOnce(browser) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send("Network.enable");
  await cdp.send("Network.setCacheDisabled", { cacheDisabled: true });
  await cdp.send("Network.emulateNetworkConditions", {
    offline: false,
    latency: 150,
    downloadThroughput: (1.6 * 1000 * 1000) / 8,
    uploadThroughput: (750 * 1000) / 8,
  });
  await cdp.send("Emulation.setCPUThrottlingRate", { rate: 4 });
  let wireBytes = 0;
  const urls = new Map();
  const resources = {};
  cdp.on("Network.requestWillBeSent", (event) => {
    urls.set(event.requestId, new URL(event.request.url).pathname);
  });
  cdp.on("Network.loadingFinished", (event) => {
    wireBytes += event.encodedDataLength;
    const name = resourceName(urls.get(event.requestId) ?? "?");
    resources[name] = (resources[name] ?? 0) + event.encodedDataLength;
  });
  // Records when the islands are hydrated, on the page's own clock (from navigation start).
  await page.addInitScript(() => {
    new MutationObserver((_, observer) => {
      if (document.documentElement?.dataset.hydrated === "true") {
        window.__hydratedAt = performance.now();
        observer.disconnect();
      }
    }).observe(document, { subtree: true, attributes: true, attributeFilter: ["data-hydrated"] });
  });
  await page.goto(`${base}/login`, { waitUntil: "load" });
  await page.waitForFunction(() => window.__hydratedAt !== undefined, null, { timeout: 30_000 });
  const hydratedMs = await page.evaluate(() => window.__hydratedAt);
  // Everything the page asked for has arrived by now.
  await page.waitForLoadState("networkidle");
  await context.close();
  return { hydratedMs, wireKB: wireBytes / 1000, resources };
}

/// A resource's path without its content hash, so that runs and builds compare.
function resourceName(pathname) {
  return pathname.replace(/\.[A-Za-z0-9_-]{22}\./, ".");
}

let exitCode = 0;
try {
  await ready();
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  const samples = [];
  for (let run = 0; run < runs; run++) {
    samples.push(await measureOnce(browser));
  }
  await browser.close();
  const hydrated = samples.map((sample) => sample.hydratedMs);
  const wire = samples.map((sample) => sample.wireKB);
  const result = {
    throttling: { download_kbps: 1600, upload_kbps: 750, latency_ms: 150, cpu_slowdown: 4 },
    runs,
    hydrated_ms: { median: median(hydrated), min: Math.min(...hydrated), max: Math.max(...hydrated) },
    wire_kb: median(wire),
    wire_kb_by_resource: Object.fromEntries(
      Object.entries(samples[0].resources).map(([name, bytes]) => [name, bytes / 1000]),
    ),
    budget: { hydrated_ms: BUDGET_MS, wire_kb: BUDGET_KB },
  };
  mkdirSync(path.dirname(jsonOut), { recursive: true });
  writeFileSync(jsonOut, JSON.stringify(result, null, 2));
  const within = (value, budget) => (value <= budget ? "within" : "OVER");
  console.log("| first load of /login (1.6 Mbps, 150 ms RTT, 4× CPU slowdown) | median | range | budget |");
  console.log("|---|---|---|---|");
  console.log(
    `| hydrated (every island interactive) | ${result.hydrated_ms.median.toFixed(0)} ms | ` +
      `${result.hydrated_ms.min.toFixed(0)}–${result.hydrated_ms.max.toFixed(0)} ms | ` +
      `${BUDGET_MS} ms (${within(result.hydrated_ms.median, BUDGET_MS)}) |`,
  );
  console.log(
    `| bytes over the wire, everything included | ${result.wire_kb.toFixed(1)} KB | — | ` +
      `${BUDGET_KB} KB (${within(result.wire_kb, BUDGET_KB)}) |`,
  );
  for (const [name, kb] of Object.entries(result.wire_kb_by_resource)) {
    console.log(`|   ${name} | ${kb.toFixed(1)} KB | | |`);
  }
  console.log(`JSON: ${jsonOut}`);
} catch (error) {
  console.error(`error: ${error.message ?? error}`);
  exitCode = 1;
} finally {
  stop();
}
process.exit(exitCode);
