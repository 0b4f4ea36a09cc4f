/**
 * A progress bar on stderr for long commands (archive, replay): redrawn in place on a terminal, a line
 * every few seconds otherwise (CI logs), and a final line when done.
 */
export class ProgressBar {
  private last = 0;
  private readonly tty = Boolean(process.stderr.isTTY);

  constructor(private readonly label: string) {}

  update(fraction: number, detail: string): void {
    const now = Date.now();
    if (now - this.last < (this.tty ? 100 : 5000)) return;
    this.last = now;
    const f = Math.max(0, Math.min(1, fraction));
    const width = 30;
    const filled = Math.round(f * width);
    const line = `${this.label} [${"#".repeat(filled)}${" ".repeat(width - filled)}] ${(f * 100).toFixed(0).padStart(3)}% ${detail}`;
    process.stderr.write(this.tty ? `\r${line}\u001b[K` : `${line}\n`);
  }

  done(detail: string): void {
    process.stderr.write(`${this.tty ? "\r\u001b[K" : ""}${this.label}: ${detail}\n`);
  }
}
