import { afterAll, describe, expect, test } from "bun:test";
import net from "node:net";
import { SMTPServer, type SMTPServerOptions } from "smtp-server";
import { createSmtpSender, senderDomain, type SmtpSender } from "./email-smtp.ts";
import { PermanentError, RetryableError } from "./errors.ts";
import { classifySmtpError } from "./smtp-errors.ts";
import type { OutboundNotification } from "./types.ts";

interface Received {
  mailFrom: string;
  rcptTo: string[];
  raw: string;
}

/** An SMTP error reply the way smtp-server sends it: `<code> <message>`. */
function reply(code: number, text: string): Error {
  return Object.assign(new Error(text), { responseCode: code });
}

/** Provider API keys often carry URL-reserved characters; the URL holds them percent-encoded. */
const PASSWORD = "s3/cr+t@:x";

/** Behaviour is chosen by the recipient's local part, so one server covers every case. */
function startSmtp(extra: Partial<SMTPServerOptions> = {}) {
  const received: Received[] = [];
  const auths: string[] = [];
  const sessions = { opened: 0, open: new Set<string>(), byRecipient: new Map<string, string>() };
  const server = new SMTPServer({
    logger: false,
    disabledCommands: ["STARTTLS"],
    authOptional: true,
    allowInsecureAuth: true,
    closeTimeout: 200,
    onConnect(session, cb) {
      sessions.opened++;
      sessions.open.add(session.id);
      cb();
    },
    onClose(session) {
      sessions.open.delete(session.id);
    },
    onAuth(auth, _session, cb) {
      auths.push(auth.username ?? "");
      if (auth.username === "herald" && auth.password === PASSWORD) return cb(null, { user: auth.username });
      cb(new Error("5.7.8 Authentication credentials invalid"));
    },
    onRcptTo({ address }, session, cb) {
      sessions.byRecipient.set(address, session.id);
      if (address.startsWith("rcpt550@")) return cb(reply(550, `5.1.1 <${address}>: mailbox unavailable`));
      if (address.startsWith("rcpt451@")) return cb(reply(451, "4.3.0 try again later"));
      cb();
    },
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on("data", (c: Buffer) => chunks.push(c));
      stream.on("end", () => {
        const rcptTo = session.envelope.rcptTo.map((r) => r.address);
        const code = /^data(\d{3})@/.exec(rcptTo[0] ?? "")?.[1];
        if (code) return cb(reply(Number(code), "message refused"));
        const delayMs = rcptTo[0]?.startsWith("slow@") ? 150 : 0;
        const mailFrom = session.envelope.mailFrom ? session.envelope.mailFrom.address : "";
        setTimeout(() => {
          received.push({ mailFrom, rcptTo, raw: Buffer.concat(chunks).toString("utf8") });
          cb(null, "2.0.0 Ok: queued as ABC123");
        }, delayMs);
      });
    },
    ...extra,
  });
  // smtp-server reports client-side failures (e.g. a client refusing its certificate) as server errors.
  server.on("error", () => undefined);
  const listening = new Promise<number>((resolve) => {
    const s = server.listen(0, "127.0.0.1", () => resolve((s.address() as net.AddressInfo).port));
  });
  const close = () => new Promise<void>((resolve) => server.close(resolve));
  return { received, auths, sessions, listening, close };
}

