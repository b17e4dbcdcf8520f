import { expect, test } from "@playwright/test";
import { hydrated, logIn, newUser, signOut, signUp, WRONG_CREDENTIALS } from "./helpers";

test("the page's islands hydrate under its Content-Security-Policy, and a form answers without a page load", async ({
  page,
}) => {
  const violations: string[] = [];
  page.on("console", (message) => {
    if (message.type() === "error" && /Content Security Policy/i.test(message.text())) {
      violations.push(message.text());
    }
  });
  const response = await page.goto("/login");
  expect(response?.headers()["content-security-policy"]).toContain("'nonce-");
  await hydrated(page);

  // A mark on the window survives only if no new document is loaded.
  await page.evaluate(() => ((window as unknown as { stillHere: boolean }).stillHere = true));
  const navigations: string[] = [];
  page.on("framenavigated", (frame) => {
    if (frame === page.mainFrame()) navigations.push(frame.url());
  });
  await page.getByLabel("Email").fill("nobody@example.com");
  await page.getByLabel("Password", { exact: true }).fill("whatever it is");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("alert").filter({ hasText: WRONG_CREDENTIALS })).toBeVisible();
  expect(await page.evaluate(() => (window as unknown as { stillHere?: boolean }).stillHere)).toBe(true);
  expect(navigations).toEqual([]);
  // Nothing was lost, and nothing went into the address.
  await expect(page).toHaveURL(/\/login$/);
  await expect(page.getByLabel("Email")).toHaveValue("nobody@example.com");
  await expect(page.getByLabel("Password", { exact: true })).toHaveValue("whatever it is");
  expect(violations).toEqual([]);
});

test("a submit shows that it is working and cannot be sent twice", async ({ page }) => {
  await page.goto("/login");
  await hydrated(page);
  // Hold the answer back so that the pending state can be seen.
  let release: () => void = () => {};
  const held = new Promise<void>((resolve) => (release = resolve));
  await page.route("**/api/login", async (route) => {
    await held;
    await route.continue();
  });
  await page.getByLabel("Email").fill("nobody@example.com");
  await page.getByLabel("Password", { exact: true }).fill("whatever it is");
  await page.getByRole("button", { name: "Sign in" }).click();
  const pending = page.getByRole("button", { name: "Signing in…" });
  await expect(pending).toBeDisabled();
  await expect(pending).toHaveAttribute("aria-busy", "true");
  release();
  await expect(page.getByRole("button", { name: "Sign in" })).toBeEnabled();
  await expect(page.getByRole("alert").filter({ hasText: WRONG_CREDENTIALS })).toBeVisible();
});

test("the account page needs a session", async ({ page }) => {
  await page.goto("/account");
  await expect(page).toHaveURL(/\/login$/);
});

test("signup shows each problem next to its field, focuses the first, and keeps what was typed", async ({ page }) => {
  await page.goto("/signup");
  await hydrated(page);
  await page.getByLabel("First name").fill("Ada");
  await page.getByLabel("Last name").fill("Lovelace");
  await page.getByLabel("Email").fill("not-an-email");
  await page.getByLabel("Mobile phone").fill("12");
  await page.getByLabel("Password", { exact: true }).fill("short");
  await page.getByLabel("Confirm password").fill("short");
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page.locator("#email-error")).toHaveText("Enter an email address like name@example.com.");
  await expect(page.locator("#phone-error")).toHaveText("That number is not valid. Check the digits and the country code.");
  await expect(page.locator("#password-error")).toHaveText("Use at least 8 characters.");
  await expect(page.getByLabel("Email")).toHaveAttribute("aria-invalid", "true");
  await expect(page.getByLabel("Email")).toHaveAttribute("aria-describedby", /email-error/);
  await expect(page.getByLabel("Email")).toBeFocused();
  await expect(page).toHaveURL(/\/signup$/);
  await expect(page.getByLabel("First name")).toHaveValue("Ada");
  await expect(page.getByLabel("Mobile phone")).toHaveValue("12");
});

test("signup checks a field as it is left, with the same rules as the server", async ({ page }) => {
  await page.goto("/signup");
  await hydrated(page);
  await page.getByLabel("Mobile phone").fill("+44 7400 123456");
  await page.getByLabel("Mobile phone").blur();
  await expect(page.locator("#phone-note")).toHaveText("+44 7400 123456 · GB · a mobile number");
  await page.getByLabel("Mobile phone").fill("+44 909 876 5432");
  await page.getByLabel("Mobile phone").blur();
  await expect(page.locator("#phone-error")).toHaveText(
    "Codes can't be sent to this number: it is a premium-rate number. Use a mobile number.",
  );
  await expect(page.getByLabel("Mobile phone")).toHaveAttribute("aria-invalid", "true");
  await page.getByLabel("Email").fill("ada@");
  await page.getByLabel("Email").blur();
  await expect(page.locator("#email-error")).toHaveText("Enter an email address like name@example.com.");
  await page.getByLabel("Password", { exact: true }).fill("correct horse battery staple");
  await page.getByLabel("Confirm password").fill("correct horse battery stable");
  await expect(page.locator("#password_confirm-error")).not.toBeEmpty();
  await page.getByLabel("Confirm password").fill("correct horse battery staple");
  await expect(page.locator("#password_confirm-error")).toBeEmpty();
});

test("a password can be shown while it is typed", async ({ page }) => {
  await page.goto("/login");
  await hydrated(page);
  const password = page.getByLabel("Password", { exact: true });
  await password.fill("secret words");
  await expect(password).toHaveAttribute("type", "password");
  await page.getByRole("button", { name: "Show password" }).click();
  await expect(password).toHaveAttribute("type", "text");
  await expect(page.getByRole("button", { name: "Hide password" })).toHaveAttribute("aria-pressed", "true");
  await page.getByRole("button", { name: "Hide password" }).click();
  await expect(password).toHaveAttribute("type", "password");
});

test("signed in, every page has the account link and sign-out; Back after signing out shows no account", async ({
  page,
}) => {
  const user = newUser("back");
  await signUp(page, user);
  const header = page.locator(".site-header");
  await expect(header.getByRole("link", { name: "Your account" })).toBeVisible();
  await page.getByRole("link", { name: "Change" }).click();
  await expect(page).toHaveURL(/\/account\/phone$/);
  await expect(header.getByRole("button", { name: "Sign out" })).toBeVisible();
  await header.getByRole("link", { name: "Your account" }).click();
  await expect(page).toHaveURL(/\/account$/);
  await signOut(page);
  await expect(page).toHaveURL(/\/login$/);
  await page.goBack();
  await expect(page).toHaveURL(/\/login$/);
  await expect(page.getByText(user.email)).toHaveCount(0);
  await expect(page.getByRole("heading", { name: "Sign in" })).toBeVisible();
});

test("names with markup are shown as text", async ({ page }) => {
  const user = { ...newUser("markup"), firstName: "<b>Ada</b>" };
  await signUp(page, user);
  await expect(page.locator("b", { hasText: "Ada" })).toHaveCount(0);
});

test("after the last login, the page can be left and come back to the account", async ({ page }) => {
  const user = newUser("again");
  await signUp(page, user);
  await signOut(page);
  await logIn(page, user.email, user.password);
  await expect(page).toHaveURL(/\/account$/);
});
