import Module from "node:module";
import * as path from "node:path";
import { PROVIDER_KEY, UNKNOWN, unwrapSecrets, type Props, type Value } from "./values";

// The dynamic providers, called in the engine's own process (docs/engine.md, "Dynamic providers
// in the engine's process"): what `@pulumi/pulumi/cmd/dynamic-provider` does for each
// ResourceProvider call, with the same answers, without a second process and the gRPC and
// protobuf on both sides of every call. Kept exact: a provider is loaded from its serialized
// `__provider` once per run (the host's cache, one host per run) and configured then; every
// value crosses as it would through a protobuf Struct (a copy, keys in order, `undefined`
// refused); errors carry the message, and a create or update that made the object the
// initErrors of the host (InitError).

/** Who a provider call is about (the request's urn/name/type fields). */
export interface Subject {
  urn: string;
  name: string;
  type: string;
}

export interface CheckResult {
  inputs: Props;
  failures: { property: string; reason: string }[];
}

export interface DiffResult {
  changes: "unknown" | "none" | "some";
  replaces: string[];
  deleteBeforeReplace: boolean;
}

/** A create/update that failed after the object was made: the engine records it with initErrors. */
export class InitError extends Error {
  constructor(
    message: string,
    readonly id: string,
    readonly properties: Props,
  ) {
    super(message);
  }
}

/** The calls the engine makes (the ResourceProvider methods a dynamic provider implements). */
export interface Providers {
  check(s: Subject, olds: Props, news: Props): Promise<CheckResult>;
  diff(s: Subject, id: string, olds: Props, news: Props, oldInputs: Props, ignoreChanges: string[]): Promise<DiffResult>;
  create(s: Subject, properties: Props): Promise<{ id: string; outputs: Props }>;
  update(s: Subject, id: string, olds: Props, news: Props, oldInputs: Props, ignoreChanges: string[]): Promise<Props>;
  delete(s: Subject, id: string, outputs: Props, oldInputs: Props): Promise<void>;
  read(s: Subject, id: string, outputs: Props, inputs: Props): Promise<{ id: string; outputs: Props; inputs?: Props }>;
}

/** What a serialized provider's `handler()` returns (pulumi.dynamic.ResourceProvider). */
interface DynamicProvider {
  configure?(req: { config: unknown }): Promise<void> | void;
  check?(olds: Props, news: Props): Promise<{ inputs?: Props; failures?: { property?: string; reason?: string }[] }>;
  diff?(id: string, olds: Props, news: Props): Promise<{ changes?: boolean; replaces?: string[]; deleteBeforeReplace?: boolean }>;
  create(inputs: Props): Promise<{ id: string; outs?: Props }>;
  read?(id: string, props: Props): Promise<{ id: string; props?: Props; inputs?: Props }>;
  update?(id: string, olds: Props, news: Props): Promise<{ outs?: Props } | undefined>;
  delete?(id: string, props: Props): Promise<void>;
}

/**
 * `v` as it arrives after a trip through a protobuf Struct (what the host reads and answers):
 * a copy with every object's keys in order (the wire sorts map keys) and enumerable inherited
 * keys included, a Date an empty object; `undefined`, functions and the like fail with the
 * protobuf's own message.
 */
export function overTheWire(v: unknown): Value {
  if (typeof v === "string" || typeof v === "number" || typeof v === "boolean" || v === null) return v;
  if (Array.isArray(v)) return v.map(overTheWire);
  if (typeof v === "object") {
    const keys: string[] = [];
    for (const k in v) keys.push(k);
    const out: Record<string, Value> = {};
    for (const k of keys.sort()) out[k] = overTheWire((v as Record<string, unknown>)[k]);
    return out;
  }
  throw new Error("Unexpected struct type.");
}

const wire = (v: unknown) => overTheWire(v) as Props;

/** The error a failed call answers with: the message the host's gRPC status would carry. */
function callError(e: unknown): Error {
  if (typeof e !== "object" || e === null) return new Error("Unknown Error");
  const err = e as { message?: unknown; code?: unknown; details?: unknown };
  const details = Number.isInteger(err.code) && typeof err.details === "string" ? err.details : "message" in err ? String(err.message) : "Unknown Error";
  return new Error(details);
}

/** A failed create or update: initErrors when the provider says the object exists (an `id` on the error). */
function writeError(e: unknown): Error {
  const err = (typeof e === "object" && e !== null ? e : {}) as { message?: unknown; id?: unknown; properties?: unknown };
  const message = err.message === undefined ? "" : String(err.message);
  if (!err.id) return new Error(message);
  try {
    return new InitError(message, String(err.id), wire(err.properties ?? {}));
  } catch {
    return new Error(message);
  }
}

async function answer<T>(call: () => Promise<T>, error: (e: unknown) => Error = callError): Promise<T> {
  try {
    return await call();
  } catch (e) {
    throw error(e);
  }
}

/** The outputs with the resource's `__provider` carried over (the host's resultIncludingProvider). */
const withProvider = (result: Props | undefined, props: Props): Props => Object.assign(result ?? {}, { [PROVIDER_KEY]: props[PROVIDER_KEY]! });

