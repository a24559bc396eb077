-- wrk script of the benchmark: POSTs one body again and again, each time with its own push id.
--
--   BODY=small.xml wrk -t2 -c32 -d10s --latency -s load.lua http://127.0.0.1:8081/pushCandidate
--
-- Environment:
--   BODY      the request body (made by bodies.py): PUSH_ID_SLOT and APP_ID_SLOT once each
--   ID_MODE   unique (default): every request a new push id and a new applicationId, so every
--             `true` is a new candidate; repeat: the ids cycle over REPEAT_N values shared by
--             all threads, each id always with the same applicationId (the duplicate path)
--   REPEAT_N  the number of ids of repeat mode (default 100)
--   RUN_TAG   a number that makes this run's ids differ from any other run's (default: the time)
-- At the end it prints one line, read by bench/run.sh and bench/profile.sh:
--   RESULT sent=N true=N false=N non200=N completed=N rps=R p50_us=N p90_us=N p99_us=N
--          max_us=N err_connect=N err_read=N err_write=N err_timeout=N
-- `sent` counts the requests made; those still in flight when wrk stops are not answered, and
-- the server may still commit them.

local body_file = os.getenv("BODY") or error("load.lua: BODY must name the request body")
local id_mode = os.getenv("ID_MODE") or "unique"
local repeat_n = tonumber(os.getenv("REPEAT_N") or "100")
local run_tag = tonumber(os.getenv("RUN_TAG") or "") or os.time()

local fh = assert(io.open(body_file, "rb"))
local text = fh:read("*a")
fh:close()

-- the body in three pieces around the two slots
local function cut(s, slot)
  local a, b = s:find(slot, 1, true)
  assert(a and not s:find(slot, b + 1, true), "load.lua: " .. slot .. " must occur once in " .. body_file)
  return s:sub(1, a - 1), s:sub(b + 1)
end
local head, rest = cut(text, "PUSH_ID_SLOT")
local middle, tail = cut(rest, "APP_ID_SLOT")

-- applicationIds stay under 2^53, so that every client and server reads them exactly
local app_base = (run_tag % 90000) * 1e10
local headers = { ["Content-Type"] = "text/xml; charset=utf-8", ["SOAPAction"] = '"pushCandidate"' }

local all_threads = {}
function setup(thread)
  all_threads[#all_threads + 1] = thread
  thread:set("thread_no", #all_threads)
end

-- per thread, read back in done()
sent, answered_true, answered_false, not_ok = 0, 0, 0, 0

function request()
  sent = sent + 1
  local push_id, app_id
  if id_mode == "repeat" then
    local k = sent % repeat_n
    push_id = "rep-" .. run_tag .. "-" .. k
    app_id = app_base + 5e9 + k
  else
    push_id = "uni-" .. run_tag .. "-" .. thread_no .. "-" .. sent
    app_id = app_base + thread_no * 1e8 + sent
  end
  return wrk.format("POST", nil, headers, head .. push_id .. middle .. string.format("%.0f", app_id) .. tail)
end

function response(status, _, answer)
  if status ~= 200 then
    not_ok = not_ok + 1
  elseif answer:find("return>true<", 1, true) then
    answered_true = answered_true + 1
  else
    answered_false = answered_false + 1
  end
end

function done(summary, latency, _)
  local n_sent, n_true, n_false, n_bad = 0, 0, 0, 0
  for _, t in ipairs(all_threads) do
    n_sent = n_sent + t:get("sent")
    n_true = n_true + t:get("answered_true")
    n_false = n_false + t:get("answered_false")
    n_bad = n_bad + t:get("not_ok")
  end
  local seconds = summary.duration / 1e6
  local e = summary.errors
  print(string.format("RESULT sent=%d true=%d false=%d non200=%d completed=%d rps=%.1f " ..
    "p50_us=%d p90_us=%d p99_us=%d max_us=%d err_connect=%d err_read=%d err_write=%d err_timeout=%d",
    n_sent, n_true, n_false, n_bad, summary.requests, summary.requests / seconds,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    e.connect, e.read, e.write, e.timeout))
end
