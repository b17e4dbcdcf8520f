import { expect, test } from "@playwright/test";
import { MOCK_TWILIO_URL, TWILIO_URL } from "../playwright.config";
import { type APIRequestContext } from "@playwright/test";
import {
  enterCode,
  enterVerificationCode,
  lockAccount,
  logIn,
  newUser,
  requestNewCode,
  signOut,
  signUp,
  startSignUp,
  type User,
} from "./helpers";

/** The code read aloud in the `count`-th call the mock Twilio accepted for the user's number. */
async function calledCode(request: APIRequestContext, user: User, count: number): Promise<string> {
  let twiml = "";
  await expect
    .poll(async () => {
      const calls = await (await request.get(`${MOCK_TWILIO_URL}/calls?to=${encodeURIComponent(user.phoneE164)}`)).json();
      twiml = calls.length >= count ? calls[count - 1].twiml : "";
      return twiml;
    })
    .toContain("Again");
  const code = (twiml.split("Again")[0].split(" is: ")[1] ?? "").replace(/\D/g, "");
  expect(code).toMatch(/^\d{6}$/);
  return code;
}

const UNREACHABLE = "This number can't receive text messages. Try a phone call instead";

test.describe("through a provider that refuses the text", () => {
  test.use({ baseURL: TWILIO_URL });

  test("a code that can't be texted is offered by call, and the call's code unlocks", async ({ page, request }) => {
    const user = newUser("undeliverable");
    // The signup's text cannot arrive either: the verify page offers a call.
    await startSignUp(page, user);
    await requestNewCode(page, { byCall: true });
    await expect(page.getByText(`We sent a new code to the mobile number ending in ${user.last4}.`)).toBeVisible();
    await enterVerificationCode(page, await calledCode(request, user, 1));
    await expect(page).toHaveURL(/\/account$/);
    await signOut(page);
    await lockAccount(page, user);

    // The provider refuses the number; the page learns it and says so.
    const failure = page.getByRole("alert").filter({ hasText: UNREACHABLE });
    await expect(failure).toBeVisible();

    await requestNewCode(page, { byCall: true });
    await expect(page.getByText(`We sent a new code to the mobile number ending in ${user.last4}.`)).toBeVisible();
    await expect(failure).toBeHidden();

    // The call reads the code digit by digit; the person types what they heard.
    const code = await calledCode(request, user, 2);

    await enterCode(page, "Verification code", code, "Unlock account");
    await expect(page.getByText("Your account is unlocked. Sign in with your password.")).toBeVisible();
    await logIn(page, user.email, user.password);
    await expect(page).toHaveURL(/\/account$/);
  });
});

test.describe("through a provider that accepts the text and reports later that it failed", () => {
  test.use({ baseURL: TWILIO_URL });

  test("the code page turns into \"call me instead\" when the late failure arrives", async ({ page, request }) => {
    const user = newUser("landline");
    // The mock Twilio accepts this number's texts, then reports them undelivered (30006, a
    // landline) to the StatusCallback the server named, signed as Twilio signs.
    await request.post(`${MOCK_TWILIO_URL}/late-failures?to=${encodeURIComponent(user.phoneE164)}`);
    await startSignUp(page, user);
    const failure = page.getByRole("alert").filter({ hasText: UNREACHABLE });
    await expect(failure).toBeVisible({ timeout: 20_000 });

    await requestNewCode(page, { byCall: true });
    await expect(page.getByText(`We sent a new code to the mobile number ending in ${user.last4}.`)).toBeVisible();
    await expect(failure).toBeHidden();
    await enterVerificationCode(page, await calledCode(request, user, 1));
    await expect(page).toHaveURL(/\/account$/);
  });
});

test.describe("without JavaScript, through a provider that reports later that the text failed", () => {
  test.use({ baseURL: TWILIO_URL, javaScriptEnabled: false });

  test("the code page says the number can't receive texts once the failure has come", async ({ page, request }) => {
    const user = newUser("landline-nojs");
    await request.post(`${MOCK_TWILIO_URL}/late-failures?to=${encodeURIComponent(user.phoneE164)}`);
    await startSignUp(page, user, { js: false });
    await expect(page).toHaveURL(/\/verify-phone$/);
    // The failure comes a moment after the text was accepted; the page says it on its next load
    // (in a <noscript>, which Playwright's text matching skips: the alert's text is read instead).
    await expect
      .poll(
        async () => {
          await page.reload();
          return (await page.getByRole("alert").allTextContents()).join(" ");
        },
        { timeout: 20_000 },
      )
      .toContain(UNREACHABLE);
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
  await expect(page.getByText("Your code delivery preference has been saved.")).toBeVisible();
  await expect(page.getByText("Code delivery preference changed")).toBeVisible();
});
