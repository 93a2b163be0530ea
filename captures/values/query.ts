// Records the value oracle for test/runtime/values: PostgreSQL's own text output next to the binary (format 1)
// bytes of the same values. Run by captures/values/record.sh against a throwaway server; can also be run
// by hand against any trust-auth server:  npx tsx captures/values/query.ts HOST PORT OUT.json [--no-random]
//
// node `pg` cannot be used for the binary half: pg-protocol decodes every DataRow field as UTF-8
// before `binary: true` turns it back into a Buffer, which mangles bytes such as ff. So this script
// speaks the extended query protocol itself over a plain socket (trust auth only): Parse, Bind (result
// format 0 or 1 for every column), Describe portal, Execute, Sync; RowDescription gives the type OIDs.
//
// What is recorded:
//  - `columns`: ONE query selecting literals of every supported type (and a few unsupported ones),
//    run twice on the same connection: result format 0 (text) and result format 1 (binary).
//  - `random`: per type, one query `SELECT x FROM unnest($1::TYPE[]) x` over deterministic
//    pseudo-random values (seeded PRNG), again in both formats: floats from random bit patterns
//    and every power of two with its neighbours, numerics, int8, dates, times, timestamps, intervals,
//    money. This is the oracle for the float shortest-digits rule and the calendar arithmetic.
//  - `settings`: the server's version and the GUCs that decide text output.
import { writeFileSync } from "node:fs";
import net from "node:net";
import { prng } from "../../test/tools/tcp-sessions.ts";

const [host = "127.0.0.1", portArg = "55432", out = "test/runtime/values/fixtures.json", mode = ""] =
  process.argv.slice(2);
const withRandom = mode !== "--no-random"; // record.sh captures a --no-random run: a small pcapng
const port = Number(portArg);

