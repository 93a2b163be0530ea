// The commands' output on stdout (class Output): streamed in small batches, quiet when the reader
// goes away (EPIPE, e.g. `| head`).

export class Output {
  private buf = "";
  private last = Date.now();
  /** The reader closed the pipe or writing failed: stop producing output. */
  closed = false;
  error?: Error;

  constructor(private readonly stream: NodeJS.WritableStream) {
    stream.on("error", (e: NodeJS.ErrnoException) => {
      this.closed = true;
      if (e.code !== "EPIPE" && !this.error) this.error = e;
    });
  }

  write(s: string): void {
    if (!this.closed) this.buf += s;
  }

  /** Writes out what is pending when enough has gathered or some time has passed. */
  async maybeFlush(): Promise<void> {
    if (this.buf.length >= 16384 || Date.now() - this.last >= 100) await this.flush();
  }

  async flush(): Promise<void> {
    this.last = Date.now();
    if (this.closed || this.buf === "") return;
    const s = this.buf;
    this.buf = "";
    if (this.stream.write(s)) return;
    await new Promise<void>((resolve) => {
      const done = () => {
        this.stream.off("drain", done);
        this.stream.off("error", done);
        this.stream.off("close", done);
        resolve();
      };
      this.stream.on("drain", done);
      this.stream.on("error", done);
      this.stream.on("close", done);
    });
  }
}
