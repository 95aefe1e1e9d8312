import { spawn, type ChildProcess } from "node:child_process";
import * as grpc from "@grpc/grpc-js";
import { Struct } from "google-protobuf/google/protobuf/struct_pb";
import { Empty } from "google-protobuf/google/protobuf/empty_pb";
import { ResourceProviderClient } from "@pulumi/pulumi/proto/provider_grpc_pb";
import * as prov from "@pulumi/pulumi/proto/provider_pb";
import { Status } from "@pulumi/pulumi/proto/status_pb";
import { InitError, type CheckResult, type DiffResult, type Providers, type Subject } from "../../engine/dynamicProviders";
import type { Props } from "../../engine/values";

// The dynamic-provider host: the real `@pulumi/pulumi/cmd/dynamic-provider` process, as the Pulumi
// CLI's `pulumi-resource-pulumi-nodejs` shim runs it: in the project directory (require-from-string
// resolves the provider code's requires from its cwd), printing its port on stdout, then driven
// over ResourceProvider gRPC, with the plugin loader's start-up sequence. The engine calls dynamic
// providers in its own process (engine/dynamicProviders.ts); providers.test.ts holds it to this.

export interface ProviderHostOptions {
  /** Options for node itself, before the host's script. */
  nodeArgs: string[];
  /** The program's cmd/dynamic-provider directory (its own @pulumi/pulumi). */
  hostDir: string;
  projectDir: string;
  engineAddress: string;
  env: NodeJS.ProcessEnv;
  /** The default provider's config (`pulumi-nodejs:*`). */
  config: Record<string, string>;
}

const struct = (v: Props) => Struct.fromJavaScript(v as Record<string, never>);
const props = (s: Struct | undefined) => (s?.toJavaScript() ?? {}) as Props;

export class ProviderHost implements Providers {
  private constructor(
    private readonly child: ChildProcess,
    private readonly client: ResourceProviderClient,
    private readonly stderr: () => string,
  ) {}

  static async start(options: ProviderHostOptions): Promise<ProviderHost> {
    // stdin: a pipe from nslab, whose end (however nslab ends) ends the host (nodeArgs).
    const child = spawn(process.execPath, [...options.nodeArgs, options.hostDir, options.engineAddress], { cwd: options.projectDir, env: options.env, stdio: ["pipe", "pipe", "pipe"] });
    let stderr = "";
    child.stderr!.on("data", (d) => (stderr += d));
    const port = await new Promise<number>((resolve, reject) => {
      let out = "";
      const onData = (d: Buffer) => {
        out += d;
        const line = /^(\d+)\s*\n/.exec(out);
        if (line) {
          child.stdout!.off("data", onData);
          resolve(Number(line[1]));
        }
      };
      child.stdout!.on("data", onData);
      child.on("error", reject);
      child.on("exit", (code) => reject(new Error(`the dynamic provider host exited (${code}) before listening:\n${stderr}`)));
    });
    const client = new ResourceProviderClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    const host = new ProviderHost(child, client, () => stderr);
    // The host is a server that never exits by itself: it must not outlive nslab.
    process.once("exit", host.kill);
    await host.configure(options);
    return host;
  }

  /** The plugin loader's sequence: Handshake, GetPluginInfo, CheckConfig, Configure (UNIMPLEMENTED is fine). */
  private async configure(options: ProviderHostOptions): Promise<void> {
    const handshake = new prov.ProviderHandshakeRequest().setEngineAddress(options.engineAddress).setRootDirectory(options.projectDir).setProgramDirectory(options.projectDir);
    await this.call("handshake", handshake).catch(ignoreUnimplemented);
    await this.call("getPluginInfo", new Empty());
    const args = struct(options.config);
    const checkConfig = new prov.CheckRequest().setUrn("").setOlds(struct({})).setNews(args);
    await this.call("checkConfig", checkConfig).catch(ignoreUnimplemented);
    await this.call("configure", new prov.ConfigureRequest().setArgs(args).setAcceptsecrets(true).setAcceptresources(true));
  }

  private call<T>(method: string, request: unknown): Promise<T> {
    const fn = (this.client as unknown as Record<string, (this: unknown, ...args: unknown[]) => unknown>)[method]!;
    return new Promise((resolve, reject) => {
      fn.call(this.client, request, (err: grpc.ServiceError | null, resp: T) => (err ? reject(this.describe(err)) : resolve(resp)));
    });
  }