// ------------------------------------------------------------------------------------------------
// The literals. Names are unique; each becomes one column `"name"`.
// ------------------------------------------------------------------------------------------------
const LITERALS: [string, string][] = [
  ["null_int4", "NULL::int4"],
  ["null_text", "NULL::text"],
  ["bool_t", "true"],
  ["bool_f", "false"],
  ["int2_0", "0::int2"],
  ["int2_min", "(-32768)::int2"],
  ["int2_max", "32767::int2"],
  ["int4_0", "0::int4"],
  ["int4_neg1", "(-1)::int4"],
  ["int4_min", "(-2147483648)::int4"],
  ["int4_max", "2147483647::int4"],
  ["int8_0", "0::int8"],
  ["int8_neg1", "(-1)::int8"],
  ["int8_min", "(-9223372036854775808)::int8"],
  ["int8_max", "9223372036854775807::int8"],
  ["int8_mid", "1234567890123::int8"],
  ["oid_max", "4294967295::oid"],
  ["oid_0", "0::oid"],
  ["xid", "'4294967295'::xid"],
  ["cid", "'5'::cid"],
  ["xid8_max", "'18446744073709551615'::xid8"],
  ["xid8_0", "'0'::xid8"],
  ["regproc", "'int4in'::regproc"],
  ["regtype", "'int4'::regtype"],
  ["regclass", "'pg_class'::regclass"],
  ["float4_0", "0::float4"],
  ["float4_neg0", "'-0'::float4"],
  ["float4_1_5", "1.5::float4"],
  ["float4_0_1", "0.1::float4"],
  ["float4_0_3", "0.3::float4"],
  ["float4_1e6", "1e6::float4"],
  ["float4_123456", "123456::float4"],
  ["float4_1234567", "1234567::float4"],
  ["float4_1e-4", "1e-4::float4"],
  ["float4_1e-5", "1e-5::float4"],
  ["float4_max", "3.4028235e38::float4"],
  ["float4_min_sub", "1.4e-45::float4"],
  ["float4_16777217", "16777217::float4"],
  ["float4_inf", "'Infinity'::float4"],
  ["float4_ninf", "'-Infinity'::float4"],
  ["float4_nan", "'NaN'::float4"],
  ["float8_0", "0::float8"],
  ["float8_neg0", "'-0'::float8"],
  ["float8_0_1", "0.1::float8"],
  ["float8_1e100", "1e100::float8"],
  ["float8_1_5e-7", "1.5e-7::float8"],
  ["float8_1e15", "1e15::float8"],
  ["float8_1e14", "1e14::float8"],
  ["float8_14digits", "123456789012345.6::float8"],
  ["float8_1_23e20", "123456789012345678901::float8"],
  ["float8_inf", "'Infinity'::float8"],
  ["float8_ninf", "'-Infinity'::float8"],
  ["float8_nan", "'NaN'::float8"],
  ["float8_min_sub", "'5e-324'::float8"],
  ["float8_max", "'1.7976931348623157e308'::float8"],
  ["float8_min_norm", "'2.2250738585072014e-308'::float8"],
  ["float8_third", "(1::float8 / 3)"],
  ["float8_100", "100::float8"],
  ["float8_neg1_5", "(-1.5)::float8"],
  ["float8_1e-4", "0.0001::float8"],
  ["float8_1e-5", "0.00001::float8"],
  ["numeric_0", "0::numeric"],
  ["numeric_neg1_5", "(-1.5)::numeric"],
  ["numeric_small", "0.000001::numeric"],
  ["numeric_huge", "123456789012345678901234567890.123::numeric"],
  ["numeric_nan", "'NaN'::numeric"],
  ["numeric_inf", "'Infinity'::numeric"],
  ["numeric_ninf", "'-Infinity'::numeric"],
  ["numeric_1_000", "1.000::numeric"],
  ["numeric_10000", "10000::numeric"],
  ["numeric_1e-21", "0.000000000000000000001::numeric"],
  ["numeric_neg0_00", "(-0.00)::numeric"],
  ["numeric_12345_678", "12345.678::numeric"],
  ["numeric_1e30", "1e30::numeric"],
  ["numeric_99999999", "99999999::numeric"],
  ["numeric_scaled", "round(2::numeric / 3, 20)"],
  ["money", "1234.56::money"],
  ["money_neg", "(-1234.56)::money"],
  ["money_0", "0::money"],
  ["money_cent", "0.01::money"],
  ["money_min", "'-92233720368547758.08'::money"],
  ["money_max", "'92233720368547758.07'::money"],
  ["money_million", "1000000::money"],
  ["text", "'hello'::text"],
  ["text_empty", "''::text"],
  ["text_utf8", "'héllo ✓ 😀'::text"],
  ["text_quote", "E'a\"b\\\\c'::text"],
  ["text_newline", "E'line1\\nline2\\ttab'::text"],
  ["varchar", "'abc'::varchar(10)"],
  ["bpchar", "'ab'::char(5)"],
  ["name", "'pg_catalog'::name"],
  ["char", "'a'::\"char\""],
  ["char_high", "'\\351'::\"char\""],
  ["char_empty", "''::\"char\""],
  ["json", '\'{"a": [1, 2],  "b":null}\'::json'],
  ["jsonb", '\'{"b": 2, "a": [1, "x", {"c": true}]}\'::jsonb'],
  ["jsonb_scalar", "'\"str\"'::jsonb"],
  ["jsonpath", "'$.a[*] ? (@ > 1)'::jsonpath"],
  ["xml", "'<a>x</a>'::xml"],
  ["unknown", "'lit'::unknown"],
  ["bytea", "'\\x00ff10'::bytea"],
  ["bytea_empty", "''::bytea"],
  ["date", "'2024-02-29'::date"],
  ["date_inf", "'infinity'::date"],
  ["date_ninf", "'-infinity'::date"],
  ["date_bc", "'4713-01-01 BC'::date"],
  ["date_epoch", "'2000-01-01'::date"],
  ["date_before_epoch", "'1999-12-31'::date"],
  ["date_year1", "'0001-01-01'::date"],
  ["date_1bc", "'0001-12-31 BC'::date"],
  ["date_max", "'5874897-12-31'::date"],
  ["date_min", "'4714-11-24 BC'::date"],
  ["time_0", "'00:00:00'::time"],
  ["time_frac", "'23:59:59.999999'::time"],
  ["time_half", "'12:34:56.5'::time"],
  ["time_24", "'24:00:00'::time"],
  ["timetz_ist", "'12:34:56+05:30'::timetz"],
  ["timetz_pst", "'01:02:03.25-08'::timetz"],
  ["timetz_utc", "'00:00:00+00'::timetz"],
  ["timetz_neg_half", "'10:00:00-05:30'::timetz"],
  ["timetz_secs", "'10:00:00+14:59:59'::timetz"],
  ["timestamp", "'2024-02-29 12:34:56'::timestamp"],
  ["timestamp_us", "'2024-02-29 12:34:56.123456'::timestamp"],
  ["timestamp_tenth", "'2000-01-01 00:00:00.1'::timestamp"],
  ["timestamp_inf", "'infinity'::timestamp"],
  ["timestamp_ninf", "'-infinity'::timestamp"],
  ["timestamp_bc", "'4713-01-01 00:00:00 BC'::timestamp"],
  ["timestamp_unix", "'1970-01-01'::timestamp"],
  ["timestamp_max", "'294276-12-31 23:59:59.999999'::timestamp"],
  ["timestamp_1900", "'1900-03-01 01:02:03.0005'::timestamp"],
  ["timestamptz", "'2024-02-29 12:34:56+02'::timestamptz"],
  ["timestamptz_half", "'2000-01-01 00:00:00.5+00'::timestamptz"],
  ["timestamptz_inf", "'infinity'::timestamptz"],
  ["timestamptz_ninf", "'-infinity'::timestamptz"],
  ["timestamptz_bc", "'0044-03-15 12:00:00 BC'::timestamptz"],
  ["interval", "'1 year 2 mons 3 days 04:05:06.5'::interval"],
  ["interval_neg", "'-1 year -2 mons +3 days -04:05:06'::interval"],
  ["interval_0", "'0'::interval"],
  ["interval_day_minus_sec", "'1 day -00:00:01'::interval"],
  ["interval_neg_us", "'-00:00:00.000001'::interval"],
  ["interval_big", "'178000000 years'::interval"],
  ["interval_mon", "'1 mon'::interval"],
  ["interval_days", "'2 days'::interval"],
  ["interval_neg_day", "'-1 days'::interval"],
  ["interval_hours", "'123:00:00'::interval"],
  ["interval_y_minus_d", "'1 year -1 day'::interval"],
  ["interval_minus_y_plus_d", "'-1 year +1 day +1 hour'::interval"],
  ["interval_neg_mon_pos_time", "'-1 mon 00:00:01'::interval"],
  ["interval_max_time", "make_interval(secs => 9223372036854.775807)"],
  ["uuid", "'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid"],
  ["inet_v4", "'192.168.0.1'::inet"],
  ["inet_v4_mask", "'192.168.0.1/24'::inet"],
  ["inet_v6_128", "'::1/128'::inet"],
  ["inet_v6_loop", "'::1'::inet"],
  ["inet_v6_64", "'2001:db8::1/64'::inet"],
  ["inet_v4mapped", "'::ffff:1.2.3.4'::inet"],
  ["inet_v4compat", "'::1.2.3.4'::inet"],
  ["inet_fe80", "'fe80::'::inet"],
  ["inet_v6_full", "'1:2:3:4:5:6:7:8'::inet"],
  ["inet_v6_zero_runs", "'1:0:0:2:0:0:0:3'::inet"],
  ["inet_any", "'0.0.0.0/0'::inet"],
  ["cidr_8", "'10.0.0.0/8'::cidr"],
  ["cidr_24", "'192.168.1.0/24'::cidr"],
  ["cidr_v6", "'2001:db8::/32'::cidr"],
  ["cidr_32", "'1.2.3.4/32'::cidr"],
  ["cidr_v6_any", "'::/0'::cidr"],
  ["cidr_v6_128", "'::1/128'::cidr"],
  ["macaddr", "'08:00:2b:01:02:03'::macaddr"],
  ["macaddr8", "'08:00:2b:01:02:03:04:05'::macaddr8"],
  ["tid", "'(1,2)'::tid"],
  ["tid_max", "'(4294967295,65535)'::tid"],
  ["point", "'(1,2)'::point"],
  ["point_frac", "'(-1.5,0.1)'::point"],
  ["lseg", "'[(1,2),(3,4)]'::lseg"],
  ["box", "'(3,4),(1,2)'::box"],
  ["line", "'{1,2,3}'::line"],
  ["circle", "'<(1,2),3>'::circle"],
  ["path_open", "'[(1,2),(3,4)]'::path"],
  ["path_closed", "'((1,2),(3,4))'::path"],
  ["polygon", "'((0,0),(1,1),(1,0))'::polygon"],
  ["pg_lsn", "'16/B374D848'::pg_lsn"],
  ["pg_lsn_0", "'0/0'::pg_lsn"],
  ["pg_lsn_max", "'FFFFFFFF/FFFFFFFF'::pg_lsn"],
  ["bit", "B'101'::bit(3)"],
  ["bit_10", "B'1010101010'::bit(10)"],
  ["varbit", "B'1011001010'::varbit"],
  ["varbit_empty", "B''::varbit"],
  ["int2vector", "'1 2 3'::int2vector"],
  ["oidvector", "'23 25'::oidvector"],
  ["txid_snapshot", "'10:20:10,14,15'::txid_snapshot"],
  ["pg_snapshot", "'10:20:'::pg_snapshot"],
  ["void", "pg_sleep(0)"],
  ["int4range", "'[1,10)'::int4range"],
  ["int4range_canon", "'(,5]'::int4range"],
  ["int4range_empty", "'empty'::int4range"],
  ["numrange", "'[1.5,2.5]'::numrange"],
  ["tsrange", '\'["2020-01-01 00:00","2020-01-02 00:00")\'::tsrange'],
  ["tstzrange", "'[2020-01-01 00:00+00,)'::tstzrange"],
  ["daterange", "'[2020-01-01,infinity)'::daterange"],
  ["int8range", "'(,)'::int8range"],
  ["int4multirange", "'{[1,3),[5,7)}'::int4multirange"],
  ["int4multirange_empty", "'{}'::int4multirange"],
  ["arr_int4", "'{1,2,NULL}'::int4[]"],
  [
    "arr_text",
    "ARRAY['a b', 'x\"y', '', 'NULL', NULL, E'back\\\\slash', '{}', 'plain', ' lead', 'comma,', 'null', 'é']::text[]",
  ],
  ["arr_empty", "'{}'::int4[]"],
  ["arr_text_empty", "'{}'::text[]"],
  ["arr_bool", "'{t,f,NULL}'::bool[]"],
  ["arr_numeric", "'{1.5,NaN,-0.001,Infinity}'::numeric[]"],
  ["arr_2d", "'{{1,2},{3,4}}'::int4[]"],
  ["arr_lb", "'[0:1]={7,8}'::int4[]"],
  ["arr_3d", "'{{{1,2}},{{3,4}}}'::int8[]"],
  ["arr_timestamp", "ARRAY['2020-01-01 00:00:00'::timestamp, 'infinity']"],
  ["arr_box", "'{(1,1),(0,0);(2,2),(1,1)}'::box[]"],
  ["arr_float8", "'{1e100,-0,Infinity,0.1}'::float8[]"],
  ["arr_bytea", "ARRAY['\\x00ff'::bytea, ''::bytea]"],
  ["arr_date", "'{infinity,2020-01-01}'::date[]"],
  ["arr_uuid", "ARRAY['a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid]"],
  ["arr_jsonb", "ARRAY['{\"a\": 1}'::jsonb, '[]'::jsonb]"],
  ["arr_inet", "'{192.168.0.1/24,::1}'::inet[]"],
  ["arr_char", 'ARRAY[\'a\'::"char", \',\'::"char", \'"\'::"char"]'],
  ["arr_name", "ARRAY['pg_catalog'::name, 'a b'::name]"],
  ["arr_interval", "ARRAY['1 day'::interval, '-1 mon'::interval]"],
  ["arr_int4range", "ARRAY['[1,2)'::int4range, 'empty'::int4range]"],
  ["arr_money", "ARRAY[1.5::money]"],
  ["arr_all_null", "ARRAY[NULL, NULL]::int2[]"],
  // Types this decoder deliberately does not turn into PostgreSQL's text (see test/runtime/values):
  ["record", "ROW(1, 'a')"],
  ["tsvector", "'a fat cat'::tsvector"],
];

