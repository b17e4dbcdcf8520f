// A stand-in for Twilio's REST API on 127.0.0.1, for the browser tests of failed deliveries. It
// checks each request as Twilio documents it (HTTP Basic with the account SID and auth token, a
// form body with To, From and Body or Twiml), refuses every text message as sent to an invalid
// number (error 21211), accepts calls, and lists the calls it accepted at GET /calls?to=<E.164>.
// A number registered at POST /late-failures?to=<E.164> has its texts accepted instead, and a
// moment later reported undelivered (30006, a landline) to the message's StatusCallback, signed
// as Twilio signs its webhooks (X-Twilio-Signature: HMAC-SHA1 of the URL and the sorted
// parameters, with the auth token).
//
// It also plays Twilio Verify v2 (Verify Service VAe2e…): POST …/Verifications makes a 6-digit code
// for To (listed at GET /verify-codes?to=<E.164>, newest last, as the phone would show it);
// POST …/Verifications/<To> with Status=canceled cancels that number's pending one (404 if none);
// POST …/VerificationCheck answers "approved" once for the right code, "pending" for a wrong one,
// and 404 for a verification no longer pending.
import { createHmac } from "node:crypto";
import http from "node:http";

const port = Number(process.env.MOCK_TWILIO_PORT ?? 3199);
const accountSid = "ACe2e";
const authToken = "e2e-token";
const expectedAuth = `Basic ${Buffer.from(`${accountSid}:${authToken}`).toString("base64")}`;
const calls = [];
const verifyService = "VAe2e00000000000000000000000000000";
const verifications = [];
const lateFailures = new Set();
let messages = 0;

function twilioSignature(url, params) {
  const signed = [...params.keys()].sort().reduce((text, name) => text + name + params.get(name), url);
  return createHmac("sha1", authToken).update(signed).digest("base64");
}

/** Reports the message undelivered to its StatusCallback, as Twilio does once the carrier says so. */
function reportUndelivered(callbackUrl, sid, to) {
  const params = new URLSearchParams({
    AccountSid: accountSid,
    ApiVersion: "2010-04-01",
    ErrorCode: "30006",
    From: "+14155550000",
    MessageSid: sid,
    MessageStatus: "undelivered",
    SmsSid: sid,
    SmsStatus: "undelivered",
    To: to,
  });
  const request = http.request(callbackUrl, {
    method: "POST",
    headers: {
      "content-type": "application/x-www-form-urlencoded",
      "x-twilio-signature": twilioSignature(callbackUrl, params),
    },
  });
  request.on("error", () => {});
  request.end(params.toString());
}

function answer(response, status, body) {
  response.writeHead(status, { "content-type": "application/json" });
  response.end(JSON.stringify(body));
}

const notFound = { code: 20404, message: "The requested resource was not found", status: 404 };

/** Twilio Verify: start, cancel and check a verification (see the top of this file). */
function verify(request, response, path, form) {
  if (request.headers.authorization !== expectedAuth) {
    return answer(response, 401, { code: 20003, message: "Authentication Error", status: 401 });
  }
  if (path === "Verifications") {
    const to = form.get("To") ?? "";
    if (!/^\+[1-9]\d{1,14}$/.test(to) || !["sms", "call"].includes(form.get("Channel"))) {
      return answer(response, 400, { code: 60200, message: "Invalid parameter", status: 400 });
    }
    const sid = `VE${String(verifications.length + 1).padStart(32, "0")}`;
    const code = String(Math.floor(Math.random() * 1_000_000)).padStart(6, "0");
    verifications.push({ sid, to, code, channel: form.get("Channel"), status: "pending" });
    return answer(response, 201, { sid, service_sid: verifyService, to, channel: form.get("Channel"), status: "pending", valid: false });
  }
  if (path.startsWith("Verifications/")) {
    const to = decodeURIComponent(path.slice("Verifications/".length));
    const pending = verifications.find((v) => v.to === to && v.status === "pending");
    if (!pending || form.get("Status") !== "canceled") return answer(response, 404, notFound);
    pending.status = "canceled";
    return answer(response, 200, { sid: pending.sid, status: "canceled", valid: false });
  }
  if (path === "VerificationCheck") {
    const found = verifications.find((v) => v.sid === form.get("VerificationSid"));
    if (!found || found.status !== "pending") return answer(response, 404, notFound);
    const right = found.code === form.get("Code");
    if (right) found.status = "approved";
    return answer(response, 200, { sid: found.sid, to: found.to, status: right ? "approved" : "pending", valid: right });
  }
  return answer(response, 404, notFound);
}

