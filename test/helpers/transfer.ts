import { execFile, spawn } from "node:child_process";

// A measured TCP transfer between two namespaces, with python3: the receiver times from the
// first byte to the end of the stream, so the time of starting the programs is left out.

const RECEIVE = `
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], 5001)); s.listen(1); print("listening", flush=True)
c, _ = s.accept(); n = 0; first = None
while True:
    b = c.recv(65536)
    if not b: break
    if first is None: first = time.monotonic()
    n += len(b)
print(n, time.monotonic() - first, flush=True)
`;
const SEND = "import socket, sys; c = socket.create_connection((sys.argv[1], 5001)); c.sendall(bytes(int(sys.argv[2]))); c.close()";

/** Sends `bytes` from `fromNs` to address:5001 in `toNs`; the bits per second the receiver saw. */
export async function transferRate(fromNs: string, toNs: string, address: string, bytes: number): Promise<number> {
  const receiver = spawn("ip", ["netns", "exec", toNs, "python3", "-c", RECEIVE, address], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  receiver.stderr.on("data", (d) => (err += d));
  const ended = new Promise<void>((resolve) => receiver.on("close", () => resolve()));
  await new Promise<void>((resolve, reject) => {
    receiver.stdout.on("data", (d) => {
      out += d;
      if (out.includes("listening\n")) resolve();
    });
    receiver.on("close", () => reject(new Error(`receiver ended: ${err}`)));
  });
  await new Promise<void>((resolve, reject) =>
    execFile("ip", ["netns", "exec", fromNs, "python3", "-c", SEND, address, String(bytes)], (e, _o, stderr) => (e ? reject(new Error(`sender: ${stderr}`)) : resolve())),
  );
  await ended;
  const [received, seconds] = out.split("\n")[1]!.split(" ").map(Number);
  if (received !== bytes) throw new Error(`received ${received} of ${bytes} bytes`);
  return (bytes * 8) / seconds!;
}