// ------------------------------------------------------------------------------------------------
// Deterministic pseudo-random values for the `random` section.
// ------------------------------------------------------------------------------------------------
const rnd = prng(20240229);
const randInt = (n: number) => Math.floor(rnd() * n);
const digits = (n: number) => Array.from({ length: n }, () => String(randInt(10))).join("");
const u32 = () => randInt(0x100000000);

function float8FromBits(hi: number, lo: number): number {
  const dv = new DataView(new ArrayBuffer(8));
  dv.setUint32(0, hi);
  dv.setUint32(4, lo);
  return dv.getFloat64(0);
}
function float4FromBits(bits: number): number {
  const dv = new DataView(new ArrayBuffer(4));
  dv.setUint32(0, bits >>> 0);
  return dv.getFloat32(0);
}

function randomFloat8(): string[] {
  const vals: number[] = [];
  for (let i = 0; i < 3000; i++) vals.push(float8FromBits(u32(), u32()));
  // Short decimals (few significant digits), at all scales.
  for (let i = 0; i < 500; i++) vals.push(Number(`${randInt(1000)}e${randInt(60) - 30}`));
  // Every power of two and both neighbours: where the rounding interval is lopsided.
  for (let e = 1; e < 2047; e++) {
    const hi = e * 0x100000; // exponent field, mantissa 0
    vals.push(float8FromBits(hi, 0), float8FromBits(hi, 1), float8FromBits(hi - 1, 0xffffffff));
  }
  for (let i = 1; i < 40; i++) vals.push(float8FromBits(0, i)); // small subnormals
  return vals.filter((v) => Number.isFinite(v)).map((v) => (Object.is(v, -0) ? "-0" : String(v)));
}

