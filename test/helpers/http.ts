import { execFile } from "node:child_process";

// HTTP from inside a namespace, with python3's urllib (python3 also runs the tests' web servers).

const GET = "import sys, urllib.request; sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())";

/** The body of a GET of `url` from namespace `netns`; rejects when the request fails. */
export function httpGet(netns: string, url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile("ip", ["netns", "exec", netns, "python3", "-c", GET, url], { encoding: "utf8", timeout: 10_000 }, (err, stdout, stderr) =>
      err ? reject(new Error(`GET ${url} from ${netns}: ${stderr || err.message}`)) : resolve(stdout),
    );
  });
}
