import { expect, test } from "@playwright/test";
import { BAD_CODE, enterCode, hydrated, latestCode, lockAccount, newUser, requestNewCode, signOut, signUp } from "./helpers";
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
  await expect(page.getByRole("alert").filter({ hasText: BAD_CODE })).toBeVisible();

  await requestNewCode(page);
  await expect(page.getByText(`We sent a new code to the mobile number ending in ${user.last4}.`)).toBeVisible();
  await latestCode(request, user.phoneE164, "unlock", { newerThan: id, baseURL: SHORT_TTL_URL });
});

test("asking for another code within the cooldown says when to ask again", async ({ page, request }) => {
  const user = newUser("cooldown");
  await signUp(page, user, { cooldownMs: 2_500 });
  await signOut(page);
  await page.goto("/forgot-password");
  await hydrated(page);
  await page.getByLabel("Email").fill(user.email);
  await page.getByRole("button", { name: "Send code" }).click();
  await expect(page).toHaveURL(/\/reset-password$/);
  const first = await latestCode(request, user.phoneE164, "password_reset", { baseURL: SHORT_TTL_URL });

  await requestNewCode(page);
  await expect(
    page.getByRole("alert").filter({ hasText: /Too many codes were requested\. You can ask for a new one in [12] seconds?\./ }),
  ).toBeVisible();

  // Once the cooldown is over, the same button sends a new code.
  await page.waitForTimeout(2_500);
  await page.getByRole("button", { name: "Send a new code" }).click();
  await expect(page.getByText(`We sent a verification code to the mobile number ending in ${user.last4}.`)).toBeVisible();
  await latestCode(request, user.phoneE164, "password_reset", { newerThan: first.id, baseURL: SHORT_TTL_URL });
});
