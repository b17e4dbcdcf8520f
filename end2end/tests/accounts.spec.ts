import { expect, test } from "@playwright/test";
import { logIn, newUser, signUp, WRONG_CREDENTIALS } from "./helpers";

test("the page's islands hydrate under its Content-Security-Policy, and forms post as forms", async ({ page }) => {
  const violations: string[] = [];
  page.on("console", (message) => {
    if (message.type() === "error" && /Content Security Policy/i.test(message.text())) {
      violations.push(message.text());
    }
  });
  const response = await page.goto("/login");
  expect(response?.headers()["content-security-policy"]).toContain("'nonce-");
  await expect(page.locator("html")).toHaveAttribute("data-hydrated", "true");

  await page.getByLabel("Email").fill("nobody@example.com");
  await page.getByLabel("Password", { exact: true }).fill("whatever it is");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("alert").filter({ hasText: WRONG_CREDENTIALS })).toBeVisible();
  // The page is server-rendered; the form posted and came back to the login page with its error.
  await expect(page).toHaveURL(/\/login\?/);
  await expect(page.locator("html")).toHaveAttribute("data-hydrated", "true");
  expect(violations).toEqual([]);
});

test("the account page needs a session", async ({ page }) => {
  await page.goto("/account");
  await expect(page).toHaveURL(/\/login$/);
});

test("signup shows each problem next to its field", async ({ page }) => {
  await page.goto("/signup");
  await page.getByLabel("First name").fill("Ada");
  await page.getByLabel("Last name").fill("Lovelace");
  await page.getByLabel("Email").fill("not-an-email");
  await page.getByLabel("Mobile phone").fill("12");
  await page.getByLabel("Password", { exact: true }).fill("short");
  await page.getByLabel("Confirm password").fill("short");
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page.locator("#email-error")).toHaveText("Enter an email address like name@example.com.");
  await expect(page.locator("#phone-error")).toHaveText("That number is not valid. Check the digits and the country code.");
  await expect(page.locator("#password-error")).toHaveText("Use at least 8 characters.");
  // The form posted and came back with its errors in the query string: still the signup page.
  await expect(page).toHaveURL(/\/signup\?/);
});

test("names with markup are shown as text", async ({ page }) => {
  const user = { ...newUser("markup"), firstName: "<b>Ada</b>" };
  await signUp(page, user);
  await expect(page.locator("b", { hasText: "Ada" })).toHaveCount(0);
});

test.describe("without JavaScript", () => {
  test.use({ javaScriptEnabled: false });

  test("the forms still work by plain form posts", async ({ page }) => {
    const user = newUser("nojs");
    await signUp(page, user);
    await page.getByRole("button", { name: "Sign out" }).click();
    await expect(page.getByText("You have been signed out.")).toBeVisible();

    await logIn(page, user.email, "not the password");
    await expect(page.getByRole("alert").filter({ hasText: WRONG_CREDENTIALS })).toBeVisible();
    await logIn(page, user.email, user.password);
    await expect(page).toHaveURL(/\/account$/);
  });
});
