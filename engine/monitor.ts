import * as net from "node:net";
import * as grpc from "@grpc/grpc-js";
import { Empty } from "google-protobuf/google/protobuf/empty_pb";
import { Struct } from "google-protobuf/google/protobuf/struct_pb";
import { EngineService } from "@pulumi/pulumi/proto/engine_grpc_pb";
import * as eng from "@pulumi/pulumi/proto/engine_pb";
import { ResourceMonitorService } from "@pulumi/pulumi/proto/resource_grpc_pb";
import * as res from "@pulumi/pulumi/proto/resource_pb";
import type { Props } from "./values";

// The ResourceMonitor and Engine gRPC services the program's language runtime talks to
// (docs/engine.md, "The protocol"), on one loopback server. Only what a program of components and dynamic
// resources uses is served; the rest answers UNIMPLEMENTED and is reported as an unsupported
// feature by name.

/** A RegisterResource request, decoded. */
export interface Registration {
  type: string;
  name: string;
  parent: string;
  custom: boolean;
  remote: boolean;
  inputs: Props;
  dependencies: string[];
  propertyDependencies: Record<string, string[]>;
  provider: string;
  protect?: boolean;
  retainOnDelete?: boolean;
  deleteBeforeReplace?: boolean;
  ignoreChanges: string[];
  replaceOnChanges: string[];
  additionalSecretOutputs: string[];
  deletedWith: string;
  importId: string;
  aliases: AliasSpec[];
}

/** An alias: an old URN, or the parts of one that differ (unset: the resource's own). */
export interface AliasSpec {
  urn?: string;
  name?: string;
  type?: string;
  stack?: string;
  project?: string;
  parentUrn?: string;
  noParent?: boolean;
}

export interface RegisterResult {
  urn: string;
  id: string;
  outputs: Props;
}

export type Severity = "debug" | "info" | "warning" | "error";

export interface MonitorHandler {
  register(r: Registration): Promise<RegisterResult>;
  registerOutputs(urn: string, outputs: Props): void;
  log(severity: Severity, message: string, urn: string): void;
  /** Answered after the delete phase (SignalAndWaitForShutdown). */
  shutdown(): Promise<void>;
  /** A feature the program used that nslab does not support. */
  unsupported(feature: string): void;
}

/** Thrown by a handler to answer the way the real engine answers a failed step (docs/engine.md, "Failures"). */
export class StepFailed extends Error {}

// The features the SDK asks about (docs/engine.md, "The protocol") that nslab serves; transforms, hooks and
// parameterization need a callback server and stay off, so the SDK reports them clearly.
const FEATURES = new Set(["secrets", "resourceReferences", "outputValues", "aliasSpecs", "deletedWith", "replacementTrigger"]);

const SEVERITIES: Record<number, Severity> = {
  [eng.LogSeverity.DEBUG]: "debug",
  [eng.LogSeverity.INFO]: "info",
  [eng.LogSeverity.WARNING]: "warning",
  [eng.LogSeverity.ERROR]: "error",
};

type Callback = (err: Partial<grpc.StatusObject> | null, value?: unknown) => void;
type Call = { request: any };

function decode(req: res.RegisterResourceRequest): Registration {
  const propertyDependencies: Record<string, string[]> = {};
  req.getPropertydependenciesMap().forEach((deps, key) => (propertyDependencies[key] = deps.getUrnsList()));
  return {
    type: req.getType(),
    name: req.getName(),
    parent: req.getParent(),
    custom: req.getCustom(),
    remote: req.getRemote(),
    inputs: (req.getObject()?.toJavaScript() ?? {}) as Props,
    dependencies: req.getDependenciesList(),
    propertyDependencies,
    provider: req.getProvider(),
    ...(req.hasProtect() ? { protect: req.getProtect() } : {}),
    ...(req.hasRetainondelete() ? { retainOnDelete: req.getRetainondelete() } : {}),
    ...(req.getDeletebeforereplacedefined() ? { deleteBeforeReplace: req.getDeletebeforereplace() } : {}),
    ignoreChanges: req.getIgnorechangesList(),
    replaceOnChanges: req.getReplaceonchangesList(),
    additionalSecretOutputs: req.getAdditionalsecretoutputsList(),
    deletedWith: req.getDeletedwith(),
    importId: req.getImportid(),
    aliases: [
      ...req.getAliasurnsList().map((urn) => ({ urn })),
      ...req.getAliasesList().map((a): AliasSpec => {
        const spec = a.getSpec();
        if (!spec) return { urn: a.getUrn() };
        return {
          ...(spec.getName() ? { name: spec.getName() } : {}),
          ...(spec.getType() ? { type: spec.getType() } : {}),
          ...(spec.getStack() ? { stack: spec.getStack() } : {}),
          ...(spec.getProject() ? { project: spec.getProject() } : {}),
          ...(spec.hasParenturn() ? { parentUrn: spec.getParenturn() } : {}),
          ...(spec.hasNoparent() && spec.getNoparent() ? { noParent: true } : {}),
        };
      }),
    ],
  };
}

