import pino, { type Logger } from "pino";

/** One JSON logger per process; secrets and recipients never reach the output. */
export function createLogger(level: string, service: string): Logger {
  return pino({
    level,
    base: { service },
    redact: {
      paths: ["payload", "*.payload", "headers.authorization", "*.headers.authorization", "apiKey", "secret"],
      censor: "[redacted]",
    },
  });
}
