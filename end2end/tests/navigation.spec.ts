import { expect, test, type Page } from "@playwright/test";
import { hydrated, latestCode, logIn, newUser, signOut, signUp, startSignUp, WRONG_CREDENTIALS } from "./helpers";

// Once the wasm runs, links, Back and Forward, and a form's "go on" show the next page in the
// same document (app/src/navigation.rs). A mark left on `window` survives that, and is gone after
// any page load.

async function markDocument(page: Page) {
  await page.evaluate(() => {
    (window as unknown as { documentMark: boolean }).documentMark = true;
  });
}

async function expectSameDocument(page: Page) {
  expect(await page.evaluate(() => (window as unknown as { documentMark?: boolean }).documentMark === true)).toBe(
    true,
  );
}

test("links, Back and Forward change pages without loading a document, and each page works", async ({ page }) => {
  await page.goto("/login");
  await hydrated(page);
  await markDocument(page);

  await page.getByRole("link", { name: "Create an account" }).click();
  await expect(page).toHaveURL(/\/signup$/);
  await expect(page).toHaveTitle("Create an account · Latchkey");
  await expect(page.getByRole("heading", { name: "Create an account" })).toBeFocused();
  // The new page's islands run: live validation answers as the field is left.
  await page.getByLabel("Email").fill("not an email");
  await page.getByLabel("Email").blur();
  await expect(page.getByLabel("Email")).toHaveAttribute("aria-invalid", "true");
  await expectSameDocument(page);

  await page.goBack();
  await expect(page).toHaveURL(/\/login$/);
  await expect(page).toHaveTitle("Sign in · Latchkey");
  // The sign-in island of the page come back to answers in place.
  await page.getByLabel("Email").fill("nobody-nav@example.com");
  await page.getByLabel("Password", { exact: true }).fill("not the password");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("alert").filter({ hasText: WRONG_CREDENTIALS })).toBeVisible();
  await expectSameDocument(page);

  await page.goForward();
  await expect(page).toHaveURL(/\/signup$/);
  await expect(page.getByRole("heading", { name: "Create an account" })).toBeVisible();
  await expectSameDocument(page);
});

test("signing in and out goes on in the same document; Back after signing out shows sign-in", async ({ page }) => {
  const user = newUser("navigate");
  await signUp(page, user);
  await signOut(page);
  await markDocument(page);

  await logIn(page, user.email, user.password);
  await expect(page).toHaveURL(/\/account$/);
  await expect(page.getByRole("heading", { name: `Hello, ${user.firstName}` })).toBeVisible();
  await expectSameDocument(page);

  await signOut(page);
  await expect(page).toHaveURL(/\/login$/);
  await expectSameDocument(page);
  await page.goBack();
  // The account page's address is asked for again; without a session it answers with sign-in.
  await expect(page).toHaveURL(/\/login$/);
  await expect(page.getByRole("heading", { name: "Sign in" })).toBeVisible();
  await expect(page.getByText(user.email)).toHaveCount(0);
});

test("links the browser should open itself are left to it", async ({ page }) => {
  await page.goto("/login");
  await hydrated(page);
  // Listens after the navigation's own listener: records whether it took the click over, and
  // keeps the browser from following the link either way.
  await page.evaluate(() => {
    window.addEventListener("click", (event) => {
      (window as unknown as { takenOver?: boolean }).takenOver = event.defaultPrevented;
      event.preventDefault();
    });
  });
  const takenOver = async (attributes: Record<string, string>, modifiers: ("Shift" | "Control")[] = []) => {
    await page.evaluate((attributes) => {
      document.getElementById("probe")?.remove();
      const link = document.createElement("a");
      link.id = "probe";
      link.textContent = "probe";
      for (const [name, value] of Object.entries(attributes)) link.setAttribute(name, value);
      document.querySelector("main")?.prepend(link);
    }, attributes);
    await page.locator("#probe").click({ modifiers });
    return page.evaluate(() => (window as unknown as { takenOver?: boolean }).takenOver);
  };
  expect(await takenOver({ href: "https://example.invalid/elsewhere" })).toBe(false);
  expect(await takenOver({ href: "/signup", rel: "external" })).toBe(false);
  expect(await takenOver({ href: "/signup", target: "_blank" })).toBe(false);
  expect(await takenOver({ href: "/signup", download: "" })).toBe(false);
  expect(await takenOver({ href: "/signup" }, ["Control"])).toBe(false);
  expect(await takenOver({ href: "#main" })).toBe(false);
  // And a plain link to a page of this site is taken over.
  expect(await takenOver({ href: "/signup" })).toBe(true);
  await expect(page).toHaveURL(/\/signup$/);
});

test("leaving a code page ends its WebOTP request", async ({ page, request }) => {
  await page.addInitScript(() => {
    const record = window as unknown as {
      OTPCredential: unknown;
      otpSignals: AbortSignal[];
    };
    record.OTPCredential = function OTPCredential() {};
    record.otpSignals = [];
    navigator.credentials.get = ((options: { signal?: AbortSignal }) => {
      if (options.signal) record.otpSignals.push(options.signal);
      return new Promise(() => {});
    }) as typeof navigator.credentials.get;
  });
  const user = newUser("leave");
  await startSignUp(page, user);
  await hydrated(page);
  const aborted = () =>
    page.evaluate(() => (window as unknown as { otpSignals: AbortSignal[] }).otpSignals.map((s) => s.aborted));
  await expect.poll(aborted).toEqual([false]);
  await page.getByRole("link", { name: "Back to sign in" }).click();
  await expect(page).toHaveURL(/\/login$/);
  await expect.poll(aborted).toEqual([true]);
  // The account still verifies from a page opened afresh.
  const { code } = await latestCode(request, user.phoneE164, "phone_verification");
  expect(code).toMatch(/^\d{6}$/);
});
