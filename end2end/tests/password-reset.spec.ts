import { expect, test } from "@playwright/test";
import { hydrated, latestCode, logIn, newUser, signOut, signUp, WRONG_CREDENTIALS } from "./helpers";

test("forgot password: a texted code sets a new password and the old one stops working", async ({ page, request }) => {
  const user = newUser("reset");
  await signUp(page, user);
  await signOut(page);

  await page.getByRole("link", { name: "Forgot password?" }).click();
  await expect(page).toHaveURL(/\/forgot-password$/);
  await hydrated(page);
  await page.getByLabel("Email").fill(user.email);
  await page.getByRole("button", { name: "Send code" }).click();
  await expect(page).toHaveURL(/\/reset-password$/);
  await expect(page.getByText(`We sent a verification code to the mobile number ending in ${user.last4}.`)).toBeVisible();

  const { code } = await latestCode(request, user.phoneE164, "password_reset");
  const newPassword = "an entirely new passphrase";
  await page.getByLabel("Verification code").fill(code);
  await page.getByLabel("New password", { exact: true }).fill(newPassword);
  await page.getByLabel("Confirm new password").fill(newPassword);
  await page.getByRole("button", { name: "Change password" }).click();
  await expect(page).toHaveURL(/\/login$/);
  await expect(page.getByLabel("Email")).toHaveValue(user.email);
  await expect(page.getByText("Your password has been changed. Sign in with your new password.")).toBeVisible();

  await logIn(page, user.email, user.password);
  await expect(page.getByRole("alert").filter({ hasText: WRONG_CREDENTIALS })).toBeVisible();

  await logIn(page, user.email, newPassword);
  await expect(page).toHaveURL(/\/account$/);
});

test("a reset with mismatched passwords shows the error next to the field", async ({ page, request }) => {
  const user = newUser("mismatch");
  await signUp(page, user);
  await signOut(page);
  await page.goto("/forgot-password");
  await hydrated(page);
  await page.getByLabel("Email").fill(user.email);
  await page.getByRole("button", { name: "Send code" }).click();
  await expect(page).toHaveURL(/\/reset-password$/);
  await hydrated(page);
  const { code } = await latestCode(request, user.phoneE164, "password_reset");
  await page.getByLabel("Verification code").fill(code);
  await page.getByLabel("New password", { exact: true }).fill("first version of it");
  await page.getByLabel("Confirm new password").fill("second version of it");
  await page.getByRole("button", { name: "Change password" }).click();
  await expect(page.locator("#new_password_confirm-error")).toHaveText("The passwords do not match.");
  await expect(page.getByLabel("Confirm new password")).toHaveAttribute("aria-invalid", "true");
});
