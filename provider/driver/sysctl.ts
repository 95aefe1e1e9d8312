import * as fs from "node:fs/promises";
import { NslabError, shellQuote } from "../errors";
import { exec, failedWith } from "./exec";
import { listDir } from "./files";
import { currentHost } from "./host";
import type { Netns } from "./ip";
import { where } from "./link";
import { withHostLock } from "./lock";
import { shortHash } from "../lib/names";
import { missingNetnsError, netnsIdentity, netnsPath } from "./netns";
import { readRecord, removeRecord, RUN_DIR, writeRecord } from "./runstate";

// Sysctls (/proc/sys) and their holder registry.
//
// Reading and writing: the host's namespace goes through /proc/sys directly (no process at all),
// a remote host's through sysctl(8) there.
// A named namespace needs a process inside it, because /proc/sys/net shows the namespace of the
// process that looks it up. `nsenter --net=/run/netns/NS sysctl ...` enters only the network
// namespace (median 2.5 ms here); `ip netns exec NS sysctl ...` also unshares a mount namespace
// and remounts /sys, which /proc/sys does not need (3.4 ms). sysctl(8) reads keys in the same
// dotted form as nslab, "/" standing for a "." inside an interface name.
//
// Holders: the kernel has no mark for a sysctl, so a host-wide record per (namespace, key) under
// /run/nslab says what the value was before nslab (`original`), which value nslab holds, and who
// holds it. Several holders may share a key at the same value; the last one to leave restores the
// original, and only when the kernel still has the held value. A record of a named namespace
// carries the namespace's identity, so a re-created namespace of the same name never inherits it:
// its inode and the inode's creation time, because the kernel reuses a freed namespace's inode
// number (measured: add, del, and add again 0.2 s later gave the same inode every time).

