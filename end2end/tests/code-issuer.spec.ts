import { expect, test, type APIRequestContext } from "@playwright/test";
import { MOCK_TWILIO_URL, VERIFY_URL } from "../playwright.config";
import { BAD_CODE, enterCode, hydrated, lockAccount, logIn, newUser, signOut, signUp, type User } from "./helpers";

/** The code of the `count`-th verification the mock Twilio Verify started for the user's number. */
async function verifyCode(request: APIRequestContext, user: User, count: number): Promise<string> {
  let code = "";
  await expect
    .poll(async () => {
      const sent = await (await request.get(`${MOCK_TWILIO_URL}/verify-codes?to=${encodeURIComponent(user.phoneE164)}`)).json();
      code = sent.length >= count ? sent[count - 1].code : "";
      return code;
    })
    .toMatch(/^\d{6}$/);
  return code;
}

test.describe("with codes issued by Twilio Verify", () => {
  test.use({ baseURL: VERIFY_URL });

  for (const js of [true, false]) {
    test(`the service's code unlocks the account, and never resets the password (${js ? "with" : "without"} JavaScript)`, async ({
      browser,
      request,
    }) => {
      const context = await browser.newContext({ baseURL: VERIFY_URL, javaScriptEnabled: js });
      const page = await context.newPage();
      const options = { js };
      const user = newUser(js ? "verifyjs" : "verifynojs");
      await signUp(page, user, options);
      await signOut(page);
      await lockAccount(page, user, options);

      // The code comes from Twilio Verify, not from Latchkey's outbox.
      const unlockCode = await verifyCode(request, user, 1);
      await enterCode(page, "Verification code", unlockCode, "Unlock account", options);
      await expect(page.getByText("Your account is unlocked. Sign in with your password.")).toBeVisible();
      await logIn(page, user.email, user.password, options);
      await expect(page).toHaveURL(/\/account$/);
      await signOut(page);

      await page.goto("/forgot-password");
      await hydrated(page, options);
      await page.getByLabel("Email").fill(user.email);
      await page.getByRole("button", { name: "Send code" }).click();
      await expect(page).toHaveURL(/\/reset-password$/);
      const resetCode = await verifyCode(request, user, 2);
      const newPassword = "an entirely new passphrase";
      const fill = async (code: string) => {
        await hydrated(page, options);
        await page.getByLabel("Verification code").fill(code);
        await page.getByLabel("New password", { exact: true }).fill(newPassword);
        await page.getByLabel("Confirm new password").fill(newPassword);
        await page.getByRole("button", { name: "Change password" }).click();
      };
      // The unlock code, already used, is no reset code.
      await fill(unlockCode === resetCode ? "000000" : unlockCode);
      await expect(page.getByRole("alert").filter({ hasText: BAD_CODE })).toBeVisible();
      await context.close();
    });
  }
});
