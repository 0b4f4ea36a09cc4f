import type { AddressInfo } from "node:net";
import { simpleParser } from "mailparser";
import { SMTPServer } from "smtp-server";

export interface ReceivedMail {
  to: string[];
  /** The message as sent, headers unfolded. */
  raw: string;
  subject: string;
  text: string;
}

/**
 * A real SMTP server on loopback (smtp-server) that keeps what it is sent, read back by a mail parser
 * (headers unfolded, the body's transfer encoding undone). `answer` says what it answers a message:
 * "ok", or an SMTP error code (451: try again later; 550: no such mailbox).
 */
export async function startSmtpServer(answer: (to: string[]) => "ok" | 451 | 550 = () => "ok"): Promise<{ port: number; mails: ReceivedMail[]; close(): Promise<void> }> {
  const mails: ReceivedMail[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ["STARTTLS"],
    logger: false,
    onData(stream, session, callback) {
      let raw = "";
      stream.on("data", (c: Buffer) => (raw += c.toString()));
      stream.on("end", () => {
        const to = session.envelope.rcptTo.map((r) => r.address);
        const code = answer(to);
        if (code !== "ok") return callback(Object.assign(new Error(code === 451 ? "try again later" : "no such mailbox"), { responseCode: code }));
        simpleParser(raw).then((parsed) => {
          mails.push({ to, raw: raw.replace(/\r\n[ \t]+/g, " "), subject: parsed.subject ?? "", text: parsed.text ?? "" });
          callback();
        }, callback);
      });
    },
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { port: (server.server.address() as AddressInfo).port, mails, close: () => new Promise<void>((r) => server.close(() => r())) };
}
