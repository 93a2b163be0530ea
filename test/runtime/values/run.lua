-- Test runner for src/runtime/values.lua (see values.test.ts).
-- Usage: luaX.Y run.lua VALUES_LUA TYPES_LUA < input
--   VALUES_LUA  src/runtime/values.lua
--   TYPES_LUA   a file holding the Lua table constructor of luaTypeTable() (generator/lua.ts)
-- Input: one value per line, "OID FORMAT HEX" (HEX may be empty). Output: one line per input line,
-- "OK " + hex of pg_value_text_raw's result, or "ERR " + the error message if it raised one
-- (hex keeps newlines and odd bytes in the text out of the line protocol).
local values_path, types_path = arg[1], arg[2]

local function slurp(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("*a")
  f:close()
  return s
end

local src = "local PG_TYPES = " .. slurp(types_path) .. "\n" .. slurp(values_path)
  .. "\nreturn pg_value_text, pg_value_text_raw\n"
local chunk = assert((loadstring or load)(src, "=values.lua"))
local _, pg_value_text_raw = chunk()

local function unhex(h)
  return (h:gsub("%x%x", function(x) return string.char(tonumber(x, 16)) end))
end

local HEX = {}
for b = 0, 255 do HEX[string.char(b)] = string.format("%02x", b) end
local function hex(s)
  return (s:gsub(".", HEX))
end

local out = {}
for line in io.lines() do
  local oid, format, h = line:match("^(%d+) (%-?%d+) ?(%x*)$")
  if oid == nil then
    out[#out + 1] = "ERR bad input line"
  else
    local ok, text = pcall(pg_value_text_raw, tonumber(oid), tonumber(format), unhex(h))
    if ok and type(text) == "string" then
      out[#out + 1] = "OK " .. hex(text)
    else
      out[#out + 1] = "ERR " .. tostring(text):gsub("\n", " ")
    end
  end
  if #out >= 1000 then
    io.write(table.concat(out, "\n"), "\n")
    out = {}
  end
end
if #out > 0 then io.write(table.concat(out, "\n"), "\n") end
