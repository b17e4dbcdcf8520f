import { expect, type APIRequestContext, type Page } from "@playwright/test";
import { execFileSync } from "node:child_process";
import * as path from "node:path";

const root = path.resolve(__dirname, "..", "..");

/**
 * Gives the account the admin role with the server's own command (`server admin grant EMAIL`),
 * against the SQLite file of the Playwright server named `serverName` (see playwright.config.ts).
 */
export function grantAdmin(serverName: string, email: string) {
  const output = execFileSync(path.join(root, "target", "debug", "server"), ["admin", "grant", email], {
    cwd: root,
    env: {
      PATH: process.env.PATH ?? "",
      DATABASE_URL: `sqlite://${path.join(root, "target", "e2e", serverName, "latchkey.db")}`,
      SERVER_SECRET_FILE: path.join(root, "target", "e2e", serverName, "server-secret"),
    },
    encoding: "utf8",
  });
  expect(output).toContain("is now an admin");
}

export type User = {
  email: string;
  password: string;
  firstName: string;
  lastName: string;
  /** As typed at signup (national format, default region US). */
  phoneTyped: string;
  phoneE164: string;
  last4: string;
};

let counter = 0;

/** A fresh user for each test, so tests never share state. */
export function newUser(label: string): User {
  counter += 1;
  const unique = `${Date.now().toString(36)}${process.pid}${counter}`;
  const last4 = String(1000 + Math.floor(Math.random() * 9000));
  return {
    email: `${label}-${unique}@example.com`,
    password: "correct horse battery staple",
    firstName: "Ada",
    lastName: "Lovelace",
    phoneTyped: `(415) 555-${last4}`,
    phoneE164: `+1415555${last4}`,
    last4,
  };
}

/** Options of the flows below: `js: false` for pages run without JavaScript. */
export type FlowOptions = { js?: boolean };

/**
 * With JavaScript, waits until the page's islands have hydrated, so that what the test types
 * reaches the reactive forms.
 */
export async function hydrated(page: Page, options: FlowOptions = {}) {
  if (options.js ?? true) {
    await expect(page.locator("html")).toHaveAttribute("data-hydrated", "true");
  }
}

/**
 * Enters a code in the code field labelled `label`. With JavaScript the field submits itself once
 * the last digit is in; without it, the button named `button` sends the form.
 */
export async function enterCode(page: Page, label: string, code: string, button: string, options: FlowOptions = {}) {
  await hydrated(page, options);
  await page.getByLabel(label).fill(code);
  if (!(options.js ?? true)) {
    await page.getByRole("button", { name: button }).click();
  }
}

/** Opens "Didn't get a code?" and asks for a new code, by call when `byCall`. */
export async function requestNewCode(page: Page, options: FlowOptions & { byCall?: boolean } = {}) {
  await hydrated(page, options);
  await page.locator("details.resend > summary").click();
  if (options.byCall) {
    await page.locator("details.resend").getByLabel("Phone call (the code is read aloud)").check();
  }
  await page.getByRole("button", { name: "Send a new code" }).click();
}

/** Fills in and sends the signup form; the browser lands on the verify-phone page. */
export async function startSignUp(page: Page, user: User, options: { byCall?: boolean } & FlowOptions = {}) {
  await page.goto("/signup");
  await hydrated(page, options);
  if (options.byCall) {
    await page.getByLabel("Phone call (the code is read aloud)").check();
  }
  await page.getByLabel("First name").fill(user.firstName);
  await page.getByLabel("Last name").fill(user.lastName);
  await page.getByLabel("Email").fill(user.email);
  await page.getByLabel("Mobile phone").fill(user.phoneTyped);
  await page.getByLabel("Password", { exact: true }).fill(user.password);
  await page.getByLabel("Confirm password").fill(user.password);
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page).toHaveURL(/\/verify-phone$/);
  await expect(
    page.getByText(
      `We sent a code to the mobile number ending in ${user.last4}. Enter it to verify your phone and finish signing up.`,
    ),
  ).toBeVisible();
}

/** Enters a code on the verify-phone page. */
export async function enterVerificationCode(page: Page, code: string, options: FlowOptions = {}) {
  await enterCode(page, "Verification code", code, "Verify phone", options);
}

