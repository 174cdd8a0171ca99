/**
 * Writes the router's type as a file of its own: every procedure's input and output spelled out
 * in plain TypeScript, over `@trpc/server`'s public types and nothing else. The API's own
 * `AppRouter` names its context (the database, Fastify, every service), which a program outside
 * this repository has no business importing; this copy keeps only what a client sees.
 *
 * The types are the ones a client of the real router infers (`inferRouterInputs`/`Outputs`,
 * outputs as JSON carries them), printed structurally, so no name of the server survives.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const here = path.dirname(fileURLToPath(import.meta.url));
const packageDir = path.resolve(here, '..');

const probeFile = path.join(packageDir, 'src', '__router-probe.ts');
const probeSource = `
import type { AppRouter } from '@stm/api/router';
import type { inferRouterInputs, inferRouterOutputs } from '@trpc/server';
export type ProbeRecord = AppRouter['_def']['record'];
export type ProbeInputs = inferRouterInputs<AppRouter>;
export type ProbeOutputs = inferRouterOutputs<AppRouter>;
export type ProbeErrorShape = AppRouter['_def']['_config']['$types']['errorShape'];
`;

function loadProgram() {
  const configPath = path.join(packageDir, 'tsconfig.json');
  const config = ts.getParsedCommandLineOfConfigFile(
    configPath,
    {},
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (d) => {
        throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
      },
    },
  );
  const host = ts.createCompilerHost(config.options);
  const readFile = host.readFile.bind(host);
  const fileExists = host.fileExists.bind(host);
  host.readFile = (file) => (path.resolve(file) === probeFile ? probeSource : readFile(file));
  host.fileExists = (file) => path.resolve(file) === probeFile || fileExists(file);
  return ts.createProgram({ rootNames: [probeFile], options: { ...config.options, noEmit: true }, host });
}

const program = loadProgram();
const checker = program.getTypeChecker();
const probe = program.getSourceFile(probeFile);
const problems = ts.getPreEmitDiagnostics(program, probe);
if (problems.length > 0)
  throw new Error(ts.formatDiagnostics(problems, { getCanonicalFileName: (f) => f, getCurrentDirectory: () => packageDir, getNewLine: () => '\n' }));

const aliases = new Map();
ts.forEachChild(probe, (node) => {
  if (ts.isTypeAliasDeclaration(node)) aliases.set(node.name.text, checker.getTypeAtLocation(node.name));
});

const F = ts.TypeFlags;
const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

function key(name) {
  return IDENTIFIER.test(name) ? name : JSON.stringify(name);
}

/** The type spelled out: primitives, literals, unions, arrays, tuples and object shapes only. */
function print(type, depth = 0) {
  if (depth > 30) throw new Error(`Type nested too deep: ${checker.typeToString(type)}`);
  const f = type.flags;
  if (f & F.Any) return 'any';
  if (f & F.Unknown) return 'unknown';
  if (f & F.Never) return 'never';
  if (f & F.Void) return 'void';
  if (f & F.Undefined) return 'undefined';
  if (f & F.Null) return 'null';
  if (f & F.String) return 'string';
  if (f & F.Number) return 'number';
  if (f & F.BigInt) return 'bigint';
  if (f & F.Boolean) return 'boolean';
  if (f & F.ESSymbol) return 'symbol';
  if (f & F.StringLiteral) return JSON.stringify(type.value);
  if (f & F.NumberLiteral) return String(type.value);
  if (f & F.BooleanLiteral) return checker.typeToString(type);
  if (f & F.TemplateLiteral) return checker.typeToString(type);
  if (type.isUnion()) {
    // `boolean` is the union true | false: keep it as one word.
    const parts = type.types.map((member) => print(member, depth + 1));
    const set = new Set(parts);
    if (set.has('true') && set.has('false')) {
      set.delete('true');
      set.delete('false');
      set.add('boolean');
    }
    return [...set].map((part) => (part.includes('=>') ? `(${part})` : part)).join(' | ');
  }
  if (type.isIntersection()) return type.types.map((member) => `(${print(member, depth + 1)})`).join(' & ');
  if (checker.isTupleType(type)) {
    return `[${checker
      .getTypeArguments(type)
      .map((element) => print(element, depth + 1))
      .join(', ')}]`;
  }
  if (checker.isArrayType(type)) {
    const [element] = checker.getTypeArguments(type);
    return `Array<${print(element, depth + 1)}>`;
  }
  if (f & F.Object) {
    // A subscription's output: what it yields travels, as an AsyncIterable of it.
    if (type.symbol?.name === 'AsyncIterable') {
      const [element] = checker.getTypeArguments(type);
      return `AsyncIterable<${print(element, depth + 1)}>`;
    }
    if (type.getCallSignatures().length > 0 || type.getConstructSignatures().length > 0) {
      throw new Error(`A function in the API's types cannot travel as JSON: ${checker.typeToString(type)}`);
    }
    const members = [];
    for (const info of checker.getIndexInfosOfType(type)) {
      members.push(`[key: ${print(info.keyType, depth + 1)}]: ${print(info.type, depth + 1)};`);
    }
    for (const property of checker.getPropertiesOfType(type)) {
      const optional = (property.flags & ts.SymbolFlags.Optional) !== 0;
      const propertyType = checker.getTypeOfSymbol(property);
      members.push(`${key(property.name)}${optional ? '?' : ''}: ${print(propertyType, depth + 1)};`);
    }
    return members.length === 0 ? '{}' : `{ ${members.join(' ')} }`;
  }
  throw new Error(`Cannot spell out the type ${checker.typeToString(type)}`);
}

