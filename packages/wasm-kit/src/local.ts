import type { ValType } from './types';

/** A function's parameter or local variable: its index is allocated by the function builder. */
export class Local {
  constructor(
    readonly index: number,
    readonly type: ValType,
    /** For error messages: the parameter's name, or `local<index>`. */
    readonly name: string,
  ) {}
}