  /** The provider's own error message (the host's stack trace goes to its stderr, kept for crashes). */
  private describe(err: grpc.ServiceError): Error {
    if (err.code === grpc.status.UNAVAILABLE) return new Error(`the dynamic provider host is gone: ${err.details}\n${this.stderr()}`);
    const details = err.metadata?.get("grpc-status-details-bin")[0];
    if (details instanceof Buffer) {
      for (const any of Status.deserializeBinary(details).getDetailsList()) {
        if (any.getTypeName() !== "pulumirpc.ErrorResourceInitFailed") continue;
        const init = prov.ErrorResourceInitFailed.deserializeBinary(any.getValue_asU8());
        return new InitError(err.details, init.getId(), props(init.getProperties()));
      }
    }
    return Object.assign(new Error(err.details), { code: err.code });
  }

  async check(s: Subject, olds: Props, news: Props): Promise<CheckResult> {
    const req = new prov.CheckRequest().setUrn(s.urn).setName(s.name).setType(s.type).setOlds(struct(olds)).setNews(struct(news));
    const resp = await this.call<prov.CheckResponse>("check", req);
    return { inputs: props(resp.getInputs()), failures: resp.getFailuresList().map((f) => ({ property: f.getProperty(), reason: f.getReason() })) };
  }

  async diff(s: Subject, id: string, olds: Props, news: Props, oldInputs: Props, ignoreChanges: string[]): Promise<DiffResult> {
    const req = new prov.DiffRequest().setUrn(s.urn).setName(s.name).setType(s.type).setId(id).setOlds(struct(olds)).setNews(struct(news)).setOldInputs(struct(oldInputs)).setIgnorechangesList(ignoreChanges);
    const resp = await this.call<prov.DiffResponse>("diff", req);
    const changes = resp.getChanges() === prov.DiffResponse.DiffChanges.DIFF_SOME ? "some" : resp.getChanges() === prov.DiffResponse.DiffChanges.DIFF_NONE ? "none" : "unknown";
    return { changes, replaces: resp.getReplacesList(), deleteBeforeReplace: resp.getDeletebeforereplace() };
  }

  async create(s: Subject, properties: Props): Promise<{ id: string; outputs: Props }> {
    const req = new prov.CreateRequest().setUrn(s.urn).setName(s.name).setType(s.type).setProperties(struct(properties));
    const resp = await this.call<prov.CreateResponse>("create", req);
    return { id: resp.getId(), outputs: props(resp.getProperties()) };
  }

  async update(s: Subject, id: string, olds: Props, news: Props, oldInputs: Props, ignoreChanges: string[]): Promise<Props> {
    const req = new prov.UpdateRequest().setUrn(s.urn).setName(s.name).setType(s.type).setId(id).setOlds(struct(olds)).setNews(struct(news)).setOldInputs(struct(oldInputs)).setIgnorechangesList(ignoreChanges);
    return props((await this.call<prov.UpdateResponse>("update", req)).getProperties());
  }

  async delete(s: Subject, id: string, outputs: Props, oldInputs: Props): Promise<void> {
    const req = new prov.DeleteRequest().setUrn(s.urn).setName(s.name).setType(s.type).setId(id).setProperties(struct(outputs)).setOldInputs(struct(oldInputs));
    await this.call("delete", req);
  }

  async read(s: Subject, id: string, outputs: Props, inputs: Props): Promise<{ id: string; outputs: Props; inputs?: Props }> {
    const req = new prov.ReadRequest().setUrn(s.urn).setName(s.name).setType(s.type).setId(id).setProperties(struct(outputs)).setInputs(struct(inputs));
    const resp = await this.call<prov.ReadResponse>("read", req);
    return { id: resp.getId(), outputs: props(resp.getProperties()), ...(resp.hasInputs() ? { inputs: props(resp.getInputs()) } : {}) };
  }

  private readonly kill = () => this.child.kill("SIGTERM");

  stop(): void {
    process.off("exit", this.kill);
    this.client.close();
    this.kill();
    this.child.stdin?.destroy();
  }
}

function ignoreUnimplemented(err: { code?: number }): void {
  if (err.code !== grpc.status.UNIMPLEMENTED) throw err;
}
