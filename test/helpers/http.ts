import { execFile } from "node:child_process";

// HTTP from inside a namespace, with python3's urllib (python3 also runs the tests' web servers).

const GET = "import sys, urllib.request; sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())";

/** The body of a GET of `url` from namespace `netns` (undefined: the host's); rejects when the request fails. */
export function httpGet(netns: string | undefined, url: string): Promise<string> {
  const argv = [...(netns ? ["ip", "netns", "exec", netns] : []), "python3", "-c", GET, url];
  return new Promise((resolve, reject) => {
    execFile(argv[0]!, argv.slice(1), { encoding: "utf8", timeout: 10_000 }, (err, stdout, stderr) =>
      err ? reject(new Error(`GET ${url} from ${netns ?? "the host"}: ${stderr || err.message}`)) : resolve(stdout),
    );
  });
}

/** The client addresses of the requests a `python3 -m http.server` logged, in order. */
export function clientsIn(log: string): string[] {
  return [...log.matchAll(/^(\S+) - - \[[^\]]*\] "GET /gm)].map((m) => m[1]!);
}