function randomFloat4(): string[] {
  const vals: number[] = [];
  for (let i = 0; i < 3000; i++) vals.push(float4FromBits(u32()));
  for (let i = 0; i < 500; i++) vals.push(Math.fround(Number(`${randInt(1000)}e${randInt(30) - 15}`)));
  for (let e = 1; e < 255; e++) {
    const bits = e * 0x800000;
    vals.push(float4FromBits(bits), float4FromBits(bits + 1), float4FromBits(bits - 1));
  }
  for (let i = 1; i < 40; i++) vals.push(float4FromBits(i));
  // 9 significant digits always identify a float4; PostgreSQL's float4in (strtof) rounds correctly.
  return vals.filter((v) => Number.isFinite(v) && v !== 0).map((v) => v.toPrecision(9));
}

function randomNumeric(): string[] {
  const vals: string[] = [];
  for (let i = 0; i < 600; i++) {
    const sign = rnd() < 0.3 ? "-" : "";
    const intDigits = randInt(4) === 0 ? "0" : digits(1 + randInt(30));
    const frac = randInt(3) === 0 ? "" : `.${digits(randInt(25))}`;
    vals.push(`${sign}${intDigits}${frac}`);
  }
  for (let i = 0; i < 100; i++) vals.push(`${digits(1 + randInt(5))}e${randInt(80) - 40}`);
  return vals;
}

