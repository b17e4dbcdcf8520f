import { expect, test } from "@playwright/test";
import {
  BAD_CODE,
  enterCode,
  grantAdmin,
  latestCode,
  logIn,
  newUser,
  requestNewCode,
  signUp,
  WRONG_CREDENTIALS,
} from "./helpers";

const NO_JS = { js: false };

test.describe("without JavaScript", () => {
  test.use({ javaScriptEnabled: false });

  test("a signup error comes back with what was typed, but never the password, and nothing in the address", async ({
    page,
  }) => {
    const user = newUser("nojs-signup");
    await page.goto("/signup");
    await page.getByLabel("First name").fill(user.firstName);
    await page.getByLabel("Last name").fill(user.lastName);
    await page.getByLabel("Email").fill(user.email);
    await page.getByLabel("Mobile phone").fill("12");
    await page.getByLabel("Password", { exact: true }).fill(user.password);
    await page.getByLabel("Confirm password").fill(user.password);
    await page.getByRole("button", { name: "Create account" }).click();
    await expect(page).toHaveURL(/\/signup$/);
    await expect(page.locator("#phone-error")).toHaveText("That number is not valid. Check the digits and the country code.");
    await expect(page.getByLabel("Mobile phone")).toHaveAttribute("aria-invalid", "true");
    await expect(page.getByLabel("Mobile phone")).toBeFocused();
    await expect(page.getByLabel("First name")).toHaveValue(user.firstName);
    await expect(page.getByLabel("Last name")).toHaveValue(user.lastName);
    await expect(page.getByLabel("Email")).toHaveValue(user.email);
    await expect(page.getByLabel("Mobile phone")).toHaveValue("12");
    await expect(page.getByLabel("Password", { exact: true })).toHaveValue("");
    expect(await page.content()).not.toContain(user.password);

    // Only the number needs typing again.
    await page.getByLabel("Mobile phone").fill(user.phoneTyped);
    await page.getByLabel("Password", { exact: true }).fill(user.password);
    await page.getByLabel("Confirm password").fill(user.password);
    await page.getByRole("button", { name: "Create account" }).click();
    await expect(page).toHaveURL(/\/verify-phone$/);
    const { code } = await latestCode(page.request, user.phoneE164, "phone_verification");
    await enterCode(page, "Verification code", code, "Verify phone", NO_JS);
    await expect(page).toHaveURL(/\/account$/);
    await expect(page.getByText("Your phone number is verified.")).toBeVisible();
  });

  test("lock, unlock with a resent code, sign in, sign out, and reset the password by plain form posts", async ({
    page,
  }) => {
    const user = newUser("nojs");
    await signUp(page, user, NO_JS);
    await page.getByRole("button", { name: "Sign out" }).click();
    await expect(page.getByText("You have been signed out.")).toBeVisible();

    // As a browser the account does not trust (a trusted one's failures never lock it).
    await page.context().clearCookies({ name: /latchkey_device$/ });
    for (const attempt of [1, 2]) {
      await logIn(page, user.email, `not the password ${attempt}`, NO_JS);
      await expect(page.getByRole("alert").filter({ hasText: WRONG_CREDENTIALS })).toBeVisible();
      await expect(page).toHaveURL(/\/login$/);
      await expect(page.getByLabel("Email")).toHaveValue(user.email);
    }
    await logIn(page, user.email, "not the password 3", NO_JS);
    await expect(page).toHaveURL(/\/unlock$/);
    await expect(
      page.getByText(`Your account is temporarily locked. We sent a verification code to the mobile number ending in ${user.last4}.`),
    ).toBeVisible();
    await expect(page.getByText(`Account: ${user.email}`)).toBeVisible();
    const first = await latestCode(page.request, user.phoneE164, "unlock");
    await enterCode(page, "Verification code", "000000" === first.code ? "111111" : "000000", "Unlock account", NO_JS);
    await expect(page).toHaveURL(/\/unlock$/);
    await expect(page.getByRole("alert").filter({ hasText: BAD_CODE })).toBeVisible();
    await requestNewCode(page, NO_JS);
    await expect(page.getByText(`We sent a new code to the mobile number ending in ${user.last4}.`)).toBeVisible();
    const second = await latestCode(page.request, user.phoneE164, "unlock", { newerThan: first.id });
    await enterCode(page, "Verification code", second.code, "Unlock account", NO_JS);
    await expect(page).toHaveURL(/\/login$/);
    await expect(page.getByText("Your account is unlocked. Sign in with your password.")).toBeVisible();
    await expect(page.getByLabel("Email")).toHaveValue(user.email);

    await page.getByRole("link", { name: "Forgot password?" }).click();
    await page.getByLabel("Email").fill(user.email);
    await page.getByRole("button", { name: "Send code" }).click();
    await expect(page).toHaveURL(/\/reset-password$/);
    const reset = await latestCode(page.request, user.phoneE164, "password_reset");
    const newPassword = "a new passphrase for plain forms";
    await page.getByLabel("Verification code").fill(reset.code);
    await page.getByLabel("New password", { exact: true }).fill(newPassword);
    await page.getByLabel("Confirm new password").fill("not the same at all");
    await page.getByRole("button", { name: "Change password" }).click();
    await expect(page.locator("#new_password_confirm-error")).toHaveText("The passwords do not match.");
    await expect(page).toHaveURL(/\/reset-password$/);
    await page.getByLabel("Verification code").fill(reset.code);
    await page.getByLabel("New password", { exact: true }).fill(newPassword);
    await page.getByLabel("Confirm new password").fill(newPassword);
    await page.getByRole("button", { name: "Change password" }).click();
    await expect(page.getByText("Your password has been changed. Sign in with your new password.")).toBeVisible();
    await logIn(page, user.email, newPassword, NO_JS);
    await expect(page).toHaveURL(/\/account$/);
  });
});

