import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { RUN_DIR } from "../provider/driver/runstate";
import type { Host } from "../provider/lib/host";

// "Remote hosts" inside a sandbox (engine/sandbox.ts), for `nslab sandbox` of a lab across hosts,
// the tests and the bench (docs/hosts.md): each is a network namespace and a mount namespace of
// its own, held by a small process made with `unshare --net --mount`, joined to the sandbox's
// namespace by a veth on the underlay bridge `nslab-ul` (10.250.0.1/24; host i is
// 10.250.0.(i+2)), and runs its own `sshd -D` (started into those namespaces with nsenter).
//
// Each host sees only its own namespaces and records: its mount namespace mounts a new tmpfs on
// /run (so /run/netns, /run/nslab, the xtables lock and sshd's /run/sshd are its own; `ip netns
// add` there binds under that /run/netns) and sysfs for its network namespace. root's ~/.bashrc
// (here it runs `pyenv init`, 2.3 s a command) is masked there by bind-mounting an empty file on it.
//
// Every ssh session runs under a ForceCommand wrapper that logs it to the host's `sessions` file
// and then runs its command with /bin/sh -c, as sshd would with the login shell. Every `ip` the
// host runs is a wrapper first in PATH (/usr/local/sbin, a directory of the host's own bind-mounted
// there) that logs it to the host's `commands` file and runs the real one; a test arms
// `tripAt(host, n)` to bring the host down at its n-th `ip`: the wrapper then kills every process
// in the host's network namespace but the holder (sshd, its sessions, itself), so the host keeps
// its kernel state and can be started again (`startSshd`).

export const UNDERLAY = "nslab-ul";
/** The sandbox's own address on the underlay. */
export const UNDERLAY_ADDRESS = "10.250.0.1";

export interface LabHost {
  /** What a resource's `host` input takes. */
  host: Host;
  /** The host's directory: sshd_config, host key, `commands` log. */
  dir: string;
  /** The process that holds the host's namespaces. */
  holder: ChildProcess;
  sshd?: ChildProcess;
}

export interface LabHosts {
  hosts: LabHost[];
  /** The private key the hosts accept. */
  identityFile: string;
  /** Stops every sshd, ends the hosts' namespaces and removes the underlay and the files. */
  teardown(): Promise<void>;
}

const SETUP = [
  "set -e",
  'dir=$1 addr=$2 bin=$3',
  "echo unshared",
  "mount -t tmpfs -o mode=0755 nslab-host /run",
  "mkdir -p /run/netns /run/nslab /run/sshd /run/lock",
  "mount -t sysfs sysfs /sys",
  'mount --bind "$dir/empty" /root/.bashrc',
  'mount --bind "$bin" /usr/local/sbin',
  "ip link set dev lo up",
  "read -r go", // the underlay's veth end has been moved in
  // No IPv6 link-local address on the underlay: its "tentative" flag would change snapshots while DAD runs.
  "ip link set dev eth0 addrgenmode none",
  'ip addr add "$addr/24" dev eth0',
  "ip link set dev eth0 up",
  "echo ready",
  "exec cat >/dev/null",
].join("\n");

// ForceCommand; $1: the host's directory.
const WRAPPER = ['printf "%s\\n" "$(printf %s "$SSH_ORIGINAL_COMMAND" | tr "\\n" " " | cut -c1-100)" >>"$1/sessions"', 'exec /bin/sh -c "$SSH_ORIGINAL_COMMAND"'].join("\n");

/** The host's `ip`: the command on one line, the trip check, the real `ip`. */
function ipWrapper(dir: string, realIp: string): string {
  return [
    "#!/bin/sh",
    `d=${dir}`,
    'printf "%s\\n" "$(printf "%s " "$@" | tr "\\n" " ")" >>"$d/commands"',
    'if [ -f "$d/trip" ] && [ "$(wc -l <"$d/commands")" -ge "$(cat "$d/trip")" ] && mv "$d/trip" "$d/tripped" 2>/dev/null; then',
    '  holder=$(cat "$d/holder.pid")',
    '  for p in /proc/[0-9]*; do',
    '    pid=${p#/proc/}',
    '    [ "$pid" != "$holder" ] && [ "$pid" != $$ ] && [ "$p/ns/net" -ef "/proc/$holder/ns/net" ] && kill -9 "$pid" 2>/dev/null',
    "  done",
    "  kill -9 $$",
    "fi",
    `exec ${realIp} "$@"`,
    "",
  ].join("\n");
}

/** Starts `count` hosts (10.250.0.2, .3, ...) reachable from the sandbox's namespace as root with a key made for the test. */
export async function startHosts(count: number): Promise<LabHosts> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "nslab-hosts-"));
  const identityFile = path.join(root, "id");
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "nslab-test", "-f", identityFile]);
  fs.copyFileSync(`${identityFile}.pub`, path.join(root, "authorized_keys"));
  fs.writeFileSync(path.join(root, "wrapper.sh"), WRAPPER);
  fs.writeFileSync(path.join(root, "empty"), "");
  ip("link", "add", UNDERLAY, "type", "bridge");
  ip("link", "set", "dev", UNDERLAY, "addrgenmode", "none");
  ip("addr", "add", `${UNDERLAY_ADDRESS}/24`, "dev", UNDERLAY);
  ip("link", "set", "dev", UNDERLAY, "up");
  const hosts: LabHost[] = [];
  const teardown = async () => {
    for (const [i, h] of hosts.entries()) {
      killHost(h);
      const ended = h.holder.exitCode === null ? new Promise((r) => h.holder.on("exit", r)) : undefined;
      h.holder.stdin!.end();
      await ended;
      // Its end in the host went with the host's namespace; this end goes now rather than when the kernel gets to it.
      try {
        execFileSync("ip", ["link", "del", `ul${i}`], { stdio: "ignore" });
      } catch {
        // the kernel got to it first
      }
    }
    execFileSync("ip", ["link", "del", UNDERLAY], { stdio: "ignore" });
    fs.rmSync(root, { recursive: true, force: true });
    // The host keys nslab accepted (driver/ssh.ts): the hosts are gone, and their keys with them.
    fs.rmSync(path.join(RUN_DIR, "ssh"), { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < count; i++) hosts.push(await startHost(root, i, identityFile));
  } catch (err) {
    await teardown();
    throw err;
  }
  return { hosts, identityFile, teardown };
}