function randomInt8(): string[] {
  const vals: string[] = [];
  for (let i = 0; i < 500; i++) {
    const v = BigInt.asIntN(64, (BigInt(u32()) << 32n) | BigInt(u32()));
    vals.push(String(v >> BigInt(randInt(64))));
  }
  return vals;
}

const pad = (n: number, w: number) => String(n).padStart(w, "0");
function randomDateParts(): string {
  const bc = rnd() < 0.1;
  const year = bc ? 1 + randInt(4713) : 1 + randInt(rnd() < 0.1 ? 294275 : 3000);
  const month = 1 + randInt(12);
  const day = 1 + randInt(28);
  return `${pad(year, 4)}-${pad(month, 2)}-${pad(day, 2)}${bc ? " BC" : ""}`;
}
function randomTimeParts(): string {
  const frac = randInt(3) === 0 ? "" : `.${digits(1 + randInt(6))}`;
  return `${pad(randInt(24), 2)}:${pad(randInt(60), 2)}:${pad(randInt(60), 2)}${frac}`;
}
function randomDate(): string[] {
  const vals: string[] = [];
  for (let i = 0; i < 400; i++) {
    if (rnd() < 0.5) vals.push(randomDateParts());
    else vals.push(`${1 + randInt(2000000)}-${pad(1 + randInt(12), 2)}-${pad(1 + randInt(28), 2)}`);
  }
  return vals;
}
function randomTimestamp(): string[] {
  const vals: string[] = [];
  for (let i = 0; i < 400; i++) {
    const d = randomDateParts();
    const bc = d.endsWith(" BC");
    vals.push(`${d.replace(" BC", "")} ${randomTimeParts()}${bc ? " BC" : ""}`);
  }
  return vals;
}
function randomTimestamptz(): string[] {
  return randomTimestamp().map((v) => {
    const off = `${rnd() < 0.5 ? "+" : "-"}${pad(randInt(14), 2)}:${pad(randInt(4) * 15, 2)}`;
    return v.endsWith(" BC") ? `${v.slice(0, -3)}${off} BC` : `${v}${off}`;
  });
}
function randomTime(): string[] {
  return Array.from({ length: 200 }, randomTimeParts);
}
function randomTimetz(): string[] {
  return Array.from({ length: 200 }, () => {
    const secs = randInt(3) === 0 ? `:${pad(randInt(60), 2)}` : "";
    return `${randomTimeParts()}${rnd() < 0.5 ? "+" : "-"}${pad(randInt(15), 2)}:${pad(randInt(60), 2)}${secs}`;
  });
}
function randomInterval(): string[] {
  const vals: string[] = [];
  const s = () => (rnd() < 0.4 ? "-" : "+");
  for (let i = 0; i < 400; i++) {
    const parts: string[] = [];
    if (rnd() < 0.5) parts.push(`${s()}${randInt(rnd() < 0.2 ? 170000000 : 100)} years`);
    if (rnd() < 0.5) parts.push(`${s()}${randInt(30)} mons`);
    if (rnd() < 0.5) parts.push(`${s()}${randInt(rnd() < 0.2 ? 2000000000 : 40)} days`);
    if (rnd() < 0.6)
      parts.push(
        `${s()}${randInt(rnd() < 0.2 ? 2000000000 : 100)}:${pad(randInt(60), 2)}:${pad(randInt(60), 2)}${rnd() < 0.5 ? `.${digits(1 + randInt(6))}` : ""}`,
      );
    vals.push(parts.length ? parts.join(" ") : "0");
  }
  return vals;
}
function randomMoney(): string[] {
  const vals: string[] = [];
  for (let i = 0; i < 300; i++) {
    const v = BigInt.asIntN(64, (BigInt(u32()) << 32n) | BigInt(u32())) >> BigInt(randInt(64));
    const neg = v < 0n;
    const a = (neg ? -v : v).toString().padStart(3, "0");
    vals.push(`${neg ? "-" : ""}${a.slice(0, -2)}.${a.slice(-2)}`);
  }
  return vals;
}

