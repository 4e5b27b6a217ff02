import { SMTPServer } from "smtp-server";

/** One message the peer took: the envelope's sender and recipients, and the raw message. */
export interface Mail {
  from: string;
  to: string[];
  raw: string;
}

export interface SmtpPeer {
  server: SMTPServer;
  port: number;
  mail: Mail[];
  stop(): Promise<void>;
}

/**
 * A real SMTP server on loopback (smtp-server) that keeps what it receives;
 * a recipient starting `refused@` is refused with 550, as a relay refuses an
 * unknown mailbox.
 */
export function startSmtpPeer(): Promise<SmtpPeer> {
  const mail: Mail[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ["STARTTLS"],
    logger: false,
    onRcptTo(address, _session, done) {
      if (address.address.startsWith("refused@")) {
        done(Object.assign(new Error("5.1.1 mailbox unavailable"), { responseCode: 550 }));
        return;
      }
      done();
    },
    onData(stream, session, done) {
      let raw = "";
      stream.setEncoding("utf8");
      stream.on("data", (chunk: string) => (raw += chunk));
      stream.on("end", () => {
        const from = session.envelope.mailFrom === false ? "" : session.envelope.mailFrom.address;
        mail.push({ from, to: session.envelope.rcptTo.map((r) => r.address), raw });
        done();
      });
    },
  });
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => {
      const address = server.server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      resolve({ server, port, mail, stop: () => new Promise<void>((done) => server.close(() => done())) });
    });
  });
}
