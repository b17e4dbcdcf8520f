import { expect, type APIRequestContext, type Page } from "@playwright/test";

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

export async function signUp(page: Page, user: User, options: { byCall?: boolean } = {}) {
  await page.goto("/signup");
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
  await expect(page).toHaveURL(/\/account$/);
  await expect(page.getByRole("heading", { name: `Hello, ${user.firstName}` })).toBeVisible();
}

export async function signOut(page: Page) {
  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page.getByText("You have been signed out.")).toBeVisible();
}

export async function logIn(page: Page, email: string, password: string) {
  if (!new URL(page.url()).pathname.startsWith("/login")) {
    await page.goto("/login");
  }
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password", { exact: true }).fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
}

export const WRONG_CREDENTIALS = "The email or password is incorrect.";
export const BAD_CODE = "That code is wrong or has expired. Request a new code and try again.";

type OutboxEntry = { id: number; to: string; purpose: string; body: string };

/** The code in the newest outbox message to `phone` for `purpose`, waiting for delivery. */
export async function latestCode(
  request: APIRequestContext,
  phone: string,
  purpose: "unlock" | "password_reset",
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
  const code = entry.body.split("#").pop()?.trim() ?? "";
  expect(code).toMatch(/^\d{6}$/);
  return { code, id: entry.id };
}

/** Fails three logins in a row and checks the lock message on the unlock page. */
export async function lockAccount(page: Page, user: User) {
  for (let attempt = 1; attempt <= 2; attempt++) {
    await logIn(page, user.email, `wrong password ${attempt}`);
    await expect(page.getByRole("alert").filter({ hasText: WRONG_CREDENTIALS })).toBeVisible();
  }
  await logIn(page, user.email, "wrong password 3");
  await expect(page).toHaveURL(/\/unlock\?/);
  await expect(
    page.getByText(
      `Your account is temporarily locked. We sent a verification code to the mobile number ending in ${user.last4}.`,
    ),
  ).toBeVisible();
}
