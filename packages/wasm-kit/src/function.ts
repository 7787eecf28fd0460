import { type Code, flatten } from './control';
import { uleb128 } from './leb128';
import { Local } from './local';
import { type JsValue, VALTYPE_CODE, VALTYPES, type ValType } from './types';

/**
 * A function is declared once: its name, its parameters as `name:type` (as WAT's
 * `(param $name type)`) and its results. The JS type of its export is derived from that
 * declaration, so the typing of `instance.exports` cannot drift from the WebAssembly signature.
 */

/** A parameter: `name:type`, e.g. `'rows:i32'`. */
export type Param = `${string}:${ValType}`;
type ParamName<S> = S extends `${infer N}:${ValType}` ? N : never;
type ParamType<S> = S extends `${string}:${infer T extends ValType}` ? T : never;

/** The parameters as named locals. */
export type ParamLocals<P extends readonly Param[]> = { readonly [S in P[number] as ParamName<S>]: Local };

/** What a function body uses to declare its locals. */
export interface FunctionBuilder {
  /** A new local of this type; its index and declaration are generated. */
  local(type: ValType): Local;
  /** `count` new locals of one type, in index order (a tuple when `count` is a literal). */
  locals<const C extends number>(count: C, type: ValType): Tuple<Local, C>;
}

/** `N` values of type T (an array when N is not a literal). */
export type Tuple<T, N extends number, A extends T[] = []> = number extends N
  ? T[]
  : A['length'] extends N
    ? A
    : Tuple<T, N, [...A, T]>;

export type Body<P extends readonly Param[]> = (fn: FunctionBuilder, params: ParamLocals<P>) => Code;

export interface WasmFunction<
  N extends string = string,
  P extends readonly Param[] = readonly Param[],
  R extends readonly ValType[] = readonly ValType[],
> {
  readonly name: N;
  readonly params: P;
  readonly results: R;
  /** The parameter types, in order. */
  paramTypes(): ValType[];
  /** The code-section entry: size, local declarations (one per run of a type), instructions, `end`. */
  encodeBody(): number[];
}

type JsArgs<P extends readonly Param[]> = { -readonly [K in keyof P]: JsValue<ParamType<P[K]>> };
type JsResult<R extends readonly ValType[]> = R extends readonly []
  ? undefined
  : R extends readonly [infer T extends ValType]
    ? JsValue<T>
    : { -readonly [K in keyof R]: JsValue<R[K]> };

/** The JS type of a function's export. */
export type JsFunction<F> =
  F extends WasmFunction<string, infer P, infer R> ? (...args: JsArgs<P>) => JsResult<R> : never;

function parseParam(spec: string, fn: string): { name: string; type: ValType } {
  const at = spec.lastIndexOf(':');
  const name = spec.slice(0, at);
  const type = spec.slice(at + 1) as ValType;
  if (at <= 0 || !VALTYPES.includes(type) || !/^[A-Za-z_$][\w$]*$/.test(name)) {
    throw new TypeError(
      `${fn}: parameter "${spec}" must be name:type with type one of ${VALTYPES.join(', ')}`,
    );
  }
  return { name, type };
}

/**
 * Declares a function. `body` runs once, when the module is first encoded; it receives the
 * parameters as named locals and declares any others with `fn.local(type)`.
 */
export function func<
  const N extends string,
  const P extends readonly Param[],
  const R extends readonly ValType[],
>(name: N, params: P, results: R, body: Body<P>): WasmFunction<N, P, R> {
  const parsed = params.map((p) => parseParam(p, name));
  const seen = new Set<string>();
  for (const p of parsed) {
    if (seen.has(p.name)) throw new TypeError(`${name}: parameter "${p.name}" declared twice`);
    seen.add(p.name);
  }
  return {
    name,
    params,
    results,
    paramTypes: () => parsed.map((p) => p.type),
    encodeBody() {
      const types: ValType[] = [];
      const builder: FunctionBuilder = {
        local(type) {
          if (!VALTYPES.includes(type)) throw new TypeError(`${name}: no value type "${type}"`);
          types.push(type);
          return new Local(
            parsed.length + types.length - 1,
            type,
            `local${parsed.length + types.length - 1}`,
          );
        },
        locals<const C extends number>(count: C, type: ValType) {
          return Array.from({ length: count }, () => builder.local(type)) as Tuple<Local, C>;
        },
      };
      const named = Object.fromEntries(parsed.map((p, i) => [p.name, new Local(i, p.type, p.name)]));
      const code = flatten(body(builder, named as ParamLocals<P>));
      const groups: Array<[number, ValType]> = [];
      for (const t of types) {
        const last = groups[groups.length - 1];
        if (last && last[1] === t) last[0]++;
        else groups.push([1, t]);
      }
      const entry = [
        ...uleb128(groups.length),
        ...groups.flatMap(([count, t]) => [...uleb128(count), VALTYPE_CODE[t]]),
        ...code,
        0x0b,
      ];
      return [...uleb128(entry.length), ...entry];
    },
  };
}