test.describe("without JavaScript, signed in", () => {
  test.use({ javaScriptEnabled: false });

  test("a sign-in code, a phone change and the admin area work by plain form posts", async ({ page }) => {
    const user = newUser("nojs-signed-in");
    await signUp(page, user, NO_JS);
    await page.getByLabel("Ask for a code every time I sign in").check();
    await page.getByRole("button", { name: "Save sign-in setting" }).click();
    await expect(page.getByText("Your sign-in settings have been saved.")).toBeVisible();
    await page.getByRole("button", { name: "Sign out" }).click();

    await logIn(page, user.email, user.password, NO_JS);
    await expect(page).toHaveURL(/\/sign-in-code$/);
    await expect(page.getByText(`Enter the code we sent to the mobile number ending in ${user.last4}.`)).toBeVisible();
    const signIn = await latestCode(page.request, user.phoneE164, "sign_in");
    await enterCode(page, "Sign-in code", signIn.code, "Sign in", NO_JS);
    await expect(page).toHaveURL(/\/account$/);

    let next = newUser("nojs-new-number");
    while (next.last4 === user.last4) next = newUser("nojs-new-number");
    await page.getByRole("link", { name: "Change" }).click();
    await page.getByLabel("Current password").fill("not my password");
    await page.getByLabel("New mobile number").fill(next.phoneTyped);
    await page.getByRole("button", { name: "Send code to the new number" }).click();
    await expect(page).toHaveURL(/\/account\/phone$/);
    await expect(page.getByLabel("New mobile number")).toHaveValue(next.phoneTyped);
    await expect(page.getByLabel("Current password")).toHaveValue("");
    await page.getByLabel("Current password").fill(user.password);
    await page.getByRole("button", { name: "Send code to the new number" }).click();
    await expect(page).toHaveURL(/\/account\/phone\?step=code$/);
    const change = await latestCode(page.request, next.phoneE164, "phone_change");
    await enterCode(page, "Code sent to the new number", change.code, "Change phone number", NO_JS);
    await expect(page.getByText("Your phone number has been changed. We told your old number too.")).toBeVisible();

    grantAdmin("main", user.email);
    await page.goto("/admin");
    await page.getByRole("button", { name: "Send me an admin access code" }).click();
    await expect(page.getByText(`We sent an admin access code to the mobile number ending in ${next.last4}.`)).toBeVisible();
    const admin = await latestCode(page.request, next.phoneE164, "admin_step_up");
    await enterCode(page, "Admin access code", admin.code, "Open the admin area", NO_JS);
    await expect(page.getByRole("heading", { name: "Find an account" })).toBeVisible();
    await page.getByLabel("Email, or the last digits of the phone number").fill(user.email);
    await page.getByRole("button", { name: "Search" }).click();
    await expect(page).toHaveURL(/\/admin\?q=/);
    await page.getByRole("link", { name: user.email }).click();
    await page.getByRole("button", { name: "End all sessions" }).click();
    // That ended this session too: the next signed-in page asks to sign in.
    await page.goto("/account");
    await expect(page).toHaveURL(/\/login$/);
  });
});
