// Requests and responses: the queue of requests waiting for the response that completes them,
// the links between the two (frames, time, rows, command tags), the statements and portals a
// connection names, and cancel keys across connections. Mirrors src/decoder/links.lua (where the
// first pass also keeps these links for later passes).

import { EXPERTS, F } from "../../dissector/pgwire.ts";
import { type Body, type DecodedField, keeps, type MessageMeta, type Vars } from "../runtime/reader.ts";
import { cutUtf8, MAX_VALUE_BYTES } from "../runtime/text.ts";
import { type DecodedMessage, expertField, field, isIn, type LinkHook } from "./framing.ts";
import type { Obj } from "./state.ts";

/**
 * Fields the runtime adds from connection context rather than from the message's bytes: links
 * between requests and responses (frame numbers, times, rows, command tags), the transaction
 * status, the SQL of statements and portals and Bind's parameters typed by them, cancel links, and
 * the findings of a response no request waits for and of a message out of its phase.
 */
export const CONTEXT_FIELDS: ReadonlySet<string> = new Set([
  ...[
    F.txStatus,
    F.responseIn,
    F.responseTo,
    F.time,
    F.rowCount,
    F.tags,
    F.tagRows,
    F.sql,
    F.paramType,
    F.paramValue,
    F.cancelBackend,
    F.cancelRequest,
  ].map((f) => `pgwire.${f.abbrev}`),
  `expert:pgwire.${EXPERTS.unexpectedResponse.abbrev}`,
  `expert:pgwire.${EXPERTS.unexpectedMessage.abbrev}`,
]);

/** The rows a command tag counts: its last number when its first word counts rows, else 0. */
function tagRows(tag: string, counting: readonly string[]): number {
  const m = /^([A-Z]+)(?: .*)? ([0-9]+)$/.exec(tag);
  return m && counting.includes(m[1]) ? Number(m[2]) : 0;
}

/** The fields a Links adds (the F key of each). */
const LINK_FIELDS = [
  "sql",
  "cancelBackend",
  "cancelRequest",
  "responseIn",
  "responseTo",
  "time",
  "rowCount",
  "tags",
  "tagRows",
] as const;

/** A request waiting for the response that completes it (the plugin's queue records). */
interface Request {
  item: DecodedMessage;
  time: number;
  rows: number;
  ends: readonly string[];
  /** The statement or portal it refers to. */
  obj?: Obj;
  /** Its answer's rows are obj's (Execute). */
  rowsOfObj: boolean;
  /** Command tags that came before the response that completes it (if any), and their row counts. */
  tags: string[] | undefined;
  tagRows: number;
}

/** Cancel keys shared by a capture's connections: "pid key" -> the BackendKeyData's frame and its connection's links. */
export type CancelKeys = Map<string, { frame: number; links: Links }>;

/** One connection's requests, responses, statements and portals (the plugin's conn.q, conn.objs). */
export class Links {
  /** Requests waiting for the response that completes them, oldest first. */
  queue: Request[] = [];
  /** The time of the packet being decoded (seconds since the epoch; 0 when the caller gave none). */
  now = 0;
  /** Seen from its start (a client packet without a type byte): it answers only what was asked. */
  private started = false;

  /** Which of the link fields are decoded (ConnectionOptions.select), asked once. */
  private readonly kept: Readonly<Record<(typeof LINK_FIELDS)[number], boolean>>;

  constructor(
    /** The fields to decode (ConnectionOptions.select); undefined: all. */
    select: ReadonlySet<string> | undefined,
    private readonly cancelKeys: CancelKeys | undefined,
  ) {
    this.kept = Object.fromEntries(LINK_FIELDS.map((k) => [k, keeps(select, F[k])])) as Links["kept"];
  }

  /** The portal whose rows answer the oldest waiting request, if it says so (CallContext.answering). */
  readonly answering = (): Obj | undefined => {
    const h = this.queue[0];
    return h?.rowsOfObj ? h.obj : undefined;
  };

  /** Prepared statements and portals by name: their SQL and parameter types (the plugin's conn.objs). */
  private objs: { S: Map<string, Obj>; P: Map<string, Obj> } = { S: new Map(), P: new Map() };

  /**
   * Links requests and responses, and names statements and portals, as links.lua's link_response
   * and each message's generated obj function do (CallContext.links).
   */
  readonly hook: LinkHook = (m, fe, item, v, lists, out) => {
    // Seen from its start, a connection answers only what was asked.
    if (fe && m.shape === "untyped") this.started = true;
    const unexpected = !fe && !m.async && this.queue.length === 0 && this.started;
    const obj = m.objects === undefined ? undefined : this.objects(m, v, lists);
    this.link(m, fe, item, v, lists, obj, out);
    if (obj?.sql !== undefined) {
      item.sql = obj.sql;
      if (this.kept.sql) out.push(field(F.sql, obj.sql, 0, 0));
    }
    // (Only the messages with cancel keys: the call itself costs more than the test.)
    const cancel = m.cancelKey === undefined ? undefined : this.cancel(m, v, item.frame);
    if (cancel) {
      if (this.kept.cancelBackend) out.push(field(F.cancelBackend, cancel.frame, 0, 0));
      if (cancel.request !== undefined && this.kept.cancelRequest)
        out.push(field(F.cancelRequest, cancel.request, 0, 0));
    }
    if (unexpected)
      out.push(expertField(EXPERTS.unexpectedResponse.abbrev, "A response with no request waiting for it"));
  };