async function startHost(root: string, i: number, identityFile: string): Promise<LabHost> {
  const dir = path.join(root, `h${i}`);
  fs.mkdirSync(dir);
  const address = `10.250.0.${i + 2}`;
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", path.join(dir, "host_key")]);
  fs.writeFileSync(
    path.join(dir, "sshd_config"),
    [
      `ListenAddress ${address}`,
      `HostKey ${dir}/host_key`,
      `AuthorizedKeysFile ${root}/authorized_keys`,
      `ForceCommand /bin/sh ${root}/wrapper.sh ${dir}`,
      "PidFile none",
      "UsePAM no",
      "UseDNS no",
      "StrictModes no",
      "PermitRootLogin prohibit-password",
      "PasswordAuthentication no",
      "KbdInteractiveAuthentication no",
      "PrintMotd no",
      "LogLevel ERROR",
      "",
    ].join("\n"),
  );
  fs.writeFileSync(path.join(dir, "commands"), "");
  fs.writeFileSync(path.join(dir, "sessions"), "");
  const bin = path.join(dir, "bin");
  fs.mkdirSync(bin);
  fs.writeFileSync(path.join(bin, "ip"), ipWrapper(dir, execFileSync("sh", ["-c", "command -v ip"], { encoding: "utf8" }).trim()), { mode: 0o755 });
  const holder = spawn("unshare", ["--net", "--mount", "--propagation", "private", "--", "sh", "-c", SETUP, "nslab-host", root, address, bin], { stdio: ["pipe", "pipe", "inherit"] });
  fs.writeFileSync(path.join(dir, "holder.pid"), String(holder.pid));
  let out = "";
  const said = (line: string) =>
    new Promise<void>((resolve, reject) => {
      const look = () => out.includes(`${line}\n`) && resolve();
      holder.stdout!.on("data", look);
      holder.on("exit", (code) => reject(new Error(`host ${address}: its namespaces' setup exited ${code}`)));
      look();
    });
  holder.stdout!.setEncoding("utf8").on("data", (d: string) => (out += d));
  await said("unshared");
  const veth = `ul${i}`;
  ip("link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", String(holder.pid));
  ip("link", "set", "dev", veth, "addrgenmode", "none", "master", UNDERLAY, "up");
  holder.stdin!.write("go\n");
  await said("ready");
  const h: LabHost = { host: { address, user: "root", identityFile }, dir, holder };
  await startSshd(h);
  return h;
}

/** Starts the host's sshd (again) and waits until it listens. */
export async function startSshd(h: LabHost): Promise<void> {
  const pid = String(h.holder.pid);
  h.sshd = spawn("nsenter", ["-t", pid, "--net", "--mount", "--", "/usr/sbin/sshd", "-D", "-e", "-f", path.join(h.dir, "sshd_config")], { stdio: ["ignore", "inherit", "inherit"] });
  // Port 22 (0016) listening (0A) in the host's namespace.
  while (!/^ *\d+: [0-9A-F]+:0016 0+:0000 0A /m.test(fs.readFileSync(`/proc/${pid}/net/tcp`, "utf8"))) {
    if (h.sshd.exitCode !== null) throw new Error(`host ${h.host.address}: sshd exited ${h.sshd.exitCode}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Stops the host's sshd and its sessions (every process in its network namespace but the holder); its kernel state stays. */
export function killHost(h: LabHost): void {
  const net = fs.readlinkSync(`/proc/${h.holder.pid}/ns/net`);
  for (const pid of fs.readdirSync("/proc").filter((p) => /^\d+$/.test(p) && Number(p) !== h.holder.pid)) {
    try {
      if (fs.readlinkSync(`/proc/${pid}/ns/net`) === net) process.kill(Number(pid), "SIGKILL");
    } catch {
      // ended meanwhile
    }
  }
}

/** Brings the host down (killHost, from inside) when its `n`-th `ip` from now starts. */
export function tripAt(h: LabHost, n: number): void {
  const seen = fs.readFileSync(path.join(h.dir, "commands"), "utf8").split("\n").filter(Boolean).length;
  fs.writeFileSync(path.join(h.dir, "trip"), String(seen + n));
}

/** The `ip` commands (`commands`) or ssh sessions (`sessions`) the host ran since the last take, one line each. */
export function take(h: LabHost, log: "commands" | "sessions"): string[] {
  const file = path.join(h.dir, log);
  const lines = fs.readFileSync(file, "utf8").split("\n").filter(Boolean);
  fs.writeFileSync(file, "");
  return lines;
}

/** argv run in the host's namespaces (its network and mount namespace), directly, not over ssh. */
export function onLabHost(h: LabHost, ...argv: string[]): string {
  return execFileSync("nsenter", ["-t", String(h.holder.pid), "--net", "--mount", `--wd=${process.cwd()}`, "--", ...argv], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

function ip(...args: string[]): void {
  execFileSync("ip", args, { stdio: ["ignore", "ignore", "pipe"] });
}
