import { expect, test } from "@playwright/test";
import { hydrated, latestCode, lockAccount, logIn, newUser, signOut, signUp } from "./helpers";

// WebOTP stubbed: `navigator.credentials.get` records what it was asked and waits until the test
// hands it the text message's code, as the browser would once the SMS arrives.
const STUB = () => {
  const record = window as unknown as {
    OTPCredential: unknown;
    otpRequests: { transport: string[]; hasSignal: boolean; aborted: () => boolean }[];
    deliverOtp: (code: string) => void;
  };
  record.OTPCredential = function OTPCredential() {};
  record.otpRequests = [];
  let deliver: (code: string) => void = () => {};
  record.deliverOtp = (code) => deliver(code);
  navigator.credentials.get = ((options: { otp?: { transport: string[] }; signal?: AbortSignal }) => {
    record.otpRequests.push({
      transport: options.otp?.transport ?? [],
      hasSignal: options.signal instanceof AbortSignal,
      aborted: () => options.signal?.aborted ?? false,
    });
    return new Promise((resolve) => {
      deliver = (code) => resolve({ type: "otp", id: "", code });
    });
  }) as typeof navigator.credentials.get;
};

test("the code from the text message fills and submits the unlock form by itself", async ({ page, request }) => {
  await page.addInitScript(STUB);
  const user = newUser("webotp");
  await signUp(page, user);
  await signOut(page);
  await lockAccount(page, user);
  await hydrated(page);
  // Earlier code pages of this document (the phone verification) asked too; leaving them ended
  // their requests.
  const asked = await page.evaluate(() =>
    (
      window as unknown as { otpRequests: { transport: string[]; hasSignal: boolean; aborted: () => boolean }[] }
    ).otpRequests.map((r) => ({ transport: r.transport, hasSignal: r.hasSignal, aborted: r.aborted() })),
  );
  expect(asked.at(-1)).toEqual({ transport: ["sms"], hasSignal: true, aborted: false });
  expect(asked.slice(0, -1).every((r) => r.aborted)).toBe(true);

  const { code } = await latestCode(request, user.phoneE164, "unlock");
  await page.evaluate((code) => (window as unknown as { deliverOtp: (c: string) => void }).deliverOtp(code), code);
  await expect(page).toHaveURL(/\/login$/);
  await expect(page.getByText("Your account is unlocked. Sign in with your password.")).toBeVisible();
  await logIn(page, user.email, user.password);
  await expect(page).toHaveURL(/\/account$/);
});

test("a pasted code with spaces and dashes submits itself", async ({ page, request }) => {
  const user = newUser("paste");
  await signUp(page, user);
  await page.getByLabel("Ask for a code every time I sign in").check();
  await page.getByRole("button", { name: "Save sign-in setting" }).click();
  await expect(page.getByText("Your sign-in settings have been saved.")).toBeVisible();
  await signOut(page);
  await logIn(page, user.email, user.password);
  await expect(page).toHaveURL(/\/sign-in-code$/);
  await hydrated(page);
  const { code } = await latestCode(request, user.phoneE164, "sign_in");
  await page.getByLabel("Sign-in code").fill(`${code.slice(0, 3)} - ${code.slice(3)}`);
  await expect(page).toHaveURL(/\/account$/);
});