const server = http.createServer((request, response) => {
  const url = new URL(request.url, `http://127.0.0.1:${port}`);
  if (request.method === "GET" && url.pathname === "/healthz") {
    return answer(response, 200, { ok: true });
  }
  if (request.method === "POST" && url.pathname === "/late-failures") {
    lateFailures.add(url.searchParams.get("to"));
    return answer(response, 200, { ok: true });
  }
  if (request.method === "GET" && url.pathname === "/verify-codes") {
    const to = url.searchParams.get("to");
    return answer(response, 200, verifications.filter((v) => v.to === to).map((v) => ({ sid: v.sid, code: v.code, channel: v.channel })));
  }
  if (request.method === "GET" && url.pathname === "/calls") {
    return answer(response, 200, calls.filter((call) => call.to === url.searchParams.get("to")));
  }
  let raw = "";
  request.on("data", (chunk) => (raw += chunk));
  request.on("end", () => {
    const base = `/2010-04-01/Accounts/${accountSid}`;
    if (request.method === "POST" && url.pathname.startsWith(`/v2/Services/${verifyService}/`)) {
      return verify(request, response, url.pathname.slice(`/v2/Services/${verifyService}/`.length), new URLSearchParams(raw));
    }
    if (request.method !== "POST" || !url.pathname.startsWith(base)) {
      return answer(response, 404, { code: 20404, message: "The requested resource was not found", status: 404 });
    }
    if (request.headers.authorization !== expectedAuth) {
      return answer(response, 401, { code: 20003, message: "Authentication Error", status: 401 });
    }
    if (!(request.headers["content-type"] ?? "").startsWith("application/x-www-form-urlencoded")) {
      return answer(response, 400, { code: 20001, message: "Content-Type must be a form", status: 400 });
    }
    const form = new URLSearchParams(raw);
    const to = form.get("To") ?? "";
    if (!/^\+[1-9]\d{1,14}$/.test(to) || !form.get("From")) {
      return answer(response, 400, { code: 21604, message: "A 'To' and 'From' phone number are required.", status: 400 });
    }
    if (url.pathname === `${base}/Messages.json`) {
      if (!form.get("Body")) {
        return answer(response, 400, { code: 21602, message: "Message body is required.", status: 400 });
      }
      if (lateFailures.has(to)) {
        messages += 1;
        const sid = `SM${String(messages).padStart(32, "0")}`;
        const callback = form.get("StatusCallback");
        if (callback) setTimeout(() => reportUndelivered(callback, sid, to), 500);
        return answer(response, 201, { sid, status: "queued", to });
      }
      return answer(response, 400, {
        code: 21211,
        message: `The 'To' number ${to} is not a valid phone number.`,
        status: 400,
      });
    }
    if (url.pathname === `${base}/Calls.json`) {
      const twiml = form.get("Twiml") ?? "";
      if (!twiml.startsWith("<Response><Say>")) {
        return answer(response, 400, { code: 21205, message: "Url or Twiml is required", status: 400 });
      }
      const sid = `CA${String(calls.length + 1).padStart(32, "0")}`;
      calls.push({ sid, to, twiml });
      return answer(response, 201, { sid, status: "queued", to });
    }
    return answer(response, 404, { code: 20404, message: "The requested resource was not found", status: 404 });
  });
});

server.listen(port, "127.0.0.1");