function property(type, name) {
  const symbol = checker.getPropertyOfType(type, name);
  return symbol && checker.getTypeOfSymbol(symbol);
}

/** The kind of a procedure of the record, or undefined for a nested router. */
function procedureKind(type) {
  const def = property(type, '_def');
  const kind = def && property(def, 'type');
  return kind && kind.flags & F.StringLiteral ? kind.value : undefined;
}

const KINDS = { query: 'TRPCQueryProcedure', mutation: 'TRPCMutationProcedure', subscription: 'TRPCSubscriptionProcedure' };
let procedures = 0;

function record(recordType, inputs, outputs, indent) {
  const lines = [];
  for (const entry of checker.getPropertiesOfType(recordType)) {
    const entryType = checker.getTypeOfSymbol(entry);
    const input = property(inputs, entry.name);
    const output = property(outputs, entry.name);
    if (!input || !output) throw new Error(`No input or output type for ${entry.name}`);
    const kind = procedureKind(entryType);
    if (kind) {
      procedures++;
      lines.push(`${indent}${key(entry.name)}: ${KINDS[kind]}<{ input: ${print(input)}; output: ${print(output)}; meta: object }>;`);
    } else {
      lines.push(`${indent}${key(entry.name)}: {`, ...record(entryType, input, output, `${indent}  `), `${indent}};`);
    }
  }
  return lines;
}

const body = record(aliases.get('ProbeRecord'), aliases.get('ProbeInputs'), aliases.get('ProbeOutputs'), '  ');
const text = `/**
 * The Secure Task Manager API's router, as its clients see it: ${procedures} procedures with their
 * input and output types. Generated from the API by @stm/client's scripts/router-types.mjs.
 */
import type { TRPCBuiltRouter, TRPCMutationProcedure, TRPCQueryProcedure, TRPCSubscriptionProcedure } from '@trpc/server';

/** What a refusal carries: \`data.reason\` is the stable code to act on. */
export type AppErrorShape = ${print(aliases.get('ProbeErrorShape'))};

export type AppRouter = TRPCBuiltRouter<
  { ctx: object; meta: object; errorShape: AppErrorShape; transformer: false },
  {
${body.join('\n')}
  }
>;
`;

const out = process.argv[2] ?? path.join(packageDir, 'dist', 'router.d.ts');
writeFileSync(out, text);
console.log(`router types: ${procedures} procedures → ${path.relative(process.cwd(), out)}`);