/** A TCP server that accepts and never speaks: no SMTP greeting ever comes. */
function startSilent() {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  const listening = new Promise<number>((resolve) => server.listen(0, "127.0.0.1", () => resolve((server.address() as net.AddressInfo).port)));
  const close = () => {
    for (const s of sockets) s.destroy();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return { listening, close };
}

async function closedPort(): Promise<number> {
  const server = net.createServer();
  const port = await new Promise<number>((resolve) => server.listen(0, "127.0.0.1", () => resolve((server.address() as net.AddressInfo).port)));
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const smtp = startSmtp();
const silent = startSilent();
const port = await smtp.listening;
const FROM = "Herald <no-reply@example.com>";
const senders: SmtpSender[] = [];
function sender(url = `smtp://127.0.0.1:${port}`, timeoutMs = 1000): SmtpSender {
  const s = createSmtpSender({ url, from: FROM, timeoutMs, maxConnections: 2 });
  senders.push(s);
  return s;
}
const plain = sender();

afterAll(async () => {
  await Promise.all(senders.map((s) => s.close()));
  await Promise.all([smtp.close(), silent.close()]);
});

const ctx = { attempt: 1, signal: new AbortController().signal };

function note(payload: Record<string, unknown>): OutboundNotification {
  return { id: crypto.randomUUID(), tenantId: "acme", userId: "u", channel: "email", type: "transactional", payload, metadata: null, correlationId: null };
}

function email(to: string, extra: Record<string, unknown> = {}): OutboundNotification {
  return note({ to, subject: "Your code", body: "Your code is 123456.", ...extra });
}

async function failure(p: Promise<unknown>): Promise<Error> {
  return p.then(
    () => new Error("expected a failure"),
    (err: unknown) => (err instanceof Error ? err : new Error(String(err))),
  );
}

function messagesFor(id: string): Received[] {
  // nodemailer writes the header name as X-Herald-Notification-ID; header names are case-insensitive.
  return smtp.received.filter((m) => m.raw.toLowerCase().includes(`x-herald-notification-id: ${id}\r\n`));
}

describe("smtp sender", () => {
  test("delivers the envelope, headers, text body and html alternative", async () => {
    const n = email("alice@example.org", { html: "<p>Your code is <b>123456</b>.</p>" });
    const result = await plain.send(n, ctx);
    const [m] = messagesFor(n.id);
    expect(m?.mailFrom).toBe("no-reply@example.com");
    expect(m?.rcptTo).toEqual(["alice@example.org"]);
    const raw = m?.raw ?? "";
    expect(raw).toMatch(/^Subject: Your code\r$/m);
    expect(raw).toMatch(/^From: Herald <no-reply@example\.com>\r$/m);
    expect(raw).toMatch(/^To: alice@example\.org\r$/m);
    expect(raw).toContain(`\r\nMessage-ID: <${n.id}@example.com>\r\n`);
    expect(raw).toMatch(new RegExp(`^X-Herald-Notification-Id: ${n.id}\r$`, "im"));
    expect(raw).toMatch(/^Content-Type: multipart\/alternative;/m);
    expect(raw).toContain("Your code is 123456.");
    expect(raw).toMatch(/^Content-Type: text\/html/m);
    expect(result.providerMessageId).toBe(`<${n.id}@example.com>`);
  });

  test("sends List-Unsubscribe and List-Unsubscribe-Post for one-click unsubscribe when the payload has a link, and neither without", async () => {
    const url = "https://notify.example.com/v1/unsubscribe/eyJ0IjoiYWNtZSJ9.c2lnbmF0dXJl";
    const n = email("carol@example.org", { listUnsubscribe: url });
    await plain.send(n, ctx);
    const raw = (messagesFor(n.id)[0]?.raw ?? "").replace(/\r\n[ \t]+/g, " ");
    expect(raw).toMatch(new RegExp(`^List-Unsubscribe: <${url.replace(/[.]/g, "\\.")}>\r$`, "m"));
    expect(raw).toMatch(/^List-Unsubscribe-Post: List-Unsubscribe=One-Click\r$/m);
    const without = email("dave@example.org");
    await plain.send(without, ctx);
    expect(messagesFor(without.id)[0]?.raw.toLowerCase()).not.toContain("list-unsubscribe");
  });

  test("sends a single text/plain part when there is no html", async () => {
    const n = email("bob@example.org");
    await plain.send(n, ctx);
    const raw = messagesFor(n.id)[0]?.raw ?? "";
    expect(raw).toMatch(/^Content-Type: text\/plain/m);
    expect(raw).not.toContain("multipart");
  });

  test("a retried send of the same notification carries the same Message-ID", async () => {
    const n = email("carol@example.org");
    await plain.send(n, ctx);
    await plain.send(n, { ...ctx, attempt: 2 });
    const ids = messagesFor(n.id).map((m) => /^Message-ID: (.*)\r$/m.exec(m.raw)?.[1]);
    expect(ids).toEqual([`<${n.id}@example.com>`, `<${n.id}@example.com>`]);
  });

  test("authenticates with the percent-encoded credentials in the URL", async () => {
    const n = email("dave@example.org");
    await sender(`smtp://herald:${encodeURIComponent(PASSWORD)}@127.0.0.1:${port}`).send(n, ctx);
    expect(smtp.auths).toContain("herald");
    expect(messagesFor(n.id)).toHaveLength(1);
  });

  test("rejects with RetryableError when the credentials are wrong (535 is config, not the message)", async () => {
    const err = await failure(sender(`smtp://herald:wrong@127.0.0.1:${port}`).send(email("erin@example.org"), ctx));
    expect(err).toBeInstanceOf(RetryableError);
    expect(err.message).toContain("535");
    expect(err.message).toContain("EAUTH");
  });

  test("rejects with PermanentError when the recipient is refused (550), without naming the address", async () => {
    const err = await failure(plain.send(email("rcpt550@example.org"), ctx));
    expect(err).toBeInstanceOf(PermanentError);
    expect(err.message).toContain("550 5.1.1");
    expect(err.message).not.toContain("rcpt550");
  });

  test("rejects with RetryableError when the recipient is deferred (451)", async () => {
    const err = await failure(plain.send(email("rcpt451@example.org"), ctx));
    expect(err).toBeInstanceOf(RetryableError);
    expect(err.message).toContain("451 4.3.0 try again later");
  });

  test("rejects with PermanentError when the message is refused (552, 554)", async () => {
    for (const code of [552, 554]) {
      const err = await failure(plain.send(email(`data${code}@example.org`), ctx));
      expect(err).toBeInstanceOf(PermanentError);
      expect(err.message).toContain(`${code} message refused`);
    }
  });

  test("rejects with RetryableError when the message is deferred (421, 450)", async () => {
    for (const code of [421, 450]) {
      const err = await failure(plain.send(email(`data${code}@example.org`), ctx));
      expect(err).toBeInstanceOf(RetryableError);
      expect(err.message).toContain(`${code} message refused`);
    }
  });

  test("keeps delivering over the pool after a refusal", async () => {
    await failure(plain.send(email("rcpt550@example.org"), ctx));
    const n = email("frank@example.org");
    await plain.send(n, ctx);
    expect(messagesFor(n.id)).toHaveLength(1);
  });

  test("rejects with RetryableError when nothing listens on the port", async () => {
    const err = await failure(sender(`smtp://127.0.0.1:${await closedPort()}`, 2000).send(email("gina@example.org"), ctx));
    expect(err).toBeInstanceOf(RetryableError);
    expect(err.message).toContain("ECONNREFUSED");
  });

  test("rejects with RetryableError within timeoutMs when the server never greets", async () => {
    const started = performance.now();
    const err = await failure(sender(`smtp://127.0.0.1:${await silent.listening}`, 300).send(email("hank@example.org"), ctx));
    expect(err).toBeInstanceOf(RetryableError);
    expect(err.message).toContain("timed out after 300 ms");
    expect(performance.now() - started).toBeLessThan(1000);
  });

  test("rejects with RetryableError when the server's certificate is not trusted", async () => {
    const tls = startSmtp({ secure: true, disabledCommands: [] });
    try {
      const err = await failure(sender(`smtps://127.0.0.1:${await tls.listening}`).send(email("ivy@example.org"), ctx));
      expect(err).toBeInstanceOf(RetryableError);
      expect(err.message).toContain("ESOCKET");
      expect(tls.received).toHaveLength(0);
    } finally {
      await tls.close();
    }
  });

  test("rejects with PermanentError on an invalid payload without connecting", async () => {
    const fresh = sender();
    const opened = smtp.sessions.opened;
    const err = await failure(fresh.send(note({ to: "jack@example.org", body: "no subject" }), ctx));
    expect(err).toBeInstanceOf(PermanentError);
    expect(err.message).toContain("invalid email payload");
    expect(smtp.sessions.opened).toBe(opened);
  });

  test("close() ends the pooled connection", async () => {
    const own = sender();
    await own.send(email("kate@example.org"), ctx);
    const session = smtp.sessions.byRecipient.get("kate@example.org") ?? "";
    expect(smtp.sessions.open.has(session)).toBe(true);
    await own.close();
    for (let i = 0; i < 50 && smtp.sessions.open.has(session); i++) await Bun.sleep(10);
    expect(smtp.sessions.open.has(session)).toBe(false);
  });

  test("close() lets a send already on the wire finish", async () => {
    const own = sender();
    const n = email("slow@example.org");
    const sending = own.send(n, ctx);
    while (!smtp.sessions.byRecipient.has("slow@example.org")) await Bun.sleep(5);
    await own.close();
    expect((await sending).providerMessageId).toBe(`<${n.id}@example.com>`);
    expect(messagesFor(n.id)).toHaveLength(1);
  });

  test("rejects with RetryableError when the processor aborts the send", async () => {
    const abort = new AbortController();
    const sending = failure(plain.send(email("slow@example.org"), { attempt: 1, signal: abort.signal }));
    setTimeout(() => abort.abort(), 20);
    const err = await sending;
    expect(err).toBeInstanceOf(RetryableError);
    expect(err.message).toContain("EABORT");
  });
});

describe("classifySmtpError", () => {
  const smtpError = (code: string, responseCode?: number, command?: string, message = "failed") =>
    Object.assign(new Error(responseCode ? `${message}: ${responseCode} reply` : message), { code, responseCode, command });

  test("is permanent for 5xx refusals of the recipient or the message", () => {
    for (const [code, rc, cmd] of [
      ["EENVELOPE", 550, "RCPT TO"],
      ["EENVELOPE", 553, "RCPT TO"],
      ["EMESSAGE", 554, "DATA"],
      ["EENVELOPE", 552, "MAIL FROM"],
    ] as const) {
      expect(classifySmtpError(smtpError(code, rc, cmd))).toBeInstanceOf(PermanentError);
    }
  });

  test("is permanent for an address refused before anything was sent", () => {
    expect(classifySmtpError(smtpError("EENVELOPE", undefined, "API", 'Invalid recipient "x@y"'))).toBeInstanceOf(PermanentError);
  });

  test("is retryable for 4xx replies, 503, and MAIL FROM refusals of our sender", () => {
    for (const [code, rc, cmd] of [
      ["EENVELOPE", 451, "RCPT TO"],
      ["EMESSAGE", 421, "DATA"],
      ["EENVELOPE", 503, "DATA"],
      ["EENVELOPE", 553, "MAIL FROM"],
      ["EENVELOPE", 530, "MAIL FROM"],
    ] as const) {
      expect(classifySmtpError(smtpError(code, rc, cmd))).toBeInstanceOf(RetryableError);
    }
  });

  test("is retryable for configuration and server failures, whatever the reply", () => {
    for (const code of ["EAUTH", "ENOAUTH", "ECONNECTION", "ETIMEDOUT", "ESOCKET", "EDNS", "ETLS", "EPROTOCOL", "EABORT"]) {
      expect(classifySmtpError(smtpError(code, 554, "CONN"))).toBeInstanceOf(RetryableError);
    }
    expect(classifySmtpError(smtpError("EAUTH", 535, "AUTH PLAIN"))).toBeInstanceOf(RetryableError);
  });

  test("is retryable for anything unknown", () => {
    expect(classifySmtpError(new Error("boom"))).toBeInstanceOf(RetryableError);
    expect(classifySmtpError("boom")).toBeInstanceOf(RetryableError);
  });

  test("names code, command and reply on one line, with addresses redacted", () => {
    const err = smtpError("EENVELOPE", 550, "RCPT TO", "Recipient command failed");
    err.message = "Recipient command failed: 550 5.1.1 <zoe@example.org>:\n  mailbox unavailable  ";
    expect(classifySmtpError(err).message).toBe("smtp EENVELOPE RCPT TO: Recipient command failed: 550 5.1.1 <[redacted]>: mailbox unavailable");
  });
});

test("senderDomain reads the domain of the from address, and refuses one without", () => {
  expect(senderDomain("Herald <no-reply@example.com>")).toBe("example.com");
  expect(senderDomain('"a@b" <x@mail.example.net>')).toBe("mail.example.net");
  expect(() => senderDomain("Herald")).toThrow();
});
