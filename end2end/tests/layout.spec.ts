import AxeBuilder from "@axe-core/playwright";
import { expect, test, type Page } from "@playwright/test";
import * as path from "node:path";
import { enterCode, grantAdmin, hydrated, latestCode, lockAccount, newUser, signOut, signUp } from "./helpers";

const shots = path.resolve(__dirname, "..", "..", "target", "e2e", "screenshots");

/** No serious or critical accessibility violation (WCAG 2.1 A and AA), in light and dark. */
async function accessible(page: Page, name: string) {
  for (const colorScheme of ["light", "dark"] as const) {
    await page.emulateMedia({ colorScheme });
    const results = await new AxeBuilder({ page }).withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]).analyze();
    const serious = results.violations
      .filter((violation) => violation.impact === "serious" || violation.impact === "critical")
      .map((violation) => `${violation.id}: ${violation.nodes.map((node) => node.target.join(" ")).join(", ")}`);
    expect(serious, `${name} (${colorScheme})`).toEqual([]);
  }
  await page.emulateMedia({ colorScheme: "light" });
}

/** At 375×667 nothing is wider than the screen. */
async function fitsAPhone(page: Page, name: string) {
  const size = page.viewportSize();
  await page.setViewportSize({ width: 375, height: 667 });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  expect(overflow, `${name} is wider than 375 px`).toBeLessThanOrEqual(0);
  await page.screenshot({ path: path.join(shots, `${name}-375.png`), fullPage: true });
  if (size) await page.setViewportSize(size);
  await page.screenshot({ path: path.join(shots, `${name}-desktop.png`), fullPage: true });
}

async function check(page: Page, name: string) {
  await hydrated(page);
  await accessible(page, name);
  await fitsAPhone(page, name);
}

test("every public page is accessible and fits a phone", async ({ page }) => {
  for (const [name, url] of [
    ["home", "/"],
    ["login", "/login"],
    ["signup", "/signup"],
    ["forgot-password", "/forgot-password"],
    ["unlock-email", "/unlock"],
    ["reset-password-start", "/reset-password"],
    ["not-found", "/no-such-page"],
  ]) {
    await page.goto(url);
    await check(page, name);
  }
  // With errors showing.
  await page.goto("/signup");
  await hydrated(page);
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page.locator("#email-error")).not.toBeEmpty();
  await check(page, "signup-errors");
});

test("every code page and signed-in page is accessible and fits a phone", async ({ page, request }) => {
  const user = newUser("layout");
  await page.goto("/signup");
  await signUp(page, user);
  await check(page, "account");
  await page.goto("/account/phone");
  await check(page, "change-phone");
  await page.goto("/account/phone?step=code");
  await check(page, "change-phone-code");
  await signOut(page);
  await lockAccount(page, user);
  await page.locator("details.resend > summary").click();
  await check(page, "unlock");
  const { code } = await latestCode(request, user.phoneE164, "unlock");
  await enterCode(page, "Verification code", code, "Unlock account");
  await expect(page).toHaveURL(/\/login$/);
  await page.goto("/forgot-password");
  await hydrated(page);
  await page.getByLabel("Email").fill(user.email);
  await page.getByRole("button", { name: "Send code" }).click();
  await expect(page).toHaveURL(/\/reset-password$/);
  await check(page, "reset-password");
});

test("the admin area is accessible and fits a phone", async ({ page }) => {
  const admin = newUser("layout-admin");
  await signUp(page, admin);
  grantAdmin("main", admin.email);
  await page.goto("/admin");
  await check(page, "admin-gate");
  await page.getByRole("button", { name: "Send me an admin access code" }).click();
  await expect(page.getByText(`We sent an admin access code to the mobile number ending in ${admin.last4}.`)).toBeVisible();
  const { code } = await latestCode(page.request, admin.phoneE164, "admin_step_up");
  await enterCode(page, "Admin access code", code, "Open the admin area");
  await expect(page.getByRole("heading", { name: "Find an account" })).toBeVisible();
  await page.getByText("The numbers, day by day").click();
  await check(page, "admin");
  // The chart tells each day's value on keyboard focus too.
  const bar = page.locator("figure.chart").first().locator("g.bar").last();
  await bar.focus();
  await expect(bar).toHaveAttribute("aria-label", /^\d{4}-\d{2}-\d{2}: \d+ sign-ins$/);
  await page.getByLabel("Email, or the last digits of the phone number").fill(admin.email);
  await page.getByRole("button", { name: "Search" }).click();
  await page.getByRole("link", { name: admin.email }).click();
  await expect(page).toHaveURL(/\/admin\/account\?id=\d+$/);
  await check(page, "admin-account");
});