  /** Cancel keys across connections (the plugin's cancel_first_pass). */
  private cancel(m: MessageMeta, v: Vars, frame: number): { frame: number; request?: number } | undefined {
    const keys = this.cancelKeys;
    if (!keys || !m.cancelKey || v.pid === undefined || v.key === undefined) return undefined;
    const k = `${v.pid} ${v.key}`;
    if (m.cancelKey === "register") {
      keys.set(k, { frame, links: this });
      return undefined;
    }
    const owner = keys.get(k);
    if (!owner) return undefined;
    return { frame: owner.frame, request: owner.links.queue[0]?.item.frame };
  }

  /** The object (statement or portal) the message refers to, as it is now (nothing defined or dropped). */
  private referred(m: MessageMeta, v: Vars): Obj | undefined {
    const r = m.objects?.refer;
    if (!r) return undefined;
    const t = r.mapVar !== undefined ? v[r.mapVar] : undefined;
    const map = r.map ?? (t === 83 ? "S" : t === 80 ? "P" : undefined);
    const key = v[r.name];
    return map && typeof key === "string" ? this.objsOf(map).get(key) : undefined;
  }

  /**
   * The statements ("S") or the portals ("P"), by a named load: objs[map], one keyed load site for
   * two names, is a megamorphic look-up in V8.
   */
  private objsOf(map: "S" | "P"): Map<string, Obj> {
    return map === "S" ? this.objs.S : this.objs.P;
  }

  /** The parameter types of the statement a message refers to (CallContext.paramTypes). */
  readonly paramTypes = (m: MessageMeta, v: Vars) => this.referred(m, v)?.types;

  /** The object (statement or portal) the message refers to; defines and drops as the spec says. */
  private objects(m: MessageMeta, v: Vars, lists: Body["lists"]): Obj | undefined {
    const o = m.objects;
    if (!o) return undefined;
    let found: Obj | undefined;
    if (o.refer) {
      const t = o.refer.mapVar !== undefined ? v[o.refer.mapVar] : undefined;
      const map = o.refer.map ?? (t === 83 ? "S" : t === 80 ? "P" : undefined);
      const key = v[o.refer.name];
      if (map && typeof key === "string") {
        const objs = this.objsOf(map);
        found = objs.get(key);
        if (o.refer.drop) objs.delete(key);
      }
    }
    if (o.define) {
      const key = v[o.define.name];
      const sql = o.define.sql !== undefined ? v[o.define.sql] : found?.sql;
      const types = o.define.types !== undefined ? (lists[o.define.types] ?? []) : found?.types;
      const formats = o.define.formats !== undefined ? (lists[o.define.formats] ?? []) : undefined;
      if (typeof key === "string" && typeof sql === "string")
        this.objsOf(o.define.map).set(key, { sql, types, formats, stmt: found });
    }
    return found;
  }

  private link(
    m: MessageMeta,
    fe: boolean,
    item: DecodedMessage,
    v: Vars,
    lists: Body["lists"],
    obj: Obj | undefined,
    out: DecodedField[],
  ): void {
    const q = this.queue;
    if (fe) {
      if (m.request) {
        const rowsOfObj = m.objects?.rows === true;
        q.push({ item, time: this.now, rows: 0, ends: m.request, obj, rowsOfObj, tags: undefined, tagRows: 0 });
      }
      return;
    }
    if (m.async || q.length === 0) return;
    let i = 0;
    while (i < q.length && !isIn(m.name, q[i].ends)) i++;
    if (i < q.length) {
      // This completes request i; the ones before it got no answer (skipped after an error).
      const r = q[i];
      if (i === 0) q.shift();
      else q.splice(0, i + 1);
      item.request = r.item;
      this.answer(m, r, lists);
      if (this.kept.responseIn) r.item.fields.push(field(F.responseIn, item.frame, 0, 0));
      const us = Math.floor((this.now - r.time) * 1000000 + 0.5);
      item.responseTime = us / 1000000;
      if (this.kept.responseTo) out.push(field(F.responseTo, r.item.frame, 0, 0));
      if (this.kept.time) out.push(field(F.time, item.responseTime, 0, 0));
      if (r.rows > 0 && this.kept.rowCount) out.push(field(F.rowCount, r.rows, 0, 0));
      if (r.tags !== undefined) {
        if (this.kept.tags) out.push(field(F.tags, cutUtf8(r.tags.join("; "), MAX_VALUE_BYTES), 0, 0));
        if (r.tagRows > 0 && this.kept.tagRows) out.push(field(F.tagRows, r.tagRows, 0, 0));
      }
      return;
    }
    const head = q[0];
    item.request = head.item;
    if (m.row) head.rows++;
    const tag = m.commandTag ? v[m.commandTag.var] : undefined;
    if (typeof tag === "string" && m.commandTag) {
      head.tags ??= [];
      head.tags.push(tag);
      head.tagRows = Math.min(head.tagRows + tagRows(tag, m.commandTag.counting), 4294967295);
    }
    this.answer(m, head, lists);
  }

  /** What an answer tells of the object its request refers to (spec/dsl.ts answerTypes, answerColumns). */
  private answer(m: MessageMeta, head: Request, lists: Body["lists"]): void {
    const o = m.objects;
    if (!o || !head.obj) return;
    // The parameter types as the server resolved them: later Binds of the statement use them.
    if (o.answerTypes !== undefined) head.obj.types = lists[o.answerTypes] ?? [];
    if (o.answerColumns !== undefined) head.obj.columns = lists[o.answerColumns] ?? [];
  }

  /** A client starts a new connection on the same address pair: nothing is waiting, nothing is named. */
  readonly restart = () => {
    this.started = false;
    this.queue = [];
    this.objs = { S: new Map(), P: new Map() };
  };
}