const RANDOM: [string, string[]][] = [
  ["float8", randomFloat8()],
  ["float4", randomFloat4()],
  ["numeric", randomNumeric()],
  ["int8", randomInt8()],
  ["date", randomDate()],
  ["time", randomTime()],
  ["timetz", randomTimetz()],
  ["timestamp", randomTimestamp()],
  ["timestamptz", randomTimestamptz()],
  ["interval", randomInterval()],
  ["money", randomMoney()],
];

// ------------------------------------------------------------------------------------------------
// A minimal protocol 3.0 client (trust authentication, extended query protocol).
// ------------------------------------------------------------------------------------------------
interface Field {
  name: string;
  typeOid: number;
}
interface Result {
  fields: Field[];
  rows: (Buffer | null)[][];
}

class Conn {
  private buf = Buffer.alloc(0);
  private waiters: (() => void)[] = [];
  private closed = false;
  readonly params: Record<string, string> = {};

  constructor(private sock: net.Socket) {
    sock.on("data", (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      for (const w of this.waiters.splice(0)) w();
    });
    sock.on("close", () => {
      this.closed = true;
      for (const w of this.waiters.splice(0)) w();
    });
  }

  static connect(options: Record<string, string>): Promise<Conn> {
    return new Promise((resolve, reject) => {
      const sock = net.connect({ host, port }, async () => {
        const c = new Conn(sock);
        try {
          await c.startup(options);
          resolve(c);
        } catch (e) {
          reject(e);
        }
      });
      sock.on("error", reject);
    });
  }

