import { expect, test } from "@playwright/test";
import { BAD_CODE, enterCode, latestCode, lockAccount, logIn, newUser, requestNewCode, signOut, signUp } from "./helpers";

test("three wrong passwords lock the account, and the texted code unlocks it", async ({ page, context }) => {
  const user = newUser("lockout");
  await signUp(page, user);
  await signOut(page);

  await lockAccount(page, user);

  // The person reads the code in the development outbox, as they would on their phone.
  const outbox = await context.newPage();
  await outbox.goto("/dev/outbox");
  await expect(outbox.getByText("Development only")).toBeVisible();
  const row = outbox.getByRole("row").filter({ hasText: user.phoneE164 }).filter({ hasText: "unlock" });
  await expect(row).toHaveCount(1);
  const message = (await row.locator("pre").textContent()) ?? "";
  const code = message.split("#").pop()?.trim() ?? "";
  expect(code).toMatch(/^\d{6}$/);
  await outbox.close();

  await enterCode(page, "Verification code", code, "Unlock account");
  await expect(page).toHaveURL(/\/login$/);
  await expect(page.getByText("Your account is unlocked. Sign in with your password.")).toBeVisible();

  await logIn(page, user.email, user.password);
  await expect(page).toHaveURL(/\/account$/);
  await expect(page.getByRole("heading", { name: `Hello, ${user.firstName}` })).toBeVisible();
  await expect(page.getByText(`+•••••••${user.last4}`)).toBeVisible();
  await expect(page.getByText(user.email)).toBeVisible();
});

test("a wrong code is refused, and a resent code unlocks", async ({ page, request }) => {
  const user = newUser("wrongcode");
  await signUp(page, user);
  await signOut(page);
  await lockAccount(page, user);
  const first = await latestCode(request, user.phoneE164, "unlock");

  const wrong = first.code.replace(/\d$/, (d) => String((Number(d) + 1) % 10));
  await enterCode(page, "Verification code", wrong, "Unlock account");
  await expect(page.getByRole("alert").filter({ hasText: BAD_CODE })).toBeVisible();
  await expect(page.getByLabel("Verification code")).toBeFocused();

  // The wrong entry spent the code: even the right one no longer works.
  const refused = page.waitForResponse((response) => response.url().endsWith("/api/unlock"));
  await enterCode(page, "Verification code", first.code, "Unlock account");
  expect((await refused).status()).toBe(400);
  await expect(page.getByRole("alert").filter({ hasText: BAD_CODE })).toBeVisible();

  await requestNewCode(page);
  await expect(page.getByText(`We sent a new code to the mobile number ending in ${user.last4}.`)).toBeVisible();
  const second = await latestCode(request, user.phoneE164, "unlock", { newerThan: first.id });

  await enterCode(page, "Verification code", second.code, "Unlock account");
  await expect(page.getByText("Your account is unlocked. Sign in with your password.")).toBeVisible();
  await logIn(page, user.email, user.password);
  await expect(page).toHaveURL(/\/account$/);
});

test("the code field is labelled and set up for one-time-code autofill", async ({ page }) => {
  await page.goto("/unlock");
  await page.getByLabel("Email").fill("someone@example.com");
  await page.getByRole("button", { name: "Continue" }).click();
  await expect(page).toHaveURL(/\/unlock$/);
  await expect(page.getByText("Account: someone@example.com")).toBeVisible();
  const code = page.getByLabel("Verification code");
  await expect(code).toHaveAttribute("autocomplete", "one-time-code");
  await expect(code).toHaveAttribute("inputmode", "numeric");
});