/**
 * Signs up and verifies the phone with the code from the outbox, which signs in. `cooldownMs`:
 * wait that long afterwards, on servers whose send cooldown would hold back the next code.
 */
export async function signUp(
  page: Page,
  user: User,
  options: { byCall?: boolean; cooldownMs?: number } & FlowOptions = {},
) {
  await startSignUp(page, user, options);
  const { code } = await latestCode(page.request, user.phoneE164, "phone_verification");
  await enterVerificationCode(page, code, options);
  await expect(page).toHaveURL(/\/account$/);
  await expect(page.getByRole("heading", { name: `Hello, ${user.firstName}` })).toBeVisible();
  await expect(page.getByText("Your phone number is verified.")).toBeVisible();
  if (options.cooldownMs) {
    await page.waitForTimeout(options.cooldownMs);
  }
}

export async function signOut(page: Page) {
  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page.getByText("You have been signed out.")).toBeVisible();
}

export async function logIn(page: Page, email: string, password: string, options: FlowOptions = {}) {
  if (!new URL(page.url()).pathname.startsWith("/login")) {
    await page.goto("/login");
  }
  await hydrated(page, options);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password", { exact: true }).fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
}

export const WRONG_CREDENTIALS = "The email or password is incorrect.";
export const LAST_TRY = "One more wrong password locks the account and sends a code to its phone.";
export const BAD_CODE = "That code is wrong. Check the message, or ask for a new code.";
export const EXPIRED_CODE = "That code has expired. Ask for a new code and try again.";

type OutboxEntry = { id: number; to: string; purpose: string; body: string; channel: string };

export type CodePurpose = "unlock" | "password_reset" | "phone_verification" | "sign_in" | "phone_change" | "admin_step_up";

/** The code in the newest outbox message to `phone` for `purpose`, waiting for delivery. */
export async function latestCode(
  request: APIRequestContext,
  phone: string,
  purpose: CodePurpose,
  options: { newerThan?: number; baseURL?: string } = {},
): Promise<{ code: string; id: number }> {
  let found: OutboxEntry | undefined;
  await expect
    .poll(
      async () => {
        const response = await request.get(`${options.baseURL ?? ""}/dev/outbox.json`);
        const entries = (await response.json()) as OutboxEntry[];
        found = entries.find(
          (entry) => entry.to === phone && entry.purpose === purpose && entry.id > (options.newerThan ?? 0),
        );
        return found !== undefined;
      },
      { message: `a ${purpose} message to ${phone} in the outbox` },
    )
    .toBe(true);
  const entry = found as OutboxEntry;
  // A text ends with "@host #code"; a call reads the digits: "… is: 1, 2, 3, 4, 5, 6. Again, …".
  const code =
    entry.channel === "voice"
      ? (entry.body.split("Again")[0].split(" is: ")[1] ?? "").replace(/\D/g, "")
      : (entry.body.split("#").pop()?.trim() ?? "");
  expect(code).toMatch(/^\d{6}$/);
  return { code, id: entry.id };
}

/**
 * Fails three logins in a row from this page's browser, as a browser the account does not trust
 * (its device cookie, if any, is dropped first: a trusted browser's failures never lock the
 * account), and checks the lock message on the unlock page.
 */
export async function lockAccount(page: Page, user: User, options: FlowOptions = {}) {
  await page.context().clearCookies({ name: /latchkey_device$/ });
  for (let attempt = 1; attempt <= 2; attempt++) {
    await logIn(page, user.email, `wrong password ${attempt}`, options);
    await expect(page.getByRole("alert").filter({ hasText: WRONG_CREDENTIALS })).toBeVisible();
  }
  // The attempt before the lock says so.
  await expect(page.getByRole("alert").filter({ hasText: LAST_TRY })).toBeVisible();
  await logIn(page, user.email, "wrong password 3", options);
  await expect(page).toHaveURL(/\/unlock$/);
  await expect(
    page.getByText(
      `Your account is temporarily locked. We sent a verification code to the mobile number ending in ${user.last4}.`,
    ),
  ).toBeVisible();
}