/** The /proc/sys path of a dotted key ("." separates, "/" stands for a "." in an interface name). */
export function sysctlPath(key: string): string {
  return "/proc/sys/" + key.split(".").map((segment) => segment.replace(/\//g, ".")).join("/");
}

/** A value as compared with what the kernel prints: trimmed, each run of whitespace (multi-field values print with tabs) one space. */
export function normalizeValue(value: string | number): string {
  return String(value).trim().replace(/\s+/g, " ");
}

/**
 * The value of `key`, normalised; undefined when the key does not exist (its interface is gone, or
 * it is not per-namespace). Equivalent to: `[nsenter --net=/run/netns/NS] sysctl KEY`.
 */
export async function readSysctl(netns: Netns, key: string): Promise<string | undefined> {
  if (netns === undefined && !currentHost()) {
    try {
      return normalizeValue(await fs.readFile(sysctlPath(key), "utf8"));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "ENOENT") return undefined;
      if (code === "EISDIR") throw notOneKey(key);
      if (code === "EACCES" && ((await fs.stat(sysctlPath(key))).mode & 0o444) === 0) throw writeOnly(key);
      throw fsError(err, `reading ${sysctlPath(key)}`, ["sysctl", "-n", key]);
    }
  }
  let stdout: string;
  try {
    stdout = (await exec(inNetns(netns, ["sysctl", key]))).stdout;
  } catch (err) {
    if (failedWith(err, "NOT_FOUND")) return undefined;
    throw err;
  }
  return valueIn(key, stdout);
}

/**
 * The value in `sysctl KEY` output. Not `sysctl -n`: given a directory, sysctl prints every key
 * below it (and `sysctl -w` on a directory exits 0 doing nothing); "KEY = VALUE" on one line is
 * the only answer for one key. A write-only key prints nothing (exit 0).
 */
function valueIn(key: string, stdout: string): string {
  if (stdout === "") throw writeOnly(key);
  const prefix = `${key} =`;
  if (!stdout.startsWith(prefix) || stdout.includes("\n")) throw notOneKey(key);
  return normalizeValue(stdout.slice(prefix.length));
}

function writeOnly(key: string): NslabError {
  return new NslabError("INVALID", `${key} cannot be read (${sysctlPath(key)} is write-only, a trigger rather than a setting), so it cannot be held and restored; run it as a command instead`);
}

function notOneKey(key: string): NslabError {
  return new NslabError("INVALID", `${key} is a directory of sysctls (${sysctlPath(key)}), not one sysctl; name one of its keys (list them with: sysctl ${key})`);
}

/**
 * Writes `value` and returns the value as the kernel now prints it (normalised).
 * Equivalent to: `[nsenter --net=/run/netns/NS] sysctl -q KEY=VALUE KEY` (one process: sysctl
 * writes an argument with "=" and reads one without, in order).
 */
export async function writeSysctl(netns: Netns, key: string, value: string): Promise<string | undefined> {
  if (netns === undefined && !currentHost()) {
    try {
      // "r+": never create (a missing key is ENOENT, not a new file).
      await fs.writeFile(sysctlPath(key), value, { flag: "r+" });
    } catch (err) {
      throw fsError(err, `writing "${value}" to ${sysctlPath(key)}`, ["sysctl", "-w", `${key}=${value}`]);
    }
    return readSysctl(netns, key);
  }
  return valueIn(key, (await exec(inNetns(netns, ["sysctl", "-q", `${key}=${value}`, key]))).stdout);
}

/** argv in the namespace; a remote host's own namespace runs it as it is (its /proc/sys is not this machine's). */
function inNetns(netns: Netns, argv: string[]): string[] {
  return netns === undefined ? argv : ["nsenter", `--net=${netnsPath(netns)}`, ...argv];
}

/** An fs error on /proc/sys as a classified NslabError naming the equivalent command. */
function fsError(err: unknown, what: string, equivalent: string[]): NslabError {
  const code = (err as NodeJS.ErrnoException).code;
  const classified = code === "ENOENT" ? "NOT_FOUND" : code === "EINVAL" ? "INVALID" : code === "EACCES" || code === "EPERM" ? "PERMISSION_DENIED" : "COMMAND_FAILED";
  return new NslabError(classified, `${what} failed (${(err as Error).message}); equivalent to: ${equivalent.map(shellQuote).join(" ")}`, { cause: err });
}

/** Who holds a key: the owner hash, and a readable name for messages. */
export interface Holder {
  hash: string;
  name: string;
}

interface HolderRecord {
  key: string;
  netns?: string;
  /** Identity of the named namespace the record describes (netnsIdentity). */
  identity?: string;
  /** The value before the first holder, restored by the last. */
  original: string;
  /** The value the holders hold, as the kernel prints it. */
  value: string;
  holders: Holder[];
  /** The keys the kernel overwrote when `key` was written (see cascadeOf), as they were before. */
  cascade?: Record<string, string>;
}

/**
 * Writing the global forwarding switch (`net.ipv4.ip_forward`, `net.ipv4.conf.all.forwarding`,
 * `net.ipv6.conf.all.forwarding`) makes the kernel copy the value to every interface's
 * `forwarding` (devinet_forward / addrconf_fixup_forwarding), so restoring it alone would leave
 * interfaces nslab never touched changed. The family whose per-interface keys a write overwrites,
 * or undefined for an ordinary key.
 */
function cascadeOf(key: string): "ipv4" | "ipv6" | undefined {
  if (key === "net.ipv4.ip_forward" || key === "net.ipv4.conf.all.forwarding") return "ipv4";
  if (key === "net.ipv6.conf.all.forwarding") return "ipv6";
  return undefined;
}

/** Every interface's (and `default`'s) forwarding key of a family with its value. */
async function readForwarding(netns: Netns, family: "ipv4" | "ipv6"): Promise<Record<string, string>> {
  const values: Record<string, string> = {};
  if (netns === undefined && !currentHost()) {
    for (const dev of await fs.readdir(`/proc/sys/net/${family}/conf`)) {
      const key = `net.${family}.conf.${dev.replace(/\./g, "/")}.forwarding`;
      const value = dev === "all" ? undefined : await readSysctl(netns, key);
      if (value !== undefined) values[key] = value;
    }
    return values;
  }
  // One process for all of them: "KEY = VALUE" lines.
  const { stdout } = await exec(inNetns(netns, ["sysctl", "-a", "-r", `^net\\.${family}\\.conf\\.[^.]+\\.forwarding$`]));
  for (const line of stdout.split("\n")) {
    const m = /^(\S+) = (.*)$/.exec(line);
    if (m && !m[1]!.startsWith(`net.${family}.conf.all.`)) values[m[1]!] = normalizeValue(m[2]!);
  }
  return values;
}

/**
 * Writes again the values nslab holds of the per-interface (and `default`) forwarding keys of
 * `family` in the namespace, which a write of the family's forwarding switch just overwrote: the
 * switch's step repairs what it broke, whichever was declared or created first. Called under the
 * family's lock (lockName), so no hold of those keys is under way.
 */
async function reapplyHeldForwarding(netns: Netns, identity: string | undefined, family: "ipv4" | "ipv6"): Promise<void> {
  const perInterface = new RegExp(`^net\\.${family}\\.conf\\.[^.]+\\.forwarding$`);
  for (const record of await listRecords()) {
    if (record.netns !== netns || record.identity !== identity || !perInterface.test(record.key) || cascadeOf(record.key)) continue;
    const now = record.holders.length > 0 ? await readSysctl(netns, record.key) : undefined;
    if (now !== undefined && now !== record.value) await writeSysctl(netns, record.key, record.value);
  }
}

/** Every holder record (a few per lab). */
async function listRecords(): Promise<HolderRecord[]> {
  const files = await listDir(`${RUN_DIR}/${RECORDS}`);
  const records: HolderRecord[] = [];
  for (const f of files.filter((f) => !f.endsWith(".tmp"))) {
    const text = await readRecord(RECORDS, decodeURIComponent(f));
    if (text !== undefined) records.push(JSON.parse(text) as HolderRecord);
  }
  return records;
}

/** Puts back what a forwarding switch overwrote, for the interfaces that still exist. */
async function restoreCascade(netns: Netns, cascade: Record<string, string>): Promise<void> {
  for (const [key, value] of Object.entries(cascade)) {
    const now = await readSysctl(netns, key);
    if (now !== undefined && now !== value) await writeSysctl(netns, key, value);
  }
}

const RECORDS = "sysctl";

function recordKey(netns: Netns, key: string): string {
  const readable = `${netns ?? "-"}/${key}`;
  // File names are limited to 255 bytes; a long namespace name plus a key may not fit.
  return encodeURIComponent(readable).length <= 200 ? readable : shortHash([netns ?? "", key], 32);
}

/** The record's file, for messages. */
function recordFile(netns: Netns, key: string): string {
  return `${RUN_DIR}/${RECORDS}/${encodeURIComponent(recordKey(netns, key))}`;
}

/**
 * The lock of (netns, key). A family's forwarding keys (its switch, every interface's and
 * `default`'s) share one: a hold of an interface's key that found the kernel already at its value
 * writes nothing, and a switch written between that read and the hold's record would overwrite the
 * value after listing the holders it puts back (the interface left at the switch's value).
 */
function lockName(netns: Netns, key: string): string {
  const family = cascadeOf(key) ?? /^net\.(ipv4|ipv6)\.conf\.[^.]+\.forwarding$/.exec(key)?.[1];
  return `sysctl-${shortHash([netns ?? "", family ? `${family} forwarding` : key], 16)}`;
}

/**
 * The record of (netns, key), or undefined when there is none or it describes another namespace
 * of that name (`identity`: the namespace now, undefined for the host or a namespace that is gone).
 */
async function loadRecord(netns: Netns, key: string, identity: string | undefined): Promise<HolderRecord | undefined> {
  const text = await readRecord(RECORDS, recordKey(netns, key));
  if (text === undefined) return undefined;
  const record = JSON.parse(text) as HolderRecord;
  return record.identity === identity ? record : undefined;
}

function saveRecord(record: HolderRecord): Promise<void> {
  return writeRecord(RECORDS, recordKey(record.netns, record.key), JSON.stringify(record));
}

function names(holders: readonly Holder[]): string {
  return holders.map((h) => h.name).join(", ");
}

export interface HoldOptions {
  /** Take the key over from holders of another value (they are dropped from the record). */
  adopt?: boolean;
  /** Update in place: the holder hash this one replaces; the value may change only when no one else holds it. */
  replacing?: string;
}

/**
 * Makes `me` a holder of `key` at `value` and sets it: records the original value on first
 * hold, refuses a value other holders do not share. The record is written before the kernel,
 * so a create retried after a crash finds itself a holder and completes. Returns the original.
 */
export function holdSysctl(netns: Netns, key: string, value: string | number, me: Holder, options: HoldOptions = {}): Promise<{ previous: string }> {
  return withHostLock(lockName(netns, key), async () => {
    const identity = netns === undefined ? undefined : await netnsIdentity(netns);
    if (netns !== undefined && identity === undefined) {
      throw missingNetnsError("netns", netns, undefined);
    }
    const current = await readSysctl(netns, key);
    if (current === undefined) {
      throw new NslabError(
        "NOT_FOUND",
        `there is no sysctl ${key} in ${where(netns)} (${sysctlPath(key)} does not exist). Check the key with: ${netns ? `ip netns exec ${netns} ` : ""}sysctl -a; ` +
          `an interface key needs the interface to exist (depend on it), and a "." inside an interface name is written "/" (net.ipv4.conf.eth0/100.forwarding)`,
      );
    }
    const want = normalizeValue(value);
    const before = await loadRecord(netns, key, identity);
    const others = before?.holders.filter((h) => h.hash !== me.hash && h.hash !== options.replacing) ?? [];
    let keep = others;
    if (before && others.length > 0 && before.value !== want) {
      if (options.replacing !== undefined) {
        throw new NslabError(
          "CONFLICT",
          `${key} in ${where(netns)} is also held at "${before.value}" by ${names(others)}; its value can change in place only while this resource is its only holder. ` +
            `Keep value "${before.value}", or remove the other holder(s) first.`,
        );
      }
      if (!options.adopt) {
        throw new NslabError(
          "CONFLICT",
          `${key} in ${where(netns)} is held at "${before.value}" by ${names(others)}; resources share a sysctl only at the same value. ` +
            `Use value "${before.value}", remove the other holder(s) first, or set adopt: true to take the key over. ` +
            `If no such resource exists any more, remove its stale record with: rm '${recordFile(netns, key)}'`,
        );
      }
      keep = [];
    }
    const family = cascadeOf(key);
    const cascade = before ? before.cascade : family && current !== want ? await readForwarding(netns, family) : undefined;
    const record: HolderRecord = {
      key,
      ...(netns === undefined ? {} : { netns, identity }),
      original: before?.original ?? current,
      value: want,
      holders: [...keep, me],
      ...(cascade ? { cascade } : {}),
    };
    await saveRecord(record);
    if (current !== want) {
      // Put the record back as it was where the kernel keeps (or gets back) its value.
      const restoreRecord = () => (before ? saveRecord(before) : removeRecord(RECORDS, recordKey(netns, key)));
      let printed: string | undefined;
      try {
        printed = await writeSysctl(netns, key, want);
      } catch (err) {
        await restoreRecord();
        throw err;
      }
      if (printed !== want) {
        await writeSysctl(netns, key, current);
        await restoreRecord();
        throw new NslabError("INVALID", `the kernel stores value "${want}" of ${key} as "${printed}"; write the value as the kernel prints it: value "${printed}"`);
      }
      if (family) await reapplyHeldForwarding(netns, identity, family);
    }
    return { previous: record.original };
  });
}

/**
 * What `hash` holds: the kernel's value now and the original; undefined when it holds nothing
 * (no record, a record of another namespace of that name, not among the holders) or the key or
 * namespace is gone.
 */
export async function heldSysctl(netns: Netns, key: string, hash: string): Promise<{ current: string; previous: string } | undefined> {
  const identity = netns === undefined ? undefined : await netnsIdentity(netns);
  if (netns !== undefined && identity === undefined) return undefined;
  const record = await loadRecord(netns, key, identity);
  if (!record?.holders.some((h) => h.hash === hash)) return undefined;
  try {
    const current = await readSysctl(netns, key);
    return current === undefined ? undefined : { current, previous: record.original };
  } catch (err) {
    if (failedWith(err, "NO_NETNS")) return undefined;
    throw err;
  }
}

/**
 * Removes `hash` from the holders; the last holder restores the original value, only when the
 * kernel still has the held value (a value changed by hand is left alone). Resolves when the
 * record, the key or the namespace is already gone.
 */
export function releaseSysctl(netns: Netns, key: string, hash: string): Promise<void> {
  return withHostLock(lockName(netns, key), async () => {
    const identity = netns === undefined ? undefined : await netnsIdentity(netns);
    const text = await readRecord(RECORDS, recordKey(netns, key));
    if (text === undefined) return;
    const record = JSON.parse(text) as HolderRecord;
    if (record.identity !== identity) {
      // The namespace it described is gone (and with it the value): the record is stale.
      await removeRecord(RECORDS, recordKey(netns, key));
      return;
    }
    if (!record.holders.some((h) => h.hash === hash)) return;
    record.holders = record.holders.filter((h) => h.hash !== hash);
    if (record.holders.length > 0) {
      await saveRecord(record);
      return;
    }
    let current: string | undefined;
    try {
      current = await readSysctl(netns, key);
    } catch (err) {
      if (!failedWith(err, "NO_NETNS")) throw err;
    }
    if (current === record.value && current !== record.original) {
      await writeSysctl(netns, key, record.original);
      if (record.cascade) await restoreCascade(netns, record.cascade);
      const family = cascadeOf(key);
      if (family) await reapplyHeldForwarding(netns, identity, family);
    }
    await removeRecord(RECORDS, recordKey(netns, key));
  });
}
