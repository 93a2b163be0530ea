-- Texts: UTF-8 cuts, ASCII case whatever the locale, the values of the Info column and of its
-- generated texts (iv, ic). Mirrored by src/runtime/text.ts.

-- Text cut to at most max bytes at a UTF-8 character boundary, the cut marked with "...".
local function cut_utf8(s, max)
  if #s <= max then return s end
  local cut = max
  while cut > 0 do
    local b = sbyte(s, cut + 1)
    if b < 128 or b >= 192 then break end
    cut = cut - 1
  end
  return ssub(s, 1, cut) .. "..."
end

-- ASCII letters to lower or upper case whatever the locale (string.lower and string.upper, like
-- Lua's %a and %s classes, follow the C library's locale, which Wireshark sets from the user's).
local LOWER, UPPER = {}, {}
for b = 65, 90 do
  LOWER[string.char(b)] = string.char(b + 32)
  UPPER[string.char(b + 32)] = string.char(b)
end
local function ascii_lower(s) return (string.gsub(s, "[A-Z]", LOWER)) end
local function ascii_upper(s) return (string.gsub(s, "[a-z]", UPPER)) end

local MAX_VALUE_BYTES = 1024

local function char_of(x)
  if type(x) == "number" and x >= 32 and x < 127 then return string.char(x) end
  return tostring(x)
end

-- Texts that have no control characters, as seen before (looking again costs a pattern match
-- per character; the same names, tags and queries come again and again). Emptied when it grows.
local CLEAN, NCLEAN = {}, 0
local function no_controls(s)
  if CLEAN[s] then return s end
  if sfind(s, "[%z\1-\31\127]") then return (sgsub(s, "[%z\1-\31\127]", " ")) end
  if NCLEAN >= 4096 then CLEAN, NCLEAN = {}, 0 end
  CLEAN[s], NCLEAN = true, NCLEAN + 1
  return s
end

-- Values in the Info column: control characters as spaces, cut at 80 bytes on a UTF-8 boundary.
local function info_text(x)
  if type(x) == "number" then
    if x == floor(x) then return sformat("%d", x) end
    return tostring(x)
  end
  local s = tostring(x)
  if #s > 80 then s = cut_utf8(s, 80) end
  return no_controls(s)
end

-- Integers as shown before (the same counts, rows and pids come again): emptied when it grows.
local NUMS, NNUMS = {}, 0

-- A variable in an Info text (the generated info functions): "" when it is not bound.
local function iv(x)
  if x == nil then return "" end
  local text = info_text(x)
  if type(x) == "number" and x == floor(x) then
    if NNUMS >= 4096 then NUMS, NNUMS = {}, 0 end
    NUMS[x], NNUMS = text, NNUMS + 1
  end
  return text
end
local CHARS = {}
for b = 32, 126 do CHARS[b] = string.char(b) end
local function ic(x)
  if x == nil then return "" end
  return CHARS[x] or char_of(x)
end