  private async message(): Promise<{ type: string; body: Buffer }> {
    for (;;) {
      if (this.buf.length >= 5) {
        const len = this.buf.readInt32BE(1);
        if (this.buf.length >= 1 + len) {
          const type = String.fromCharCode(this.buf[0]);
          const body = this.buf.subarray(5, 1 + len);
          this.buf = this.buf.subarray(1 + len);
          if (type === "E") throw new Error(`server error: ${errorText(body)}`);
          return { type, body };
        }
      }
      if (this.closed) throw new Error("connection closed");
      await new Promise<void>((r) => this.waiters.push(r));
    }
  }

  private send(type: string, body: Buffer): void {
    const head = Buffer.alloc(5);
    head.write(type, 0, "latin1");
    head.writeInt32BE(body.length + 4, 1);
    this.sock.write(Buffer.concat([head, body]));
  }

  private async startup(options: Record<string, string>): Promise<void> {
    const kv: Buffer[] = [];
    for (const [k, v] of Object.entries(options)) kv.push(cstr(k), cstr(v));
    const body = Buffer.concat([int32(196608), ...kv, Buffer.from([0])]);
    this.sock.write(Buffer.concat([int32(body.length + 4), body]));
    for (;;) {
      const m = await this.message();
      if (m.type === "R" && m.body.readInt32BE(0) !== 0) throw new Error("only trust authentication is supported");
      if (m.type === "S") {
        const [k, v] = m.body.toString("utf8").split("\0");
        this.params[k] = v;
      }
      if (m.type === "Z") return;
    }
  }

  async query(sql: string, params: (string | null)[], resultFormat: 0 | 1): Promise<Result> {
    this.sock.cork(); // one segment for Parse .. Sync
    this.send("P", Buffer.concat([cstr(""), cstr(sql), int16(0)]));
    const pv: Buffer[] = [];
    for (const p of params) {
      if (p === null) pv.push(int32(-1));
      else {
        const b = Buffer.from(p, "utf8");
        pv.push(int32(b.length), b);
      }
    }
    this.send(
      "B",
      Buffer.concat([cstr(""), cstr(""), int16(0), int16(params.length), ...pv, int16(1), int16(resultFormat)]),
    );
    this.send("D", Buffer.concat([Buffer.from("P"), cstr("")]));
    this.send("E", Buffer.concat([cstr(""), int32(0)]));
    this.send("S", Buffer.alloc(0));
    this.sock.uncork();
    const res: Result = { fields: [], rows: [] };
    for (;;) {
      const m = await this.message();
      if (m.type === "T") {
        const n = m.body.readInt16BE(0);
        let off = 2;
        for (let i = 0; i < n; i++) {
          const end = m.body.indexOf(0, off);
          const name = m.body.toString("utf8", off, end);
          off = end + 1;
          const typeOid = m.body.readUInt32BE(off + 6);
          off += 18;
          res.fields.push({ name, typeOid });
        }
      } else if (m.type === "D") {
        const n = m.body.readInt16BE(0);
        let off = 2;
        const row: (Buffer | null)[] = [];
        for (let i = 0; i < n; i++) {
          const len = m.body.readInt32BE(off);
          off += 4;
          if (len < 0) row.push(null);
          else {
            row.push(Buffer.from(m.body.subarray(off, off + len)));
            off += len;
          }
        }
        res.rows.push(row);
      } else if (m.type === "Z") return res;
    }
  }

