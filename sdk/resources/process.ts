import type * as pulumi from "@pulumi/pulumi";
import { hostOf, ownerOf, type HostArgs } from "../internal/common";
import { refInputs, type NetnsRef } from "../internal/refs";
import { DynamicResource, providerFor } from "../internal/shim";

/** When a started Process counts as ready. */
export interface ProcessReady {
  /** The TCP port the command listens on in its namespace: create returns once it listens. */
  readonly tcpPort: number;
  /**
   * Seconds to wait for the port; past them the process is stopped and create fails with the
   * last lines of its log.
   *
   * @default 10
   */
  readonly timeout?: number;
}

/**
 * A long-running command in a network namespace: a web server, a routing daemon, a traffic
 * generator. It runs in its own session and process group, detached from nslab, with stdin from
 * /dev/null and stdout and stderr to a log file (`logPath`), and keeps running after `up` ends,
 * until the resource is deleted: then its process group gets SIGTERM, and SIGKILL after
 * `stopTimeout`. A Process depends on its namespace and is deleted before it (the kernel does not
 * stop the processes of a deleted namespace). It sees the provider's environment, `env`, and
 * NSLAB_OWNER, which marks it as this resource's. A change of command, env, cwd or namespace
 * replaces it; a command that exits at once fails the create with its exit status and the last
 * lines of its log.
 *
 * Equivalent to: `cd <cwd>; setsid ip netns exec <netns> env NSLAB_OWNER=<hash> <env...> <command...> </dev/null >/run/nslab/process/<hash>.log 2>&1 &`.
 */
export interface ProcessArgs extends HostArgs {
  /** The namespace the command runs in: a Netns resource (which orders the two) or a namespace name. */
  readonly netns: NetnsRef;
  /**
   * The program and its arguments, e.g. `["python3", "-m", "http.server", "80"]`. The program is
   * searched in PATH unless it holds a "/"; a relative path needs `cwd`.
   */
  readonly command: pulumi.Input<pulumi.Input<string>[]>;
  /**
   * Variables added to the environment, as `NAME=value` strings.
   *
   * @default - none: the provider's environment and NSLAB_OWNER
   */
  readonly env?: pulumi.Input<pulumi.Input<string>[]>;
  /**
   * The working directory, an absolute path.
   *
   * @default - the provider's working directory
   */
  readonly cwd?: pulumi.Input<string>;
  /**
   * Wait until the command listens on a TCP port in its namespace before create returns.
   *
   * @default - create returns once the command has run for 0.3 s
   */
  readonly ready?: pulumi.Input<ProcessReady>;
  /**
   * Seconds between SIGTERM and SIGKILL when the process is stopped. Changed in place.
   *
   * @default 10
   */
  readonly stopTimeout?: pulumi.Input<number>;
}

export class Process extends DynamicResource {
  /** Namespace the command runs in. */
  declare readonly netns: pulumi.Output<string>;
  /** The program and its arguments. */
  declare readonly command: pulumi.Output<string[]>;
  /** The process id (in the host's pid namespace) of the command, its process group and session. */
  declare readonly pid: pulumi.Output<number>;
  /**
   * The process's start time, field 22 of /proc/PID/stat (clock ticks after boot): with the pid
   * it tells this process from a later one that reuses the pid.
   */
  declare readonly startTime: pulumi.Output<string>;
  /** The file that takes the command's stdout and stderr, under /run/nslab/process; removed on delete. */
  declare readonly logPath: pulumi.Output<string>;

  constructor(name: string, args: ProcessArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      providerFor("Process"),
      name,
      {
        ...refInputs("netns", args.netns),
        command: args.command,
        env: args.env,
        cwd: args.cwd,
        ready: args.ready,
        stopTimeout: args.stopTimeout,
        owner: ownerOf(name, opts),
        host: hostOf(args.host, opts),
        pid: undefined,
        startTime: undefined,
        logPath: undefined,
      },
      opts,
      "nslab",
      "Process",
    );
  }
}
