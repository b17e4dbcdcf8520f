import { expect, test } from "@playwright/test";
import { EXPIRED_CODE, enterCode, hydrated, latestCode, lockAccount, newUser, requestNewCode, signOut, signUp } from "./helpers";
import { SHORT_TTL_URL } from "../playwright.config";

// This server's codes expire after 5 seconds (CODE_TTL=5s; a signup's after an hour) and its send
// cooldown is 2 seconds, which the signup's own code starts.
test.use({ baseURL: SHORT_TTL_URL });

test("an expired code is refused and a new one can be requested", async ({ page, request }) => {
  const user = newUser("expired");
  await signUp(page, user, { cooldownMs: 2_500 });
  await signOut(page);
  await lockAccount(page, user);
  const { code, id } = await latestCode(request, user.phoneE164, "unlock", { baseURL: SHORT_TTL_URL });

  // Let the code outlive its 5-second lifetime on the server's real clock.
  await page.waitForTimeout(6_000);
  await enterCode(page, "Verification code", code, "Unlock account");
  // The right code, too late: said so, not "wrong".
  await expect(page.getByRole("alert").filter({ hasText: EXPIRED_CODE })).toBeVisible();

  await requestNewCode(page);
  await expect(page.getByText(`We sent a new code to the mobile number ending in ${user.last4}.`)).toBeVisible();
  await latestCode(request, user.phoneE164, "unlock", { newerThan: id, baseURL: SHORT_TTL_URL });
});

test("the new-code control counts down the server's own wait, then sends", async ({ page, request }) => {
  const user = newUser("cooldown");
  await signUp(page, user, { cooldownMs: 2_500 });
  await signOut(page);
  await page.goto("/forgot-password");
  await hydrated(page);
  await page.getByLabel("Email").fill(user.email);
  await page.getByRole("button", { name: "Send code" }).click();
  await expect(page).toHaveURL(/\/reset-password$/);
  const first = await latestCode(request, user.phoneE164, "password_reset", { baseURL: SHORT_TTL_URL });
  await hydrated(page);

  // The code just sent started the 2-second cooldown: the control says so and waits.
  await page.locator("details.resend > summary").click();
  const send = page.getByRole("button", { name: /^Send a new code/ });
  await expect(send).toHaveText(/^Send a new code \(0:0[12]\)$/);
  await expect(send).toBeDisabled();
  await expect(send).toHaveText("Send a new code");
  await expect(send).toBeEnabled();
  await send.click();
  await expect(page.getByText(`We sent a verification code to the mobile number ending in ${user.last4}.`)).toBeVisible();
  await latestCode(request, user.phoneE164, "password_reset", { newerThan: first.id, baseURL: SHORT_TTL_URL });
});

test.describe("without JavaScript", () => {
  test.use({ javaScriptEnabled: false });

  test("asking for another code within the cooldown says when to ask again", async ({ page, request }) => {
    const user = newUser("cooldown-nojs");
    await signUp(page, user, { cooldownMs: 2_500, js: false });
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.goto("/forgot-password");
    await page.getByLabel("Email").fill(user.email);
    await page.getByRole("button", { name: "Send code" }).click();
    await expect(page).toHaveURL(/\/reset-password$/);
    await latestCode(request, user.phoneE164, "password_reset", { baseURL: SHORT_TTL_URL });

    await requestNewCode(page, { js: false });
    await expect(page).toHaveURL(/\/reset-password$/);
    await expect(
      page.getByRole("alert").filter({ hasText: /Too many codes were requested\. You can ask for a new one in [12] seconds?\./ }),
    ).toBeVisible();
    // The control stays open with the message, the account still named.
    await expect(page.locator("details.resend")).toHaveAttribute("open", "");
    await expect(page.getByText(`Account: ${user.email}`)).toBeVisible();
  });
});