  close(): void {
    this.send("X", Buffer.alloc(0));
    this.sock.end();
  }
}

function cstr(s: string): Buffer {
  return Buffer.concat([Buffer.from(s, "utf8"), Buffer.from([0])]);
}
function int32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
}
function int16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeInt16BE(n);
  return b;
}
function errorText(body: Buffer): string {
  return body
    .toString("utf8")
    .split("\0")
    .filter((f) => f.startsWith("M") || f.startsWith("C"))
    .join(" ");
}

// ------------------------------------------------------------------------------------------------
const conn = await Conn.connect({
  user: "postgres",
  database: "postgres",
  client_encoding: "UTF8",
  // The documented defaults, spelled out so that a server with other settings still gives this fixture.
  DateStyle: "ISO, MDY",
  IntervalStyle: "postgres",
  TimeZone: "UTC",
  extra_float_digits: "1",
  bytea_output: "hex",
});

const settings: Record<string, string> = {};
for (const g of [
  "server_version",
  "lc_monetary",
  "lc_numeric",
  "server_encoding",
  "client_encoding",
  "DateStyle",
  "IntervalStyle",
  "TimeZone",
  "extra_float_digits",
  "bytea_output",
]) {
  const r = await conn.query(`SHOW ${g}`, [], 0);
  settings[g] = r.rows[0][0]?.toString("utf8") ?? "";
}

const sql = `SELECT ${LITERALS.map(([name, expr]) => `${expr} AS "${name}"`).join(",\n  ")}`;
const text = await conn.query(sql, [], 0);
const binary = await conn.query(sql, [], 1);
const columns = text.fields.map((f, i) => {
  if (binary.fields[i].typeOid !== f.typeOid) throw new Error(`type of ${f.name} differs between runs`);
  return {
    name: f.name,
    oid: f.typeOid,
    text: text.rows[0][i] === null ? null : text.rows[0][i]?.toString("utf8"),
    hex: binary.rows[0][i] === null ? null : binary.rows[0][i]?.toString("hex"),
  };
});

const random: { type: string; oid: number; values: [string, string][] }[] = [];
for (const [type, values] of withRandom ? RANDOM : []) {
  const literal = `{${values.map((v) => `"${v}"`).join(",")}}`;
  const q = `SELECT x FROM unnest($1::${type}[]) WITH ORDINALITY AS t(x, n) ORDER BY n`;
  const t = await conn.query(q, [literal], 0);
  const b = await conn.query(q, [literal], 1);
  if (t.rows.length !== values.length || b.rows.length !== values.length) throw new Error(`${type}: row count`);
  random.push({
    type,
    oid: t.fields[0].typeOid,
    values: t.rows.map((r, i) => [r[0]?.toString("utf8") ?? "", b.rows[i][0]?.toString("hex") ?? ""]),
  });
}
conn.close();

const fixture = {
  comment:
    "Recorded by captures/values/record.sh from a real PostgreSQL server: per column, PostgreSQL's text output (format 0) and the binary bytes (format 1, hex) of the same value. Do not edit by hand.",
  settings,
  query: sql,
  columns,
  random,
};
// One column or one random value per line: readable diffs, and small enough for the formatter.
const lines = [
  "{",
  `"comment": ${JSON.stringify(fixture.comment)},`,
  `"settings": ${JSON.stringify(fixture.settings)},`,
  `"query": ${JSON.stringify(fixture.query)},`,
  `"columns": [\n${columns.map((c) => JSON.stringify(c)).join(",\n")}\n],`,
  `"random": [\n${random
    .map(
      (r) =>
        `{"type": ${JSON.stringify(r.type)}, "oid": ${r.oid}, "values": [\n${r.values.map((v) => JSON.stringify(v)).join(",\n")}\n]}`,
    )
    .join(",\n")}\n]`,
  "}",
];
writeFileSync(out, `${lines.join("\n")}\n`);
console.error(
  `[values] ${columns.length} columns, ${random.reduce((n, r) => n + r.values.length, 0)} random values -> ${out}`,
);
