import { expect, test } from "@playwright/test";
import { MOCK_TWILIO_URL, TWILIO_URL } from "../playwright.config";
import { lockAccount, logIn, newUser, signOut, signUp } from "./helpers";

const UNREACHABLE = "This number can't receive text messages. Try a phone call instead.";

test.describe("through a provider that refuses the text", () => {
  test.use({ baseURL: TWILIO_URL });

  test("a code that can't be texted is offered by call, and the call's code unlocks", async ({ page, request }) => {
    const user = newUser("undeliverable");
    await signUp(page, user);
    await signOut(page);
    await lockAccount(page, user);

    // The provider refuses the number; the page learns it and says so.
    const failure = page.getByRole("alert").filter({ hasText: UNREACHABLE });
    await expect(failure).toBeVisible();

    await page.getByRole("button", { name: "Call me instead" }).click();
    await expect(page.getByText(`We sent a new code to the mobile number ending in ${user.last4}.`)).toBeVisible();
    await expect(failure).toBeHidden();

    // The call reads the code digit by digit; the person types what they heard.
    let twiml = "";
    await expect
      .poll(async () => {
        const calls = await (await request.get(`${MOCK_TWILIO_URL}/calls?to=${encodeURIComponent(user.phoneE164)}`)).json();
        twiml = calls.length > 0 ? calls[calls.length - 1].twiml : "";
        return twiml;
      })
      .toContain("Again");
    const code = (twiml.split("Again")[0].split(" is: ")[1] ?? "").replace(/\D/g, "");
    expect(code).toMatch(/^\d{6}$/);

    await page.getByLabel("Verification code").fill(code);
    await page.getByRole("button", { name: "Unlock account" }).click();
    await expect(page.getByText("Your account is unlocked. Sign in with your password.")).toBeVisible();
    await logIn(page, user.email, user.password);
    await expect(page).toHaveURL(/\/account$/);
  });
});

test("calls are chosen at signup and changed back to texts on the account page", async ({ page }) => {
  const user = newUser("voice");
  await signUp(page, user, { byCall: true });
  await expect(page.getByText("Codes sent by")).toBeVisible();
  await expect(page.locator(".details")).toContainText("Phone call (the code is read aloud)");

  await page.getByLabel("Text message (SMS)").check();
  await page.getByRole("button", { name: "Save delivery preference" }).click();
  await expect(page.locator(".details")).toContainText("Text message (SMS)");
  await expect(page.getByText("Code delivery preference changed")).toBeVisible();
});