export class Monitor {
  private constructor(
    private readonly server: grpc.Server,
    readonly address: string,
  ) {}

  static async start(h: MonitorHandler): Promise<Monitor> {
    const server = new grpc.Server({ "grpc.max_receive_message_length": 1 << 30, "grpc.max_send_message_length": 1 << 30 });
    const failed = (err: unknown): Partial<grpc.StatusObject> =>
      err instanceof StepFailed ? { code: grpc.status.UNAVAILABLE, details: "resource monitor is terminating" } : { code: grpc.status.UNKNOWN, details: (err as Error).message };
    const unimplemented = (feature: string) => (_call: Call, cb: Callback) => {
      h.unsupported(feature);
      cb({ code: grpc.status.UNIMPLEMENTED, details: `nslab does not support ${feature}` });
    };

    server.addService(ResourceMonitorService, {
      supportsFeature(call: Call, cb: Callback) {
        cb(null, new res.SupportsFeatureResponse().setHassupport(FEATURES.has(call.request.getId())));
      },
      registerResource(call: Call, cb: Callback) {
        h.register(decode(call.request)).then(
          (r) => cb(null, new res.RegisterResourceResponse().setUrn(r.urn).setId(r.id).setObject(structOf(r.outputs)).setResult(res.Result.SUCCESS)),
          (err) => cb(failed(err)),
        );
      },
      registerResourceOutputs(call: Call, cb: Callback) {
        h.registerOutputs(call.request.getUrn(), (call.request.getOutputs()?.toJavaScript() ?? {}) as Props);
        cb(null, new Empty());
      },
      signalAndWaitForShutdown(_call: Call, cb: Callback) {
        h.shutdown().then(
          () => cb(null, new Empty()),
          (err) => cb(failed(err)),
        );
      },
      getDeploymentInfo: unimplemented("GetDeploymentInfo"),
      invoke: unimplemented("invokes (functions)"),
      call: unimplemented("method calls on resources"),
      readResource: unimplemented("reading existing resources (.get())"),
      registerStackTransform: unimplemented("transforms"),
      registerStackInvokeTransform: unimplemented("invoke transforms"),
      registerResourceHook: unimplemented("resource hooks"),
      registerErrorHook: unimplemented("error hooks"),
      registerPackage: unimplemented("parameterized packages"),
    });
    server.addService(EngineService, {
      log(call: Call, cb: Callback) {
        const r = call.request as eng.LogRequest;
        h.log(SEVERITIES[r.getSeverity()] ?? "info", r.getMessage(), r.getUrn());
        cb(null, new Empty());
      },
      getRootResource(_call: Call, cb: Callback) {
        cb(null, new eng.GetRootResourceResponse());
      },
      setRootResource(_call: Call, cb: Callback) {
        cb(null, new eng.SetRootResourceResponse());
      },
      startDebugging: unimplemented("debugging"),
      requirePulumiVersion(_call: Call, cb: Callback) {
        cb(null, new eng.RequirePulumiVersionResponse());
      },
    });
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
    );
    return new Monitor(server, `127.0.0.1:${port}`);
  }

  /**
   * Rejects when a program could not reach the monitor over loopback: in a network namespace
   * whose `lo` is down (a new one) the runtime ends without a word about why.
   */
  reachable(): Promise<void> {
    return new Promise((resolve, reject) => {
      const probe = net.connect({ host: "127.0.0.1", port: Number(this.address.split(":")[1]) }, () => {
        probe.destroy();
        resolve();
      });
      probe.on("error", (err: NodeJS.ErrnoException) => {
        const why = err.code === "ENETUNREACH" ? ": the loopback interface of this network namespace is down; bring it up with `ip link set lo up`" : "";
        reject(new Error(`the program cannot reach nslab at ${this.address} (${err.code ?? err.message})${why}`));
      });
    });
  }

  stop(): void {
    this.server.forceShutdown();
  }
}

const structOf = (v: Props) => Struct.fromJavaScript(v as Record<string, never>);
