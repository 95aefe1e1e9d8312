import type * as pulumi from "@pulumi/pulumi";

/** What every nslab kind implements: all six operations (an update-less provider loses outputs). */
export type KindProvider<I = any, O = any> = Required<Omit<pulumi.dynamic.ResourceProvider<I, O>, "configure">>;
