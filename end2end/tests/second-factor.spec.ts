import { expect, test } from "@playwright/test";
import {
  BAD_CODE,
  enterCode,
  enterVerificationCode,
  requestNewCode,
  latestCode,
  logIn,
  newUser,
  signOut,
  signUp,
  startSignUp,
} from "./helpers";

test("a signup is active only after the code sent to the phone, with resend", async ({ page }) => {
  const user = newUser("verify");
  await startSignUp(page, user);
  // The page follows the code's message live.
  await expect(page.getByText("Your code is on its way to your phone.")).toBeVisible();
  const first = await latestCode(page.request, user.phoneE164, "phone_verification");

  // A wrong code is refused (and, with one try per code, spends it).
  await enterVerificationCode(page, first.code === "000000" ? "111111" : "000000");
  await expect(page.getByRole("alert").filter({ hasText: BAD_CODE })).toBeVisible();
  await page.goto("/account");
  await expect(page).toHaveURL(/\/login$/);

  // The signup can be finished later: the password leads back to verification, with a new code.
  await logIn(page, user.email, user.password);
  await expect(page).toHaveURL(/\/verify-phone$/);
  const second = await latestCode(page.request, user.phoneE164, "phone_verification", { newerThan: first.id });
  await requestNewCode(page);
  await expect(page.getByText(`We sent a new code to the mobile number ending in ${user.last4}.`)).toBeVisible();
  const third = await latestCode(page.request, user.phoneE164, "phone_verification", { newerThan: second.id });
  await enterVerificationCode(page, third.code);
  await expect(page).toHaveURL(/\/account$/);
  await expect(page.getByText("Your phone number is verified.")).toBeVisible();
  await expect(page.locator(".details")).toContainText(`${user.last4} · verified`);
});

test("with sign-in codes on, the password leads to a code and the code to the account", async ({ page }) => {
  const user = newUser("signincode");
  await signUp(page, user);
  await page.getByLabel("Ask for a code every time I sign in").check();
  await page.getByRole("button", { name: "Save sign-in setting" }).click();
  await expect(page.getByText("Your sign-in settings have been saved.")).toBeVisible();
  await expect(page.getByLabel("Ask for a code every time I sign in")).toBeChecked();
  await signOut(page);

  await logIn(page, user.email, user.password);
  await expect(page).toHaveURL(/\/sign-in-code$/);
  await expect(page.getByText(`Enter the code we sent to the mobile number ending in ${user.last4}.`)).toBeVisible();
  // No session yet.
  const me = await page.request.get("/api/me");
  expect(me.status()).toBe(401);

  const { code } = await latestCode(page.request, user.phoneE164, "sign_in");
  await enterCode(page, "Sign-in code", code, "Sign in");
  await expect(page).toHaveURL(/\/account$/);
  await expect(page.getByRole("heading", { name: `Hello, ${user.firstName}` })).toBeVisible();
});

test("a new phone number takes the password and a code sent to it, and the old number is told", async ({ page }) => {
  const user = newUser("newphone");
  await signUp(page, user);
  let next = newUser("newphone-number");
  while (next.last4 === user.last4) {
    next = newUser("newphone-number");
  }
  await page.getByRole("link", { name: "Change" }).click();
  await expect(page).toHaveURL(/\/account\/phone$/);
  await page.getByLabel("Current password").fill(user.password);
  await page.getByLabel("New mobile number").fill(next.phoneTyped);
  await page.getByRole("button", { name: "Send code to the new number" }).click();
  await expect(
    page.getByText(`We sent a code to the new number ending in ${next.last4}. Enter it to confirm the change.`),
  ).toBeVisible();

  const { code } = await latestCode(page.request, next.phoneE164, "phone_change");
  await enterCode(page, "Code sent to the new number", code, "Change phone number");
  await expect(page).toHaveURL(/\/account$/);
  await expect(page.getByText("Your phone number has been changed. We told your old number too.")).toBeVisible();
  await expect(page.locator(".details")).toContainText(`${next.last4} · verified`);

  // The notice is queued with the change and sent by the delivery worker a moment later.
  const noticeToOldNumber = async () => {
    const outbox = (await (await page.request.get("/dev/outbox.json")).json()) as { to: string; purpose: string; body: string }[];
    return outbox.find((entry) => entry.purpose === "phone_changed" && entry.to === user.phoneE164)?.body ?? "";
  };
  await expect.poll(noticeToOldNumber).toContain(`ending in ${next.last4}`);
});
