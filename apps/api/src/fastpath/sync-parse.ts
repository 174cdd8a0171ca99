/*
 * Fast path: zod's `parseAsync` of the page schemas (what tRPC checks answers with), done by a
 * compiled synchronous parse. Held to zod by every test of a list procedure, which the `stock`
 * Vitest project (FAST_PATHS=false) also runs through zod's own `parseAsync`.
 */
import { z } from 'zod';
import { schemaFastPaths } from './switch';

/**
 * tRPC checks answers with `parseAsync`, and zod runs its compiled parsers only for synchronous
 * parses; no schema of ours checks anything asynchronously. For the largest answers, pages of
 * rows, that was a measurable share of a list call's CPU (bench --cpu-prof): their schema parses
 * synchronously, through `z.compile`. The schema object stays as it was for the OpenAPI document.
 */
export function parsedSynchronously<T extends z.ZodType>(schema: T): T {
  const compiled = z.compile(schema);
  const parseAsync = schema.parseAsync.bind(schema);
  schema.parseAsync = async (data, params) => {
    if (!schemaFastPaths.zod) return parseAsync(data, params);
    try {
      return compiled.parse(data, params);
    } catch (error) {
      // A check that turned out asynchronous after all: the parse it needs.
      if (error instanceof z.core.$ZodAsyncError) return parseAsync(data, params);
      throw error;
    }
  };
  return schema;
}
