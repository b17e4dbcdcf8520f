import { defineConfig, devices } from "@playwright/test";
import * as path from "node:path";

// Five servers from the debug build (`cargo leptos build`), each with its own throwaway SQLite
// file: the main one without the send cooldown (tests resend at once); one whose codes expire
// after 5 seconds and whose cooldown is 2 seconds, for the expired-code and send-limit paths; one
// whose admin step-up lasts 3 seconds; and one that sends through Twilio, played by `mock-twilio.mjs`, which refuses every text message, for
// the failed-delivery path; and one whose unlock and reset codes Twilio Verify (the same mock) issues.
// Playwright starts them, waits for /healthz, and stops them afterwards.
const root = path.resolve(__dirname, "..");
const runDir = path.join(root, "target", "e2e");

export const MAIN_URL = "http://127.0.0.1:3100";
export const SHORT_TTL_URL = "http://127.0.0.1:3101";
export const TWILIO_URL = "http://127.0.0.1:3102";
export const ADMIN_URL = "http://127.0.0.1:3103";
export const VERIFY_URL = "http://127.0.0.1:3104";
export const MOCK_TWILIO_URL = "http://127.0.0.1:3199";

function server(name: string, url: string, env: Record<string, string>) {
  const dir = path.join(runDir, name);
  return {
    command: `rm -rf '${dir}' && mkdir -p '${dir}' && exec ./target/debug/server`,
    cwd: root,
    url: `${url}/healthz`,
    reuseExistingServer: false,
    timeout: 60_000,
    stdout: "ignore" as const,
    stderr: "pipe" as const,
    env: {
      LISTEN_ADDR: url.replace("http://", ""),
      DATABASE_URL: `sqlite://${dir}/latchkey.db`,
      SERVER_SECRET_FILE: `${dir}/server-secret`,
      SMS_PROVIDERS: "outbox",
      LEPTOS_SITE_ROOT: "target/site",
      RUST_LOG: "warn",
      // Every browser test comes from 127.0.0.1: the per-client limits would throttle the suite.
      RATE_LIMIT_LOGIN: "100000",
      RATE_LIMIT_CODE: "100000",
      RATE_LIMIT_SIGNUP: "100000",
      SEND_MAX_PER_IP_PER_HOUR: "100000",
      ...env,
    },
  };
}

export default defineConfig({
  testDir: "./tests",
  timeout: 60_000,
  expect: { timeout: 10_000 },
  fullyParallel: true,
  workers: 2,
  forbidOnly: !!process.env.CI,
  retries: 0,
  reporter: [["list"]],
  use: {
    baseURL: MAIN_URL,
    trace: "retain-on-failure",
  },
  projects: [
    {
      name: "chromium",
      use: {
        ...devices["Desktop Chrome"],
        launchOptions: {
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
        },
      },
    },
  ],
  webServer: [
    server("main", MAIN_URL, { SEND_COOLDOWN: "0" }),
    server("short-ttl", SHORT_TTL_URL, {
      CODE_TTL: "5s",
      CODE_TTL_PHONE_VERIFICATION: "1h",
      SEND_COOLDOWN: "2s",
    }),
    server("admin", ADMIN_URL, { SEND_COOLDOWN: "0", ADMIN_ELEVATION_TTL: "3s" }),
    {
      command: "exec node end2end/mock-twilio.mjs",
      cwd: root,
      url: `${MOCK_TWILIO_URL}/healthz`,
      reuseExistingServer: false,
      timeout: 30_000,
      stdout: "ignore" as const,
      stderr: "pipe" as const,
      env: { MOCK_TWILIO_PORT: new URL(MOCK_TWILIO_URL).port },
    },
    server("twilio", TWILIO_URL, {
      SEND_COOLDOWN: "0",
      SMS_PROVIDERS: "twilio",
      TWILIO_BASE_URL: MOCK_TWILIO_URL,
      TWILIO_ACCOUNT_SID: "ACe2e",
      TWILIO_AUTH_TOKEN: "e2e-token",
      TWILIO_FROM: "+14155550000",
    }),
    server("verify", VERIFY_URL, {
      SEND_COOLDOWN: "0",
      CODE_ISSUER_UNLOCK: "twilio_verify",
      CODE_ISSUER_PASSWORD_RESET: "twilio_verify",
      TWILIO_VERIFY_BASE_URL: MOCK_TWILIO_URL,
      TWILIO_ACCOUNT_SID: "ACe2e",
      TWILIO_AUTH_TOKEN: "e2e-token",
      TWILIO_VERIFY_SERVICE_SID: "VAe2e00000000000000000000000000000",
    }),
  ],
});