export interface InProcessOptions {
  /** The project directory: the serialized provider's requires resolve from there, as from the host's cwd. */
  projectDir: string;
  /** More directories to resolve from (the host's NODE_PATH). */
  searchPath: string[];
  /** The program's @pulumi/pulumi: its Config class is what a provider's configure gets. */
  sdkDir: string;
  project: string;
  /** The default provider's config (`pulumi-nodejs:*`). */
  config: Props;
}

/** The dynamic providers of one run (one provider host's worth: its cache of loaded providers). */
export class InProcessProviders implements Providers {
  private readonly loaded = new Map<string, Promise<DynamicProvider>>();
  constructor(private readonly options: InProcessOptions) {}

  /** The provider serialized in `props` (the host's getProvider): loaded and configured once per run. */
  private provider(props: Props): Promise<DynamicProvider> {
    const code = props[PROVIDER_KEY];
    if (typeof code !== "string") return Promise.reject(new Error(`the resource has no serialized provider (${PROVIDER_KEY})`));
    let provider = this.loaded.get(code);
    if (!provider) {
      provider = this.load(code);
      this.loaded.set(code, provider);
    }
    return provider;
  }

  private async load(code: string): Promise<DynamicProvider> {
    const { projectDir, searchPath } = this.options;
    // What require-from-string does in the host, whose cwd is the project directory.
    const filename = path.join(projectDir, "__provider.js");
    const m = new Module(filename);
    m.filename = filename;
    m.paths = [...(Module as unknown as { _nodeModulePaths(dir: string): string[] })._nodeModulePaths(projectDir), ...searchPath];
    (m as unknown as { _compile(code: string, filename: string): void })._compile(code, filename);
    const provider = (m.exports as { handler(): DynamicProvider }).handler();
    if (provider.configure) {
      const config: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(this.options.config)) if (k !== PROVIDER_KEY) config[k] = unwrapSecrets(v);
      const { Config } = require(path.join(this.options.sdkDir, "cmd/dynamic-provider/config")) as { Config: new (raw: unknown, project: string) => unknown };
      await provider.configure({ config: new Config(config, this.options.project) });
    }
    return provider;
  }

  check(_s: Subject, oldProps: Props, newProps: Props): Promise<CheckResult> {
    return answer(async () => {
      const olds = wire(oldProps);
      const news = wire(newProps);
      const provider = await this.provider(news[PROVIDER_KEY] === UNKNOWN ? olds : news);
      let inputs = news;
      let failures: { property?: string; reason?: string }[] = [];
      if (provider.check) {
        const result = await provider.check(olds, news);
        if (result.inputs) inputs = result.inputs;
        if (result.failures) failures = result.failures;
      }
      inputs[PROVIDER_KEY] = news[PROVIDER_KEY]!;
      return { inputs: wire(inputs), failures: failures.map((f) => ({ property: f.property ?? "", reason: f.reason ?? "" })) };
    });
  }

  diff(_s: Subject, id: string, oldProps: Props, newProps: Props): Promise<DiffResult> {
    return answer(async () => {
      const olds = wire(oldProps);
      const news = wire(newProps);
      const provider = await this.provider(news[PROVIDER_KEY] === UNKNOWN ? olds : news);
      if (!provider.diff) return { changes: "unknown", replaces: [], deleteBeforeReplace: false };
      const result = await provider.diff(id, olds, news);
      return {
        changes: result.changes === true ? "some" : result.changes === false ? "none" : "unknown",
        replaces: result.replaces?.length ? result.replaces.map(String) : [],
        deleteBeforeReplace: !!result.deleteBeforeReplace,
      };
    });
  }

  create(_s: Subject, properties: Props): Promise<{ id: string; outputs: Props }> {
    return answer(async () => {
      const props = wire(properties);
      const result = await (await this.provider(props)).create(props);
      return { id: String(result.id ?? ""), outputs: wire(withProvider(result.outs, props)) };
    }, writeError);
  }

  update(_s: Subject, id: string, oldOutputs: Props, newInputs: Props): Promise<Props> {
    return answer(async () => {
      const olds = wire(oldOutputs);
      const news = wire(newInputs);
      const provider = await this.provider(news);
      const result = (provider.update && (await provider.update(id, olds, news))) || {};
      return wire(withProvider(result.outs, news));
    }, writeError);
  }

  delete(_s: Subject, id: string, outputs: Props): Promise<void> {
    return answer(async () => {
      const props = wire(outputs);
      const provider = await this.provider(props);
      if (provider.delete) await provider.delete(id, props);
    });
  }

  read(_s: Subject, id: string, outputs: Props): Promise<{ id: string; outputs: Props; inputs?: Props }> {
    return answer(async () => {
      const props = wire(outputs);
      const provider = await this.provider(props);
      if (!provider.read) return { id, outputs: props };
      const result = await provider.read(id, props);
      return {
        id: String(result.id ?? ""),
        outputs: wire(withProvider(result.props, props)),
        ...(result.inputs ? { inputs: wire(withProvider(result.inputs, props)) } : {}),
      };
    });
  }
}
