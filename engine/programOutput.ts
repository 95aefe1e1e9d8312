// The program's stderr as nslab passes it on.

/**
 * What the runtime prints when it logs after nslab stopped it: once a step failed (reported
 * already), the monitor answers UNAVAILABLE and the runtime closes its channel; a registration
 * started after that throws "Channel has been shut down", and logging that error fails the same
 * way, so the runtime prints both on stderr. A block ends with its severity line.
 */
const UNDELIVERED = /failed to deliver log message\. \nerror: Error: Channel has been shut down \n[^]*?\n message severity: \w+\n/g;
const UNDELIVERED_START = "failed to deliver log message.";

/** The program's stderr without the UNDELIVERED blocks, passed on by whole lines; a block is held back until it is complete. */
export function stderrFilter(): { push(chunk: string): string; flush(): string } {
  let held = "";
  return {
    push(chunk) {
      const text = (held + chunk).replace(UNDELIVERED, "");
      const start = text.indexOf(UNDELIVERED_START);
      const cut = start >= 0 ? start : text.lastIndexOf("\n") + 1;
      held = text.slice(cut);
      return text.slice(0, cut);
    },
    flush: () => held,
  };
}
