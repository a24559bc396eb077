#!/usr/bin/python3
"""Sends exactly N pushCandidate requests and waits for every answer, so that a database can be
counted against them exactly (wrk stops with requests in flight; this client does not).

  exact.py URL BODY N [CONNS=32] [MODE=unique|repeat] [REPEAT_N=100] [TAG=time]

BODY is a body of bodies.py (PUSH_ID_SLOT and APP_ID_SLOT once each). CONNS keep-alive
connections, one thread each, share the N requests. unique: push id exact-TAG-i and a new
applicationId per request (N new candidates); repeat: push id exact-TAG-(i mod REPEAT_N), each
with its own applicationId (REPEAT_N candidates at most). Prints one line:
  EXACT sent=N true=N false=N non200=N errors=N seconds=S rps=R
and exits 0 (1 on bad arguments).
"""
import http.client
import sys
import threading
import time
import urllib.parse


def main():
    args = sys.argv[1:]
    if len(args) < 3:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        sys.exit(1)
    url = urllib.parse.urlsplit(args[0])
    with open(args[1], encoding="utf-8") as f:
        text = f.read()
    total = int(args[2])
    conns = int(args[3]) if len(args) > 3 else 32
    mode = args[4] if len(args) > 4 else "unique"
    repeat_n = int(args[5]) if len(args) > 5 else 100
    tag = int(args[6]) if len(args) > 6 else int(time.time())
    if text.count("PUSH_ID_SLOT") != 1 or text.count("APP_ID_SLOT") != 1:
        sys.exit("exact.py: the body must hold PUSH_ID_SLOT and APP_ID_SLOT once each")
    app_base = (tag % 90000) * 10**10 + 7 * 10**9

    lock = threading.Lock()
    state = {"next": 0, "true": 0, "false": 0, "non200": 0, "errors": 0}

    def take():
        with lock:
            i = state["next"]
            if i >= total:
                return None
            state["next"] = i + 1
            return i

    def count(key):
        with lock:
            state[key] += 1

    def worker():
        conn = None
        while (i := take()) is not None:
            k = i % repeat_n if mode == "repeat" else i
            payload = (text.replace("PUSH_ID_SLOT", f"exact-{tag}-{k}")
                       .replace("APP_ID_SLOT", str(app_base + k)).encode("utf-8"))
            try:
                if conn is None:
                    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=60)
                conn.request("POST", url.path or "/", payload,
                             {"Content-Type": "text/xml; charset=utf-8",
                              "SOAPAction": '"pushCandidate"'})
                resp = conn.getresponse()
                answer = resp.read()
            except (OSError, http.client.HTTPException):
                count("errors")
                if conn is not None:
                    conn.close()
                conn = None
                continue
            if resp.status != 200:
                count("non200")
            elif b"return>true<" in answer:
                count("true")
            else:
                count("false")
        if conn is not None:
            conn.close()

    start = time.monotonic()
    threads = [threading.Thread(target=worker) for _ in range(max(1, min(conns, total)))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.monotonic() - start
    print(f"EXACT sent={total} true={state['true']} false={state['false']} "
          f"non200={state['non200']} errors={state['errors']} mode={mode} "
          f"seconds={seconds:.2f} rps={total / seconds if seconds else 0:.1f}")


if __name__ == "__main__":
    main()
