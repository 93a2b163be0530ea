-- Column values as PostgreSQL prints them: the Lua twin of src/runtime/values.ts (keep them in step;
-- test/runtime/values runs both on PostgreSQL's own output and on random bytes under Lua 5.1 to 5.4).
--
-- Defines two locals:
--   pg_value_text(oid, format, s)      the text PostgreSQL's output function gives for the value (type
--                                      OID, format code 0 text / 1 binary, s = the raw bytes as a Lua
--                                      string) with the default settings (DateStyle ISO, IntervalStyle
--                                      postgres, TimeZone UTC, bytea_output hex, extra_float_digits 1,
--                                      lc_monetary C); "\x" + hex when the bytes are not a valid value
--                                      of that type, the type has no decoder or the format is not 0/1.
--                                      Never raises an error (pcall around the decoders).
--   pg_value_text_raw(oid, format, s)  the same without the pcall (tests use it to prove that no
--                                      decoder ever raises one).
--
-- Needs, before this chunk: `local PG_TYPES = <luaTypeTable()>` (generator/lua.ts renders it:
-- [oid] = { name = ..., kind = ..., elem = ... }). Pure Lua, no Wireshark API, the common subset of
-- Lua 5.1-5.4: no bit operators, no goto, no integer division, no string.pack, no \x escapes. Numbers
-- are only ever shown through string.format("%.0f") / "%d" of integral values, never tostring (5.3+
-- would print 3.0). 64-bit integers are exact on every version: they are read as two 32-bit halves
-- and divided by hand (Lua 5.1 has only doubles). Floats are decoded from their bits by hand and
-- printed like PostgreSQL's Ryu (shortest decimal strictly inside the rounding interval, nearest,
-- ties to even) with exact big-integer arithmetic on base-10^7 limbs, never via tostring/tonumber.
--
-- Everything lives in one local table V inside a do-block, so that the plugin's main chunk gains only
-- these two locals (Lua's limits: 200 locals per function, 60 upvalues per closure in 5.1).
local pg_value_text, pg_value_text_raw
do
  local V = {}
  local sbyte, ssub, sfmt, srep, sfind, sgsub = string.byte, string.sub, string.format, string.rep, string.find, string.gsub
  local concat, floor = table.concat, math.floor
  local MAX_DEPTH = 16
  local HEX2, HEX2U = {}, {}
  do
    local hd, hu = "0123456789abcdef", "0123456789ABCDEF"
    for b = 0, 255 do
      local h, l = floor(b / 16) + 1, b % 16 + 1
      HEX2[b] = ssub(hd, h, h) .. ssub(hd, l, l)
      HEX2U[b] = ssub(hu, h, h) .. ssub(hu, l, l)
    end
  end

  -- Integral number to decimal text (never "3.0", never "-0").
  function V.istr(n)
    return sfmt("%.0f", n + 0)
  end

  function V.pad(n, w)
    local s = sfmt("%.0f", n + 0)
    if #s < w then s = srep("0", w - #s) .. s end
    return s
  end

  function V.hex(s)
    local t = { "\\x" }
    for i = 1, #s do t[i + 1] = HEX2[sbyte(s, i)] end
    return concat(t)
  end

  -- Big-endian readers; i is the 1-based position of the first byte.
  function V.u16(s, i)
    local a, b = sbyte(s, i, i + 1)
    return a * 256 + b
  end
  function V.i16(s, i)
    local v = V.u16(s, i)
    if v >= 32768 then v = v - 65536 end
    return v
  end
  function V.u32(s, i)
    local a, b, c, d = sbyte(s, i, i + 3)
    return ((a * 256 + b) * 256 + c) * 256 + d
  end
  function V.i32(s, i)
    local v = V.u32(s, i)
    if v >= 2147483648 then v = v - 4294967296 end
    return v
  end

  -- A 64-bit integer as (negative, high 32 bits, low 32 bits) of its magnitude; unsigned if asked.
  function V.mag64(s, i, unsigned)
    local hi, lo = V.u32(s, i), V.u32(s, i + 4)
    if unsigned or hi < 2147483648 then return false, hi, lo end
    if lo == 0 then return true, 4294967296 - hi, 0 end
    return true, 4294967295 - hi, 4294967296 - lo
  end

  -- (hi * 2^32 + lo) divided by d (d <= 2^20): quotient (exact, < 2^53) and remainder.
  function V.divmod64(hi, lo, d)
    local qh = floor(hi / d)
    local t = (hi - qh * d) * 4294967296 + lo
    local ql = floor(t / d)
    return qh * 4294967296 + ql, t - ql * d
  end

  -- Decimal digits of hi * 2^32 + lo.
  function V.u64str(hi, lo)
    local q, r = V.divmod64(hi, lo, 1000000)
    if q == 0 then return V.istr(r) end
    return V.istr(q) .. V.pad(r, 6)
  end

  ---------------------------------------------------------------------------------------------
  -- Text: UTF-8 with invalid sequences replaced by U+FFFD exactly like the WHATWG decoder
  -- (TextDecoder): one U+FFFD per maximal invalid subpart.
  ---------------------------------------------------------------------------------------------
  local FFFD = "\239\191\189"
  function V.utf8(s)
    if not sfind(s, "[\128-\255]") then return s end
    local out, i, start, len = {}, 1, 1, #s
    while i <= len do
      local c = sbyte(s, i)
      if c < 128 then
        i = i + 1
      else
        local need, lo, hi = 0, 128, 191
        if c >= 194 and c <= 223 then
          need = 1
        elseif c == 224 then
          need, lo = 2, 160
        elseif c == 237 then
          need, hi = 2, 159
        elseif c >= 225 and c <= 239 then
          need = 2
        elseif c == 240 then
          need, lo = 3, 144
        elseif c == 244 then
          need, hi = 3, 143
        elseif c >= 241 and c <= 243 then
          need = 3
        end
        local j, ok = i + 1, need > 0
        local k = 0
        while ok and k < need do
          local d = sbyte(s, j)
          if d == nil or d < lo or d > hi then
            ok = false
          else
            lo, hi = 128, 191
            j, k = j + 1, k + 1
          end
        end
        if ok then
          i = j
        else
          out[#out + 1] = ssub(s, start, i - 1)
          out[#out + 1] = FFFD
          i = (need > 0) and j or (i + 1)
          start = i
        end
      end
    end
    out[#out + 1] = ssub(s, start, len)
    return concat(out)
  end

  ---------------------------------------------------------------------------------------------
  -- Floats (see values.ts): exact decimal expansion of value and interval ends via big integers
  -- (little-endian arrays of base-10^7 limbs), then the shortest strictly-inside decimal.
  ---------------------------------------------------------------------------------------------
  local BASE = 10000000
  function V.bn(n)
    local a = {}
    repeat
      local q = floor(n / BASE)
      a[#a + 1] = n - q * BASE
      n = q
    until n == 0
    return a
  end
  function V.bn_mul(a, k) -- k < 2^30
    local carry = 0
    for i = 1, #a do
      local t = a[i] * k + carry
      carry = floor(t / BASE)
      a[i] = t - carry * BASE
    end
    while carry > 0 do
      local q = floor(carry / BASE)
      a[#a + 1] = carry - q * BASE
      carry = q
    end
  end
  -- a * b for a short b (a few limbs).
  function V.bn_mulbn(a, b)
    local r = {}
    for i = 1, #a + #b do r[i] = 0 end
    for j = 1, #b do
      local bj, carry = b[j], 0
      for i = 1, #a do
        local t = r[i + j - 1] + a[i] * bj + carry
        carry = floor(t / BASE)
        r[i + j - 1] = t - carry * BASE
      end
      local k = #a + j
      while carry > 0 do
        local t = r[k] + carry
        carry = floor(t / BASE)
        r[k] = t - carry * BASE
        k = k + 1
      end
    end
    while #r > 1 and r[#r] == 0 do r[#r] = nil end
    return r
  end
  -- a + k * b (k = 1, 2, -1 or -2; the result is not negative) as a new number.
  function V.bn_addmul(a, b, k)
    local r, carry = {}, 0
    local n = (#a > #b) and #a or #b
    for i = 1, n do
      local t = (a[i] or 0) + k * (b[i] or 0) + carry
      carry = floor(t / BASE)
      r[i] = t - carry * BASE
    end
    if carry > 0 then r[n + 1] = carry end
    while #r > 1 and r[#r] == 0 do r[#r] = nil end
    return r
  end
  function V.bn_scale(a, f) -- times 2^f (f >= 0) or 5^-f (f < 0)
    if f >= 0 then
      while f >= 29 do
        V.bn_mul(a, 536870912)
        f = f - 29
      end
      if f > 0 then V.bn_mul(a, 2 ^ f) end
    else
      f = -f
      while f >= 12 do
        V.bn_mul(a, 244140625)
        f = f - 12
      end
      if f > 0 then V.bn_mul(a, 5 ^ f) end
    end
  end
  function V.bn_str(a)
    local t = { V.istr(a[#a]) }
    for i = #a - 1, 1, -1 do t[#t + 1] = V.pad(a[i], 7) end
    return concat(t)
  end
  -- Compare two decimal digit strings without leading zeros.
  function V.dcmp(a, b)
    if #a ~= #b then return (#a < #b) and -1 or 1 end
    for i = 1, #a do
      local x, y = sbyte(a, i), sbyte(b, i)
      if x ~= y then return (x < y) and -1 or 1 end
    end
    return 0
  end
  -- d + 1 for a digit string d.
  function V.dinc(d)
    local i = #d
    while i >= 1 and sbyte(d, i) == 57 do i = i - 1 end
    if i == 0 then return "1" .. srep("0", #d) end
    return ssub(d, 1, i - 1) .. string.char(sbyte(d, i) + 1) .. srep("0", #d - i)
  end

  -- Shortest decimal of m * 2^e strictly inside its rounding interval: digits, exponent of the first.
  function V.shortest(m, e, boundary)
    local f = e - 2 -- everything times 4, so that the interval ends are integers too
    local scale = V.bn(1)
    V.bn_scale(scale, f)
    local m4 = V.bn(m)
    V.bn_mul(m4, 4)
    local v = V.bn_mulbn(scale, m4)
    local lo = V.bn_addmul(v, scale, boundary and -1 or -2)
    local hi = V.bn_addmul(v, scale, 2)
    local f10 = (f < 0) and f or 0
    local dv, dlo, dhi = V.bn_str(v), V.bn_str(lo), V.bn_str(hi)
    local len = #dv
    for p = 1, len - 1 do
      local down = ssub(dv, 1, p)
      local r0 = sbyte(dv, p + 1) - 48
      local beyond = sfind(dv, "[1-9]", p + 2) ~= nil
      local odd = sbyte(dv, p) % 2 == 1
      local up = r0 > 5 or (r0 == 5 and (beyond or odd))
      local zeros = srep("0", len - p)
      local c1, c2 = down, V.dinc(down)
      if up then c1, c2 = c2, c1 end
      for k = 1, 2 do
        local c = (k == 1) and c1 or c2
        local ci = c .. zeros
        if V.dcmp(ci, dlo) > 0 and V.dcmp(ci, dhi) < 0 then
          return (sgsub(c, "0+$", "")), #c + (len - p) - 1 + f10
        end
      end
    end
    return (sgsub(dv, "0+$", "")), len - 1 + f10
  end

  function V.layout(digits, exp, fixed_limit)
    local n = #digits
    if exp < -4 or exp >= fixed_limit then
      local mant = digits
      if n > 1 then mant = ssub(digits, 1, 1) .. "." .. ssub(digits, 2) end
      local ae = (exp < 0) and -exp or exp
      return mant .. "e" .. ((exp < 0) and "-" or "+") .. V.pad(ae, 2)
    end
    if exp < 0 then return "0." .. srep("0", -exp - 1) .. digits end
    if n <= exp + 1 then return digits .. srep("0", exp + 1 - n) end
    return ssub(digits, 1, exp + 1) .. "." .. ssub(digits, exp + 2)
  end

  function V.ieee(neg, exp_field, mant, single)
    local max_exp, mbits, bias = 2047, 52, 1075
    if single then max_exp, mbits, bias = 255, 23, 150 end
    if exp_field == max_exp then
      if mant ~= 0 then return "NaN" end
      return neg and "-Infinity" or "Infinity"
    end
    if exp_field == 0 and mant == 0 then return neg and "-0" or "0" end
    local m, e = mant, 1 - bias
    if exp_field > 0 then m, e = mant + 2 ^ mbits, exp_field - bias end
    local digits, exp
    if e <= 0 and e > -mbits - 1 and m % 2 ^ -e == 0 then
      -- An integer with a gap of at most 1 to its neighbours: its own digits are the shortest.
      local d = V.istr(m / 2 ^ -e)
      digits, exp = sgsub(d, "0+$", ""), #d - 1
    else
      digits, exp = V.shortest(m, e, mant == 0 and exp_field > 1)
    end
    local body = V.layout(digits, exp, single and 6 or 15)
    return neg and ("-" .. body) or body
  end

  function V.f8(s, i)
    local b1, b2, b3, b4, b5, b6, b7, b8 = sbyte(s, i, i + 7)
    local mant = (b2 % 16) * 281474976710656 + b3 * 1099511627776 + b4 * 4294967296
      + ((b5 * 256 + b6) * 256 + b7) * 256 + b8
    return V.ieee(b1 >= 128, (b1 % 128) * 16 + floor(b2 / 16), mant, false)
  end

  function V.f4(s, i)
    local b1, b2, b3, b4 = sbyte(s, i, i + 3)
    return V.ieee(b1 >= 128, (b1 % 128) * 2 + floor(b2 / 128), ((b2 % 128) * 256 + b3) * 256 + b4, true)
  end

  function V.point(s, i)
    return "(" .. V.f8(s, i) .. "," .. V.f8(s, i + 8) .. ")"
  end

  ---------------------------------------------------------------------------------------------
  -- Dates and times
  ---------------------------------------------------------------------------------------------
  local EPOCH_JDATE = 2451545

  function V.j2date(jd)
    local julian = jd + 32044
    local quad = floor(julian / 146097)
    local extra = (julian - quad * 146097) * 4 + 3
    julian = julian + 60 + quad * 3 + floor(extra / 146097)
    quad = floor(julian / 1461)
    julian = julian - quad * 1461
    local y = floor(julian * 4 / 1461)
    if y ~= 0 then
      julian = (julian + 305) % 365 + 123
    else
      julian = (julian + 306) % 366 + 123
    end
    y = y + quad * 4
    local q = floor(julian * 2141 / 65536)
    return y - 4800, (q + 10) % 12 + 1, julian - floor(7834 * q / 256)
  end

  -- "YYYY-MM-DD" and whether it is BC.
  function V.date_parts(jd)
    local y, m, d = V.j2date(jd)
    local bc = y <= 0
    if bc then y = 1 - y end
    return V.pad(y, 4) .. "-" .. V.pad(m, 2) .. "-" .. V.pad(d, 2), bc
  end

  function V.seconds(sec, usec)
    local s = V.pad(sec, 2)
    if usec == 0 then return s end
    return s .. "." .. (sgsub(V.pad(usec, 6), "0+$", ""))
  end

  -- HH:MM:SS[.ffffff] from seconds and microseconds since midnight.
  function V.clock(sec, usec)
    return V.pad(floor(sec / 3600), 2) .. ":" .. V.pad(floor(sec / 60) % 60, 2) .. ":" .. V.seconds(sec % 60, usec)
  end

  -- 0 <= t <= 24:00:00 for time/timetz: seconds and microseconds, or nil.
  function V.time_of_day(s, i)
    local neg, hi, lo = V.mag64(s, i)
    if neg then return nil end
    local sec, usec = V.divmod64(hi, lo, 1000000)
    if sec > 86400 or (sec == 86400 and usec > 0) then return nil end
    return sec, usec
  end

  function V.zone(tz)
    local a = (tz < 0) and -tz or tz
    local h, m, sec = floor(a / 3600), floor(a / 60) % 60, a % 60
    local sign = (tz <= 0) and "+" or "-"
    if sec ~= 0 then return sign .. V.pad(h, 2) .. ":" .. V.pad(m, 2) .. ":" .. V.pad(sec, 2) end
    if m ~= 0 then return sign .. V.pad(h, 2) .. ":" .. V.pad(m, 2) end
    return sign .. V.pad(h, 2)
  end

  function V.timestamp(s, tz)
    local hi, lo = V.u32(s, 1), V.u32(s, 5)
    if hi == 2147483648 and lo == 0 then return "-infinity" end
    if hi == 2147483647 and lo == 4294967295 then return "infinity" end
    local neg, mh, ml = V.mag64(s, 1)
    local sec, usec = V.divmod64(mh, ml, 1000000)
    if neg then
      -- MIN_TIMESTAMP = -211813488000000000 (4714-11-24 00:00:00 BC)
      if sec > 211813488000 or (sec == 211813488000 and usec > 0) then return nil end
      sec, usec = -sec, -usec
      if usec < 0 then sec, usec = sec - 1, usec + 1000000 end
    elseif sec >= 9223371331200 then -- END_TIMESTAMP (294277-01-01)
      return nil
    end
    local days = floor(sec / 86400)
    local date, bc = V.date_parts(days + EPOCH_JDATE)
    local out = date .. " " .. V.clock(sec - days * 86400, usec)
    if tz then out = out .. "+00" end
    if bc then out = out .. " BC" end
    return out
  end

  function V.interval(s)
    local th, tl, day, month = V.u32(s, 1), V.u32(s, 5), V.i32(s, 9), V.i32(s, 13)
    if th == 2147483648 and tl == 0 and day == -2147483648 and month == -2147483648 then return "-infinity" end
    if th == 2147483647 and tl == 4294967295 and day == 2147483647 and month == 2147483647 then return "infinity" end
    local year
    if month >= 0 then year = floor(month / 12) else year = -floor(-month / 12) end
    local mon = month - year * 12
    local neg, mh, ml = V.mag64(s, 1)
    local sec, usec = V.divmod64(mh, ml, 1000000)
    local out, is_zero, is_before = {}, true, false
    local function part(value, unit)
      if value == 0 then return end
      out[#out + 1] = (is_zero and "" or " ") .. ((is_before and value > 0) and "+" or "")
        .. V.istr(value) .. " " .. unit .. ((value ~= 1) and "s" or "")
      is_before = value < 0
      is_zero = false
    end
    part(year, "year")
    part(mon, "mon")
    part(day, "day")
    if is_zero or sec ~= 0 or usec ~= 0 then
      local sign = neg and "-" or (is_before and "+" or "")
      out[#out + 1] = (is_zero and "" or " ") .. sign .. V.pad(floor(sec / 3600), 2) .. ":"
        .. V.pad(floor(sec / 60) % 60, 2) .. ":" .. V.seconds(sec % 60, usec)
    end
    return concat(out)
  end

  ---------------------------------------------------------------------------------------------
  -- numeric, money
  ---------------------------------------------------------------------------------------------
  function V.numeric(s)
    local n = #s
    if n < 8 then return nil end
    local ndigits, weight, sign, dscale = V.i16(s, 1), V.i16(s, 3), V.u16(s, 5), V.u16(s, 7)
    if ndigits < 0 or ndigits > 3000 or n ~= 8 + 2 * ndigits then return nil end
    if sign ~= 0 and sign ~= 16384 and sign ~= 49152 and sign ~= 53248 and sign ~= 61440 then return nil end
    if dscale > 16383 then return nil end
    local digits = {}
    for i = 1, ndigits do
      local d = V.i16(s, 7 + 2 * i)
      if d < 0 or d > 9999 then return nil end
      digits[i] = d
    end
    if sign == 49152 then return "NaN" end
    if sign == 53248 then return "Infinity" end
    if sign == 61440 then return "-Infinity" end
    local function group(i) -- 0-based group index
      local d = (i >= 0 and i < ndigits) and digits[i + 1] or 0
      return V.pad(d, 4)
    end
    local int = "0"
    if weight >= 0 then
      local parts = {}
      local last = (weight < ndigits - 1) and weight or (ndigits - 1)
      for i = 0, last do parts[#parts + 1] = group(i) end
      parts[#parts + 1] = srep("0000", weight - last)
      int = sgsub(concat(parts), "^0+", "")
      if int == "" then int = "0" end
    end
    local frac = ""
    if dscale > 0 then
      -- groups weight+1 .. weight+ceil(dscale/4): zeros before the first digit group, the digits,
      -- zeros after the last.
      local first, count = weight + 1, floor((dscale + 3) / 4)
      local parts = {}
      if first < 0 then
        local z = (-first < count) and -first or count
        parts[1] = srep("0000", z)
        first, count = first + z, count - z
      end
      local stop = first + count - 1
      if stop > ndigits - 1 then stop = ndigits - 1 end
      for i = first, stop do parts[#parts + 1] = group(i) end
      if stop >= first then count = count - (stop - first + 1) end
      parts[#parts + 1] = srep("0000", count)
      frac = ssub(concat(parts), 1, dscale)
    end
    local zero = int == "0" and not sfind(frac, "[1-9]")
    local out = int
    if dscale > 0 then out = out .. "." .. frac end
    if sign == 16384 and not zero then out = "-" .. out end
    return out
  end

  function V.money(s)
    local neg, hi, lo = V.mag64(s, 1)
    local d = V.u64str(hi, lo)
    if #d < 3 then d = srep("0", 3 - #d) .. d end
    local int, frac = ssub(d, 1, #d - 2), ssub(d, -2)
    local groups = {}
    local first = #int % 3
    if first > 0 then groups[1] = ssub(int, 1, first) end
    for i = first + 1, #int, 3 do groups[#groups + 1] = ssub(int, i, i + 2) end
    return (neg and "-$" or "$") .. concat(groups, ",") .. "." .. frac
  end

  ---------------------------------------------------------------------------------------------
  -- inet / cidr
  ---------------------------------------------------------------------------------------------
  function V.ipv6(s, i)
    local words = {}
    for k = 0, 7 do words[k] = V.u16(s, i + 2 * k) end
    local best_base, best_len, cur_base, cur_len = -1, 0, -1, 0
    for k = 0, 7 do
      if words[k] == 0 then
        if cur_base == -1 then
          cur_base, cur_len = k, 1
        else
          cur_len = cur_len + 1
        end
      elseif cur_base ~= -1 then
        if best_base == -1 or cur_len > best_len then best_base, best_len = cur_base, cur_len end
        cur_base = -1
      end
    end
    if cur_base ~= -1 and (best_base == -1 or cur_len > best_len) then best_base, best_len = cur_base, cur_len end
    if best_base ~= -1 and best_len < 2 then best_base = -1 end
    local t = {}
    for k = 0, 7 do
      if best_base ~= -1 and k >= best_base and k < best_base + best_len then
        if k == best_base then t[#t + 1] = ":" end
      else
        if k ~= 0 then t[#t + 1] = ":" end
        if k == 6 and best_base == 0
          and (best_len == 6 or (best_len == 7 and words[7] ~= 1) or (best_len == 5 and words[5] == 65535)) then
          local a, b, c, d = sbyte(s, i + 12, i + 15)
          t[#t + 1] = V.istr(a) .. "." .. V.istr(b) .. "." .. V.istr(c) .. "." .. V.istr(d)
          return concat(t)
        end
        t[#t + 1] = sfmt("%x", words[k])
      end
    end
    if best_base ~= -1 and best_base + best_len == 8 then t[#t + 1] = ":" end
    return concat(t)
  end

  function V.inet(s, cidr)
    if #s < 4 then return nil end
    local family, bits, _, len = sbyte(s, 1, 4)
    local size = (family == 2) and 4 or ((family == 3) and 16 or 0)
    if size == 0 or bits > size * 8 or len ~= size or #s ~= 4 + size then return nil end
    if cidr then
      for k = 0, size - 1 do
        local mb = bits - 8 * k
        if mb < 0 then mb = 0 elseif mb > 8 then mb = 8 end
        if sbyte(s, 5 + k) % (2 ^ (8 - mb)) ~= 0 then return nil end
      end
    end
    local text
    if size == 4 then
      local a, b, c, d = sbyte(s, 5, 8)
      text = V.istr(a) .. "." .. V.istr(b) .. "." .. V.istr(c) .. "." .. V.istr(d)
    else
      text = V.ipv6(s, 5)
    end
    if bits ~= size * 8 or cidr then text = text .. "/" .. V.istr(bits) end
    return text
  end

  ---------------------------------------------------------------------------------------------
  -- Containers: arrays, int2vector/oidvector, records, ranges, multiranges
  ---------------------------------------------------------------------------------------------
  local SPACE = " \t\n\r\v\f"

  function V.array_elem(s, delim)
    local quote = s == "" or sfind(s, "^[Nn][Uu][Ll][Ll]$") ~= nil
      or sfind(s, "[\"\\{}" .. delim .. SPACE .. "]") ~= nil
    if not quote then return s end
    return "\"" .. sgsub(s, "([\"\\])", "\\%1") .. "\""
  end

  -- record_out / range_out quoting: `set` is a Lua pattern class of the characters forcing quotes.
  function V.quote_field(s, set)
    if s ~= "" and not sfind(s, set) then return s end
    return "\"" .. sgsub(s, "([\"\\])", "%1%1") .. "\""
  end
  local RECORD_SET = "[\"\\%(%)," .. SPACE .. "]"
  local RANGE_SET = "[\"\\%(%)%[%]," .. SPACE .. "]"

  -- array_recv; elem nil accepts any element type (anyarray). NULL items are false.
  function V.read_array(s, elem, depth)
    local n = #s
    if n < 12 then return nil end
    local ndim, flags, et = V.i32(s, 1), V.i32(s, 5), V.u32(s, 9)
    if ndim < 0 or ndim > 6 or (flags ~= 0 and flags ~= 1) or (elem ~= nil and et ~= elem) then return nil end
    local off = 13
    if n < 12 + 8 * ndim then return nil end
    local dims, lbs, nitems = {}, {}, (ndim > 0) and 1 or 0
    for k = 1, ndim do
      local d, lb = V.i32(s, off), V.i32(s, off + 4)
      off = off + 8
      if d < 0 or lb + d > 2147483647 then return nil end
      dims[k], lbs[k] = d, lb
      nitems = nitems * d
    end
    if nitems > (n - off + 1) / 4 then return nil end
    if nitems == 0 then
      if off ~= n + 1 then return nil end
      return { dims = {}, lbs = {}, items = {}, count = 0, et = et }
    end
    local items = {}
    for k = 1, nitems do
      if off + 3 > n then return nil end
      local len = V.i32(s, off)
      off = off + 4
      if len == -1 then
        items[k] = false
      else
        if len < -1 or len > n - off + 1 then return nil end
        local t = V.binary(et, ssub(s, off, off + len - 1), depth + 1)
        if t == nil then return nil end
        items[k] = t
        off = off + len
      end
    end
    if off ~= n + 1 then return nil end
    return { dims = dims, lbs = lbs, items = items, count = nitems, et = et }
  end

  function V.array(s, elem, depth)
    local a = V.read_array(s, elem, depth)
    if a == nil then return nil end
    if a.count == 0 then return "{}" end
    local delim = (a.et == 603) and ";" or ","
    local k = 0
    local function level(dim)
      local parts = {}
      for _ = 1, a.dims[dim] do
        if dim == #a.dims then
          k = k + 1
          local item = a.items[k]
          parts[#parts + 1] = (item == false) and "NULL" or V.array_elem(item, delim)
        else
          parts[#parts + 1] = level(dim + 1)
        end
      end
      return "{" .. concat(parts, delim) .. "}"
    end
    local prefix = ""
    for d = 1, #a.dims do
      if a.lbs[d] ~= 1 then
        local t = {}
        for e = 1, #a.dims do
          t[e] = "[" .. V.istr(a.lbs[e]) .. ":" .. V.istr(a.lbs[e] + a.dims[e] - 1) .. "]"
        end
        prefix = concat(t) .. "="
        break
      end
    end
    return prefix .. level(1)
  end

  function V.vector(s, elem, depth)
    local a = V.read_array(s, elem, depth)
    if a == nil or #a.dims > 1 then return nil end
    for k = 1, a.count do
      if a.items[k] == false then return nil end
    end
    return concat(a.items, " ")
  end

  function V.record(s, depth)
    local n = #s
    if n < 4 then return nil end
    local ncols = V.i32(s, 1)
    if ncols < 0 or ncols > (n - 4) / 8 then return nil end
    local off, fields = 5, {}
    for k = 1, ncols do
      if off + 7 > n then return nil end
      local oid, len = V.u32(s, off), V.i32(s, off + 4)
      off = off + 8
      if len == -1 then
        fields[k] = ""
      else
        if len < -1 or len > n - off + 1 then return nil end
        local t = V.binary(oid, ssub(s, off, off + len - 1), depth + 1)
        if t == nil then return nil end
        fields[k] = V.quote_field(t, RECORD_SET)
        off = off + len
      end
    end
    if off ~= n + 1 then return nil end
    return "(" .. concat(fields, ",") .. ")"
  end

  -- Bit k (0 = lowest) of a byte value.
  function V.bit(b, k)
    return floor(b / 2 ^ k) % 2 == 1
  end

  function V.range(s, sub, depth)
    local n = #s
    if n < 1 then return nil end
    local flags = sbyte(s, 1)
    local empty, lb_inf, ub_inf = V.bit(flags, 0), V.bit(flags, 3), V.bit(flags, 4)
    local off = 2
    local function bound()
      if off + 3 > n then return nil end
      local len = V.i32(s, off)
      off = off + 4
      if len < 0 or len > n - off + 1 then return nil end
      local t = V.binary(sub, ssub(s, off, off + len - 1), depth + 1)
      off = off + len
      if t == nil then return nil end
      return V.quote_field(t, RANGE_SET)
    end
    local lower, upper = "", ""
    if not empty and not lb_inf then
      lower = bound()
      if lower == nil then return nil end
    end
    if not empty and not ub_inf then
      upper = bound()
      if upper == nil then return nil end
    end
    if off ~= n + 1 then return nil end
    if empty then return "empty" end
    local lb_inc = V.bit(flags, 1) and not lb_inf
    local ub_inc = V.bit(flags, 2) and not ub_inf
    return (lb_inc and "[" or "(") .. lower .. "," .. upper .. (ub_inc and "]" or ")")
  end

  function V.multirange(s, range, depth)
    local n = #s
    if n < 4 then return nil end
    local count = V.i32(s, 1)
    if count < 0 or count > (n - 4) / 5 then return nil end
    local off, parts = 5, {}
    for k = 1, count do
      if off + 3 > n then return nil end
      local len = V.i32(s, off)
      off = off + 4
      if len < 0 or len > n - off + 1 then return nil end
      local t = V.binary(range, ssub(s, off, off + len - 1), depth + 1)
      if t == nil then return nil end
      parts[k] = t
      off = off + len
    end
    if off ~= n + 1 then return nil end
    return "{" .. concat(parts, ",") .. "}"
  end

  ---------------------------------------------------------------------------------------------
  -- Others: bit strings, snapshots, tsvector
  ---------------------------------------------------------------------------------------------
  function V.bits(s)
    local n = #s
    if n < 4 then return nil end
    local nbits = V.i32(s, 1)
    if nbits < 0 or n ~= 4 + floor((nbits + 7) / 8) then return nil end
    local t = {}
    for k = 0, nbits - 1 do
      local b = sbyte(s, 5 + floor(k / 8))
      t[k + 1] = V.bit(b, 7 - k % 8) and "1" or "0"
    end
    return concat(t)
  end

  -- Compare the unsigned 64-bit big-endian values at positions i and j of s.
  function V.cmp64(s, i, j)
    for k = 0, 7 do
      local a, b = sbyte(s, i + k), sbyte(s, j + k)
      if a ~= b then return (a < b) and -1 or 1 end
    end
    return 0
  end

  function V.snapshot(s)
    local n = #s
    if n < 20 then return nil end
    local nxip = V.i32(s, 1)
    if nxip < 0 or n ~= 20 + 8 * nxip then return nil end
    -- xmin (at 5) and xmax (at 13) must be valid (low 32 bits not 0) and xmin <= xmax.
    if V.u32(s, 9) == 0 or V.u32(s, 17) == 0 or V.cmp64(s, 13, 5) < 0 then return nil end
    local xips, last = {}, 5
    for k = 0, nxip - 1 do
      local at = 21 + 8 * k
      if V.cmp64(s, at, last) < 0 or V.cmp64(s, at, 5) < 0 or V.cmp64(s, at, 13) >= 0 then return nil end
      if not (k > 0 and V.cmp64(s, at, last) == 0) then
        xips[#xips + 1] = V.u64str(V.u32(s, at), V.u32(s, at + 4))
        last = at
      end
    end
    return V.u64str(V.u32(s, 5), V.u32(s, 9)) .. ":" .. V.u64str(V.u32(s, 13), V.u32(s, 17)) .. ":"
      .. concat(xips, ",")
  end

  -- Byte-wise comparison of two strings (memcmp, shorter first on a tie), independent of the locale.
  function V.bcmp(a, b)
    local n = (#a < #b) and #a or #b
    for k = 1, n do
      local x, y = sbyte(a, k), sbyte(b, k)
      if x ~= y then return (x < y) and -1 or 1 end
    end
    if #a == #b then return 0 end
    return (#a < #b) and -1 or 1
  end

  local WEIGHTS = { [0] = "", [1] = "C", [2] = "B", [3] = "A" }
  function V.tsvector(s)
    local n = #s
    if n < 4 then return nil end
    local count = V.i32(s, 1)
    if count < 0 then return nil end
    local off, prev, out = 5, nil, {}
    for k = 1, count do
      local z = sfind(s, "\0", off, true)
      if z == nil then return nil end
      local lex = ssub(s, off, z - 1)
      if #lex > 2047 then return nil end
      if prev ~= nil and V.bcmp(prev, lex) >= 0 then return nil end
      prev = lex
      off = z + 1
      if off + 1 > n then return nil end
      local npos = V.u16(s, off)
      off = off + 2
      if npos > 256 or off + 2 * npos - 1 > n then return nil end
      local t = { "'" .. sgsub(V.utf8(lex), "(['\\])", "%1%1") .. "'" }
      local last_pos = -1
      for j = 0, npos - 1 do
        local wep = V.u16(s, off + 2 * j)
        local pos = wep % 16384
        if pos <= last_pos then return nil end
        last_pos = pos
        t[#t + 1] = ((j == 0) and ":" or ",") .. V.istr(pos) .. WEIGHTS[floor(wep / 16384)]
      end
      off = off + 2 * npos
      out[k] = concat(t)
    end
    if off ~= n + 1 then return nil end
    return concat(out, " ")
  end

  ---------------------------------------------------------------------------------------------
  -- Dispatch by kind: K[kind](s, type, depth) returns the text or nil (not a valid value).
  ---------------------------------------------------------------------------------------------
  local K = {}
  K.bool = function(s)
    if #s ~= 1 then return nil end
    return (sbyte(s, 1) ~= 0) and "t" or "f"
  end
  K.char = function(s)
    if #s ~= 1 then return nil end
    local c = sbyte(s, 1)
    if c >= 128 then return "\\" .. V.istr(floor(c / 64)) .. V.istr(floor(c / 8) % 8) .. V.istr(c % 8) end
    if c == 0 then return "" end
    return s
  end
  K.text = function(s)
    return V.utf8(s)
  end
  K.name = K.text
  K.bytea = function(s)
    return V.hex(s)
  end
  K.int2 = function(s)
    if #s ~= 2 then return nil end
    return V.istr(V.i16(s, 1))
  end
  K.int4 = function(s)
    if #s ~= 4 then return nil end
    return V.istr(V.i32(s, 1))
  end
  K.oid = function(s)
    if #s ~= 4 then return nil end
    return V.istr(V.u32(s, 1))
  end
  K.int8 = function(s)
    if #s ~= 8 then return nil end
    local neg, hi, lo = V.mag64(s, 1)
    return (neg and "-" or "") .. V.u64str(hi, lo)
  end
  K.xid8 = function(s)
    if #s ~= 8 then return nil end
    return V.u64str(V.u32(s, 1), V.u32(s, 5))
  end
  K.float4 = function(s)
    if #s ~= 4 then return nil end
    return V.f4(s, 1)
  end
  K.float8 = function(s)
    if #s ~= 8 then return nil end
    return V.f8(s, 1)
  end
  K.numeric = V.numeric
  K.money = function(s)
    if #s ~= 8 then return nil end
    return V.money(s)
  end
  K.date = function(s)
    if #s ~= 4 then return nil end
    local d = V.i32(s, 1)
    if d == -2147483648 then return "-infinity" end
    if d == 2147483647 then return "infinity" end
    if d < -EPOCH_JDATE or d >= 2147483494 - EPOCH_JDATE then return nil end
    local date, bc = V.date_parts(d + EPOCH_JDATE)
    return bc and (date .. " BC") or date
  end
  K.time = function(s)
    if #s ~= 8 then return nil end
    local sec, usec = V.time_of_day(s, 1)
    if sec == nil then return nil end
    return V.clock(sec, usec)
  end
  K.timetz = function(s)
    if #s ~= 12 then return nil end
    local sec, usec = V.time_of_day(s, 1)
    local zone = V.i32(s, 9)
    if sec == nil or zone <= -57600 or zone >= 57600 then return nil end
    return V.clock(sec, usec) .. V.zone(zone)
  end
  K.timestamp = function(s)
    if #s ~= 8 then return nil end
    return V.timestamp(s, false)
  end
  K.timestamptz = function(s)
    if #s ~= 8 then return nil end
    return V.timestamp(s, true)
  end
  K.interval = function(s)
    if #s ~= 16 then return nil end
    return V.interval(s)
  end
  K.uuid = function(s)
    if #s ~= 16 then return nil end
    local h = ssub(V.hex(s), 3)
    return ssub(h, 1, 8) .. "-" .. ssub(h, 9, 12) .. "-" .. ssub(h, 13, 16) .. "-" .. ssub(h, 17, 20) .. "-" .. ssub(h, 21)
  end
  K.jsonb = function(s)
    if #s < 1 or sbyte(s, 1) ~= 1 then return nil end
    return V.utf8(ssub(s, 2))
  end
  K.jsonpath = K.jsonb
  K.inet = function(s)
    return V.inet(s, false)
  end
  K.cidr = function(s)
    return V.inet(s, true)
  end
  local function mac(s)
    local t = {}
    for k = 1, #s do t[k] = HEX2[sbyte(s, k)] end
    return concat(t, ":")
  end
  K.macaddr = function(s)
    if #s ~= 6 then return nil end
    return mac(s)
  end
  K.macaddr8 = function(s)
    if #s ~= 8 then return nil end
    return mac(s)
  end
  K.tid = function(s)
    if #s ~= 6 then return nil end
    return "(" .. V.istr(V.u32(s, 1)) .. "," .. V.istr(V.u16(s, 5)) .. ")"
  end
  K.point = function(s)
    if #s ~= 16 then return nil end
    return V.point(s, 1)
  end
  K.lseg = function(s)
    if #s ~= 32 then return nil end
    return "[" .. V.point(s, 1) .. "," .. V.point(s, 17) .. "]"
  end
  K.box = function(s)
    if #s ~= 32 then return nil end
    return V.point(s, 1) .. "," .. V.point(s, 17)
  end
  K.line = function(s)
    if #s ~= 24 then return nil end
    return "{" .. V.f8(s, 1) .. "," .. V.f8(s, 9) .. "," .. V.f8(s, 17) .. "}"
  end
  K.circle = function(s)
    if #s ~= 24 then return nil end
    return "<" .. V.point(s, 1) .. "," .. V.f8(s, 17) .. ">"
  end
  K.path = function(s)
    local n = #s
    if n < 5 then return nil end
    local closed, npts = sbyte(s, 1) ~= 0, V.i32(s, 2)
    if npts <= 0 or n ~= 5 + 16 * npts then return nil end
    local pts = {}
    for k = 0, npts - 1 do pts[k + 1] = V.point(s, 6 + 16 * k) end
    if closed then return "(" .. concat(pts, ",") .. ")" end
    return "[" .. concat(pts, ",") .. "]"
  end
  K.polygon = function(s)
    local n = #s
    if n < 4 then return nil end
    local npts = V.i32(s, 1)
    if npts <= 0 or n ~= 4 + 16 * npts then return nil end
    local pts = {}
    for k = 0, npts - 1 do pts[k + 1] = V.point(s, 5 + 16 * k) end
    return "(" .. concat(pts, ",") .. ")"
  end
  local function hexword(s, i)
    local h = HEX2U[sbyte(s, i)] .. HEX2U[sbyte(s, i + 1)] .. HEX2U[sbyte(s, i + 2)] .. HEX2U[sbyte(s, i + 3)]
    h = sgsub(h, "^0+", "")
    if h == "" then h = "0" end
    return h
  end
  K.pg_lsn = function(s)
    if #s ~= 8 then return nil end
    return hexword(s, 1) .. "/" .. hexword(s, 5)
  end
  K.bit = V.bits
  K.int2vector = function(s, _, depth)
    return V.vector(s, 21, depth)
  end
  K.oidvector = function(s, _, depth)
    return V.vector(s, 26, depth)
  end
  K.snapshot = V.snapshot
  K.tsvector = V.tsvector
  K.void = function(s)
    if #s ~= 0 then return nil end
    return ""
  end
  K.record = function(s, _, depth)
    return V.record(s, depth)
  end
  K.array = function(s, t, depth)
    return V.array(s, t.elem, depth)
  end
  K.range = function(s, t, depth)
    if t.elem == nil then return nil end
    return V.range(s, t.elem, depth)
  end
  K.multirange = function(s, t, depth)
    if t.elem == nil then return nil end
    return V.multirange(s, t.elem, depth)
  end

  function V.binary(oid, s, depth)
    local t = PG_TYPES[oid]
    if t == nil or t.kind == nil or depth > MAX_DEPTH then return nil end
    local f = K[t.kind]
    if f == nil then return nil end
    return f(s, t, depth)
  end

  pg_value_text_raw = function(oid, format, s)
    if format == 0 then return V.utf8(s) end
    if format ~= 1 then return V.hex(s) end
    return V.binary(oid, s, 0) or V.hex(s)
  end

  pg_value_text = function(oid, format, s)
    local ok, text = pcall(pg_value_text_raw, oid, format, s)
    if ok and type(text) == "string" then return text end
    return V.hex(s)
  end
end
