// The one walk over a message body that both code generators share: a back-end is a table with
// one function per element kind (the compiler checks that none is missing), and the walk hands
// each element to its kind's function in order. Nested bodies (repeat, switch, tree, optional,
// untilZero) are walked again by the element's function, with the context it chooses for them.
//   generator/codegen.ts  the TypeScript reader (calls of src/runtime/reader.ts Body methods)
//   generator/lua.ts      the plugin's two Lua readers (without and with a tree)

import type { Element } from "../spec/dsl.ts";

/** How a back-end renders each kind of element; C is what it passes down (indent, loop index, ...). */
export type Renderers<C> = { readonly [K in Element["kind"]]: (e: Extract<Element, { kind: K }>, cx: C) => void };

/** Renders the elements in order, each with its kind's function. */
export function walk<C>(els: readonly Element[], r: Renderers<C>, cx: C): void {
  for (const e of els) (r[e.kind] as (e: Element, cx: C) => void)(e, cx);
}
