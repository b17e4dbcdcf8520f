import { expect, test } from "@playwright/test";
import { ADMIN_URL } from "../playwright.config";
import { BAD_CODE, enterCode, grantAdmin, hydrated, latestCode, lockAccount, logIn, newUser, signOut, signUp } from "./helpers";

const GATE = "The admin area needs a fresh admin access code";

test("the admin gate refuses a sign-in code and opens with a fresh admin code", async ({ page, browser }) => {
  const admin = newUser("admin");
  await signUp(page, admin);
  grantAdmin("main", admin.email);
  await page.getByLabel("Ask for a code every time I sign in").check();
  await page.getByRole("button", { name: "Save sign-in setting" }).click();
  await expect(page.getByText("Your sign-in settings have been saved.")).toBeVisible();

  await page.getByRole("link", { name: "Open the admin area" }).click();
  await expect(page).toHaveURL(/\/admin$/);
  await expect(page.getByText(GATE)).toBeVisible();

  // A sign-in code, sent to the same phone for a sign-in in another browser, is not an admin code.
  const other = await browser.newContext();
  const otherPage = await other.newPage();
  await logIn(otherPage, admin.email, admin.password);
  await expect(otherPage).toHaveURL(/\/sign-in-code$/);
  const signInCode = await latestCode(page.request, admin.phoneE164, "sign_in");
  await other.close();
  await enterCode(page, "Admin access code", signInCode.code, "Open the admin area");
  await expect(page.getByRole("alert").filter({ hasText: BAD_CODE })).toBeVisible();
  await expect(page.getByText(GATE)).toBeVisible();

  await page.getByRole("button", { name: "Send me an admin access code" }).click();
  await expect(page.getByText(`We sent an admin access code to the mobile number ending in ${admin.last4}.`)).toBeVisible();
  const { code } = await latestCode(page.request, admin.phoneE164, "admin_step_up");
  await enterCode(page, "Admin access code", code, "Open the admin area");
  await expect(page.getByRole("heading", { name: "Find an account" })).toBeVisible();
  await expect(page.getByText("Admin access until")).toBeVisible();
  await expect(page.locator("figure.chart")).toHaveCount(5);
});

test.describe("with a 3-second elevation", () => {
  test.use({ baseURL: ADMIN_URL });

  test("admin access ends when the elevation expires", async ({ page }) => {
    const admin = newUser("elevation");
    await signUp(page, admin);
    grantAdmin("admin", admin.email);
    await page.goto("/admin");
    await hydrated(page);
    await page.getByRole("button", { name: "Send me an admin access code" }).click();
    const { code } = await latestCode(page.request, admin.phoneE164, "admin_step_up");
    await enterCode(page, "Admin access code", code, "Open the admin area");
    await expect(page.getByRole("heading", { name: "Find an account" })).toBeVisible();

    await page.waitForTimeout(3_500);
    await page.reload();
    await expect(page.getByText(GATE)).toBeVisible();
    await expect(page.getByRole("heading", { name: "Find an account" })).toHaveCount(0);
    const search = await page.request.get(`/api/admin/search?q=${encodeURIComponent(admin.email)}`);
    expect(search.status()).toBe(403);
  });
});

test("an admin unlocks a locked account and its owner signs in", async ({ page, browser }) => {
  const user = newUser("lockeduser");
  await signUp(page, user);
  await signOut(page);
  await lockAccount(page, user);

  const adminContext = await browser.newContext();
  const adminPage = await adminContext.newPage();
  const admin = newUser("unlocker");
  await signUp(adminPage, admin);
  grantAdmin("main", admin.email);
  await adminPage.goto("/admin");
  await hydrated(adminPage);
  await adminPage.getByRole("button", { name: "Send me an admin access code" }).click();
  const { code } = await latestCode(adminPage.request, admin.phoneE164, "admin_step_up");
  await enterCode(adminPage, "Admin access code", code, "Open the admin area");
  await expect(adminPage.getByRole("heading", { name: "Find an account" })).toBeVisible();
  await hydrated(adminPage);

  await adminPage.evaluate(() => {
    (window as unknown as { documentMark: boolean }).documentMark = true;
  });
  await adminPage.getByLabel("Email, or the last digits of the phone number").fill(user.email);
  await adminPage.getByRole("button", { name: "Search" }).click();
  // The results come without a page load, the address follows the search, and their summary
  // takes the focus.
  await expect(adminPage).toHaveURL(/\/admin\?q=/);
  await expect(adminPage.locator(".search-results")).toContainText("Locked");
  await expect(adminPage.getByText("1 matching account")).toBeFocused();
  await expect(adminPage.getByLabel("Email, or the last digits of the phone number")).toHaveValue(user.email);
  expect(await adminPage.evaluate(() => (window as unknown as { documentMark?: boolean }).documentMark)).toBe(true);
  await adminPage.getByRole("link", { name: user.email }).click();
  await expect(adminPage.locator(".account-status")).toHaveText("Locked");
  await expect(adminPage.locator(".details")).toContainText(`•${user.last4}`);
  // The action asks first; the admin confirms.
  adminPage.once("dialog", (dialog) => dialog.accept());
  await hydrated(adminPage);
  await adminPage.getByRole("button", { name: "Unlock" }).click();
  await expect(adminPage.getByText("The account is unlocked.")).toBeVisible();
  await expect(adminPage.locator(".account-status")).toHaveText("Active");
  await expect(adminPage.locator("tr[data-kind=admin_unlocked]")).toContainText("by admin #");
  await adminContext.close();

  await logIn(page, user.email, user.password);
  await expect(page).toHaveURL(/\/account$/);
  await expect(page.getByRole("heading", { name: `Hello, ${user.firstName}` })).toBeVisible();
});
