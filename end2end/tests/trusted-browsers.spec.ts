import { expect, test } from "@playwright/test";
import { lockAccount, logIn, newUser, signOut, signUp } from "./helpers";

test("a lock caused in another browser does not stop a trusted one, which can be removed", async ({
  page,
  browser,
}) => {
  const user = newUser("trusted");
  // Signing up (the phone verified) makes this browser a trusted one.
  await signUp(page, user);
  await expect(page.getByRole("heading", { name: "Trusted browsers" })).toBeVisible();
  const thisBrowser = page.locator("ul.devices li").filter({ hasText: "This browser" });
  await expect(thisBrowser).toHaveCount(1);
  await signOut(page);

  // Someone else, in a browser of their own, locks the account.
  const stranger = await browser.newContext();
  const strangerPage = await stranger.newPage();
  await lockAccount(strangerPage, user);
  await logIn(strangerPage, user.email, user.password);
  await expect(strangerPage).toHaveURL(/\/unlock$/);
  await stranger.close();

  // The owner's browser still signs in with the password.
  await logIn(page, user.email, user.password);
  await expect(page).toHaveURL(/\/account$/);

  // Removing it: the account trusts no browser any more.
  page.once("dialog", (dialog) => dialog.accept());
  await thisBrowser.getByRole("button", { name: "Remove" }).click();
  await expect(
    page.getByText("That browser is no longer trusted: a lock now stops it like any other."),
  ).toBeVisible();
  await expect(page.locator("ul.devices li")).toHaveCount(0);
});

test.describe("without JavaScript", () => {
  test.use({ javaScriptEnabled: false });

  test("the account page lists this browser and removes it by a plain form post", async ({ page }) => {
    const user = newUser("trustednojs");
    await signUp(page, user, { js: false });
    const thisBrowser = page.locator("ul.devices li").filter({ hasText: "This browser" });
    await expect(thisBrowser).toHaveCount(1);
    await thisBrowser.getByRole("button", { name: "Remove" }).click();
    await expect(page).toHaveURL(/\/account$/);
    await expect(
      page.getByText("That browser is no longer trusted: a lock now stops it like any other."),
    ).toBeVisible();
    await expect(page.locator("ul.devices li")).toHaveCount(0);
  });
});
